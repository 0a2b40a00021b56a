// RUN: bathy-opt %s -split-input-file -bathy-fusion-form-groups | FileCheck %s

// GEMM epilogue: bias, activation and residual add join the matmul; weights
// and small constants stay outside the group.
// CHECK-LABEL: func.func @gemm_epilogue
// CHECK: %[[W:.+]] = bathy.constant dense_resource<w>
// CHECK: %[[G:.+]] = bathy.fusion_group "gemm" -> tensor<?x4xf32> {
// CHECK-NEXT: %[[MM:.+]] = bathy.matmul %{{.+}}, %[[W]]
// CHECK-NEXT: %[[B:.+]] = bathy.add %[[MM]]
// CHECK-NEXT: %[[A:.+]] = bathy.gelu %[[B]]
// CHECK-NEXT: %[[R:.+]] = bathy.add %[[A]], %{{.+}}
// CHECK-NEXT: bathy.yield %[[R]] : tensor<?x4xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[G]]
func.func @gemm_epilogue(%x: tensor<?x4xf32>, %res: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %w = bathy.constant dense_resource<w> : tensor<4x4xf32>
  %b = bathy.constant dense<0.5> : tensor<4xf32>
  %0 = bathy.matmul %x, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  %1 = bathy.add %0, %b : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %2 = bathy.gelu %1 : (tensor<?x4xf32>) -> tensor<?x4xf32>
  %3 = bathy.add %2, %res : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %3 : tensor<?x4xf32>
}

// -----

// Conv epilogue (relu) and an elementwise chain through a transpose.
// CHECK-LABEL: func.func @conv_and_chain
// CHECK: bathy.fusion_group "conv"
// CHECK-NEXT: bathy.conv
// CHECK-NEXT: bathy.clip
// CHECK-NEXT: bathy.yield
// CHECK: bathy.fusion_group "elementwise"
// CHECK-NEXT: bathy.exp
// CHECK-NEXT: bathy.transpose
// CHECK-NEXT: bathy.neg
// CHECK-NEXT: bathy.yield
func.func @conv_and_chain(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %y: tensor<2x3xf32>) -> (tensor<1x4x6x6xf32>, tensor<3x2xf32>) {
  %0 = bathy.conv %x, %w : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  %1 = bathy.clip %0 {min = 0.0 : f64, max = 6.0 : f64} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %2 = bathy.exp %y : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %3 = bathy.transpose %2 {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %4 = bathy.neg %3 : (tensor<3x2xf32>) -> tensor<3x2xf32>
  return %1, %4 : tensor<1x4x6x6xf32>, tensor<3x2xf32>
}

// -----

// Softmax takes its elementwise prologue (scale and mask) and epilogue.
// CHECK-LABEL: func.func @softmax_prologue
// CHECK: bathy.fusion_group "reduction"
// CHECK-NEXT: bathy.mul
// CHECK-NEXT: bathy.add
// CHECK-NEXT: bathy.softmax
// CHECK-NEXT: bathy.mul
// CHECK-NEXT: bathy.yield
// CHECK-NOT: bathy.fusion_group
func.func @softmax_prologue(%s: tensor<2x4x8x8xf32>, %mask: tensor<2x1x1x8xf32>) -> tensor<2x4x8x8xf32> {
  %c = bathy.constant dense<0.125> : tensor<f32>
  %0 = bathy.mul %s, %c : (tensor<2x4x8x8xf32>, tensor<f32>) -> tensor<2x4x8x8xf32>
  %1 = bathy.add %0, %mask : (tensor<2x4x8x8xf32>, tensor<2x1x1x8xf32>) -> tensor<2x4x8x8xf32>
  %2 = bathy.softmax %1 {axis = 3 : i64} : (tensor<2x4x8x8xf32>) -> tensor<2x4x8x8xf32>
  %3 = bathy.mul %2, %c : (tensor<2x4x8x8xf32>, tensor<f32>) -> tensor<2x4x8x8xf32>
  return %3 : tensor<2x4x8x8xf32>
}

// -----

// Negative cases: a value with two users is not fused into either, a
// broadcast that grows the shape is not fused, computed GEMM operands and
// data-movement producers are not fused. Each refusal is recorded.
// CHECK-LABEL: func.func @refusals
// CHECK: %[[E:.+]] = bathy.fusion_group "elementwise" -> tensor<4xf32> {
// CHECK-NEXT: bathy.exp
// CHECK: bathy.fusion_group "elementwise" attributes {rejected = ["e (exp): its result has other users (it is materialized anyway)"]}
// CHECK-NEXT: bathy.neg
// CHECK: bathy.fusion_group "elementwise" attributes {rejected = ["e (exp): its kernel already feeds another kernel"]}
// CHECK-NEXT: bathy.sqrt
// CHECK: bathy.fusion_group "elementwise" attributes {rejected = ["small (relu): the consumer broadcasts it to a larger shape"]}
// CHECK-NEXT: bathy.add
// CHECK: bathy.fusion_group "gemm" attributes {rejected = ["t (exp): a GEMM fuses only re-indexing (transpose/reshape) producers of its operands"]}
// CHECK: bathy.fusion_group "concat"
// CHECK: bathy.fusion_group "elementwise" attributes {rejected = ["cat (concat): a concat takes no fused consumers"]}
func.func @refusals(%x: tensor<4xf32>, %s: tensor<1xf32>, %m: tensor<4x4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4x4xf32>, tensor<8xf32>) {
  %e = bathy.exp %x : (tensor<4xf32>) -> tensor<4xf32> loc(#e)
  %n = bathy.neg %e : (tensor<4xf32>) -> tensor<4xf32>
  %q = bathy.sqrt %e : (tensor<4xf32>) -> tensor<4xf32>
  %r = bathy.relu %s : (tensor<1xf32>) -> tensor<1xf32> loc(#small)
  %a = bathy.add %r, %x : (tensor<1xf32>, tensor<4xf32>) -> tensor<4xf32>
  %t = bathy.exp %m : (tensor<4x4xf32>) -> tensor<4x4xf32> loc(#t)
  %mm = bathy.matmul %t, %m : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %cat = bathy.concat %x, %x {axis = 0 : i64} : (tensor<4xf32>, tensor<4xf32>) -> tensor<8xf32> loc(#cat)
  %z = bathy.abs %cat : (tensor<8xf32>) -> tensor<8xf32>
  return %n, %q, %a, %mm, %z : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4x4xf32>, tensor<8xf32>
}
#e = loc("e"("Exp"))
#small = loc("small"("Relu"))
#t = loc("t"("Exp"))
#cat = loc("cat"("Concat"))

// -----

// A consumer may not join a group when it also reads a value computed after
// that group began (the group would depend on itself); here the add cannot
// join exp's group, so it joins log's.
// CHECK-LABEL: func.func @no_cycles
// CHECK: bathy.fusion_group "elementwise" -> tensor<4xf32> {
// CHECK-NEXT: bathy.exp
// CHECK-NEXT: bathy.yield
// CHECK: bathy.fusion_group "elementwise" attributes {rejected = ["a (exp): the consumer also reads b (log), computed after the group begins"]}
// CHECK-NEXT: bathy.log
// CHECK-NEXT: bathy.add
// CHECK-NEXT: bathy.yield
func.func @no_cycles(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = bathy.exp %x : (tensor<4xf32>) -> tensor<4xf32> loc(#a)
  %b = bathy.log %x : (tensor<4xf32>) -> tensor<4xf32> loc(#b)
  %c = bathy.add %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %c : tensor<4xf32>
}
#a = loc("a"("Exp"))
#b = loc("b"("Log"))

// -----

// Shape arithmetic stays on the host, outside any group.
// CHECK-LABEL: func.func @host_shapes
// CHECK: bathy.shape
// CHECK-NOT: bathy.fusion_group
// CHECK: bathy.fusion_group "elementwise"
// CHECK-NEXT: bathy.dynamic_reshape
func.func @host_shapes(%x: tensor<?x8xf32>) -> tensor<?xf32> {
  %s = bathy.shape %x : (tensor<?x8xf32>) -> tensor<2xi64>
  %c = bathy.constant dense<-1> : tensor<1xi64>
  %r = bathy.dynamic_reshape %x, %c : (tensor<?x8xf32>, tensor<1xi64>) -> tensor<?xf32>
  return %r : tensor<?xf32>
}

// -----

// A host op reading a group's value (the shape of an intermediate) pins the
// group before it, like any other reader outside the group.
// CHECK-LABEL: func.func @host_reader
// CHECK: %[[G:.+]] = bathy.fusion_group "elementwise" -> tensor<?x8xf32> {
// CHECK-NEXT: bathy.exp
// CHECK-NEXT: bathy.yield
// CHECK: bathy.shape %[[G]]
// CHECK: bathy.fusion_group "elementwise" attributes {rejected = ["e (exp): its kernel already feeds another kernel"]}
// CHECK-NEXT: bathy.neg %[[G]]
func.func @host_reader(%x: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<2xi64>) {
  %e = bathy.exp %x : (tensor<?x8xf32>) -> tensor<?x8xf32> loc(#e2)
  %s = bathy.shape %e : (tensor<?x8xf32>) -> tensor<2xi64>
  %n = bathy.neg %e : (tensor<?x8xf32>) -> tensor<?x8xf32>
  return %n, %s : tensor<?x8xf32>, tensor<2xi64>
}
#e2 = loc("e"("Exp"))

// -----

// GEMM operands that are only re-indexed (transposes, reshapes) join the
// GEMM's kernel, both of them: the CPU microkernel reads them through
// strides. A transpose with another user stays its own kernel.
// CHECK-LABEL: func.func @gemm_operand_transposes
// CHECK: %[[G:.+]] = bathy.fusion_group "gemm" -> tensor<2x8x8xf32> {
// CHECK-NEXT: bathy.reshape
// CHECK-NEXT: bathy.transpose
// CHECK-NEXT: bathy.transpose
// CHECK-NEXT: bathy.matmul
// CHECK-NEXT: bathy.relu
// CHECK: bathy.fusion_group "elementwise" -> tensor<8x8xf32> {
// CHECK-NEXT: bathy.transpose
// CHECK: bathy.fusion_group "gemm" attributes {rejected = ["shared (transpose): its result has other users (it is materialized anyway)"]}
// CHECK-NEXT: bathy.matmul
func.func @gemm_operand_transposes(%x: tensor<2x64xf32>, %k: tensor<2x8x8xf32>, %w: tensor<8x8xf32>) -> (tensor<2x8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>) {
  %r = bathy.reshape %x {shape = array<i64: 2, 8, 8>} : (tensor<2x64xf32>) -> tensor<2x8x8xf32>
  %q = bathy.transpose %r {perm = array<i64: 0, 2, 1>} : (tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %kt = bathy.transpose %k {perm = array<i64: 0, 2, 1>} : (tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %s = bathy.matmul %q, %kt : (tensor<2x8x8xf32>, tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %a = bathy.relu %s : (tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %wt = bathy.transpose %w {perm = array<i64: 1, 0>} : (tensor<8x8xf32>) -> tensor<8x8xf32> loc(#shared)
  %m = bathy.matmul %w, %wt : (tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<8x8xf32>
  return %a, %m, %wt : tensor<2x8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>
}
#shared = loc("shared"("Transpose"))

// -----

// Attention: the head splits of q, k and v (re-indexing only) join its
// kernel, as does the head merge after it (written through strides); the
// mask's producer does not, nor does an elementwise consumer.
// CHECK-LABEL: func.func @attention
// CHECK: bathy.fusion_group "elementwise"
// CHECK-NEXT: bathy.mul
// CHECK: bathy.fusion_group "attention" attributes {rejected = ["mk (mul): an attention fuses only re-indexing producers of q, k and v"]}
// CHECK-COUNT-3: bathy.transpose
// CHECK-NEXT: bathy.attention
// CHECK-NEXT: bathy.transpose
// CHECK-NEXT: bathy.reshape
// CHECK-NEXT: bathy.yield
// CHECK: bathy.fusion_group "elementwise" attributes {rejected = ["merge (reshape): an attention takes only re-indexing consumers (written through strides)"]}
// CHECK-NEXT: bathy.relu
func.func @attention(%x: tensor<2x16x64xf32>, %m: tensor<2x1x1x16xf32>) -> tensor<2x16x64xf32> {
  %c = bathy.constant dense<-1.0e9> : tensor<f32>
  %mask = bathy.mul %m, %c : (tensor<2x1x1x16xf32>, tensor<f32>) -> tensor<2x1x1x16xf32> loc("mk")
  %q4 = bathy.reshape %x : (tensor<2x16x64xf32>) -> tensor<2x16x4x16xf32>
  %q = bathy.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : (tensor<2x16x4x16xf32>) -> tensor<2x4x16x16xf32>
  %k4 = bathy.reshape %x : (tensor<2x16x64xf32>) -> tensor<2x16x4x16xf32>
  %k = bathy.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : (tensor<2x16x4x16xf32>) -> tensor<2x4x16x16xf32>
  %v4 = bathy.reshape %x : (tensor<2x16x64xf32>) -> tensor<2x16x4x16xf32>
  %v = bathy.transpose %v4 {perm = array<i64: 0, 2, 1, 3>} : (tensor<2x16x4x16xf32>) -> tensor<2x4x16x16xf32>
  %o = bathy.attention %q, %k, %v, %mask {scale = 0.25 : f32} : (tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x1x1x16xf32>) -> tensor<2x4x16x16xf32> loc("o")
  %t = bathy.transpose %o {perm = array<i64: 0, 2, 1, 3>} : (tensor<2x4x16x16xf32>) -> tensor<2x16x4x16xf32>
  %r = bathy.reshape %t : (tensor<2x16x4x16xf32>) -> tensor<2x16x64xf32> loc("merge")
  %y = bathy.relu %r : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  return %y : tensor<2x16x64xf32>
}
