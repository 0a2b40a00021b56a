// RUN: bathy-opt %s -split-input-file -canonicalize | FileCheck %s

// CHECK-LABEL: func.func @identities
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
func.func @identities(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %zero = bathy.constant dense<0.0> : tensor<f32>
  %one = bathy.constant dense<1.0> : tensor<3xf32>
  %0 = bathy.add %x, %zero : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  %1 = bathy.mul %one, %0 : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = bathy.sub %1, %zero : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  %3 = bathy.div %2, %one : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %4 = bathy.transpose %3 {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %5 = bathy.reshape %4 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %6 = bathy.neg %5 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %7 = bathy.neg %6 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %8 = bathy.cast %7 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK-NEXT: return %[[X]]
  return %8 : tensor<2x3xf32>
}

// -----

// x * 1 is not folded when broadcasting changes the shape.
// CHECK-LABEL: func.func @broadcasting_identity_kept
func.func @broadcasting_identity_kept(%x: tensor<3xf32>) -> tensor<2x3xf32> {
  %one = bathy.constant dense<1.0> : tensor<2x3xf32>
  // CHECK: bathy.mul
  %0 = bathy.mul %x, %one : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func.func @transpose_of_transpose
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
func.func @transpose_of_transpose(%x: tensor<2x3x4xf32>) -> (tensor<4x2x3xf32>, tensor<2x3x4xf32>) {
  // CHECK: %[[T:.+]] = bathy.transpose %[[X]] {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %0 = bathy.transpose %x {perm = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %1 = bathy.transpose %0 {perm = array<i64: 2, 1, 0>} : (tensor<3x2x4xf32>) -> tensor<4x2x3xf32>
  // Inverse permutations cancel.
  %2 = bathy.transpose %0 {perm = array<i64: 1, 0, 2>} : (tensor<3x2x4xf32>) -> tensor<2x3x4xf32>
  // CHECK: return %[[T]], %[[X]]
  return %1, %2 : tensor<4x2x3xf32>, tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_of_reshape
// CHECK-SAME: (%[[X:.+]]: tensor<2x6xf32>)
func.func @reshape_of_reshape(%x: tensor<2x6xf32>) -> tensor<3x4xf32> {
  // CHECK: %[[R:.+]] = bathy.reshape %[[X]] : (tensor<2x6xf32>) -> tensor<3x4xf32>
  %0 = bathy.reshape %x : (tensor<2x6xf32>) -> tensor<12xf32>
  %1 = bathy.reshape %0 : (tensor<12xf32>) -> tensor<3x4xf32>
  // CHECK: return %[[R]]
  return %1 : tensor<3x4xf32>
}

// -----

// Exported shape arithmetic folds to a constant when the dims are static:
// Shape -> Gather -> Unsqueeze -> Concat -> Reshape becomes one reshape.
// CHECK-LABEL: func.func @shape_arithmetic
// CHECK-SAME: (%[[X:.+]]: tensor<2x8x768xf32>)
func.func @shape_arithmetic(%x: tensor<2x8x768xf32>) -> tensor<2x8x12x64xf32> {
  %s = bathy.shape %x : (tensor<2x8x768xf32>) -> tensor<3xi64>
  %i0 = bathy.constant dense<0> : tensor<i64>
  %i1 = bathy.constant dense<1> : tensor<i64>
  %b = bathy.gather %s, %i0 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %t = bathy.gather %s, %i1 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = bathy.unsqueeze %b {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %t1 = bathy.unsqueeze %t {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %h = bathy.constant dense<[12, 64]> : tensor<2xi64>
  %shape = bathy.concat %b1, %t1, %h {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<4xi64>
  // CHECK-NOT: bathy.shape
  // CHECK-NOT: bathy.concat
  // CHECK: %[[R:.+]] = bathy.reshape %[[X]] : (tensor<2x8x768xf32>) -> tensor<2x8x12x64xf32>
  %r = bathy.dynamic_reshape %x, %shape : (tensor<2x8x768xf32>, tensor<4xi64>) -> tensor<2x8x12x64xf32>
  // CHECK: return %[[R]]
  return %r : tensor<2x8x12x64xf32>
}

// -----

// A dynamic slice with constant bounds becomes a static slice.
// CHECK-LABEL: func.func @dynamic_slice_to_static
func.func @dynamic_slice_to_static(%x: tensor<8x4xf32>) -> tensor<?x4xf32> {
  %s = bathy.constant dense<[2]> : tensor<1xi64>
  %e = bathy.constant dense<[-1]> : tensor<1xi64>
  // CHECK: bathy.slice %{{.+}} {axes = array<i64: 0>, ends = array<i64: -1>, starts = array<i64: 2>, steps = array<i64: 1>} : (tensor<8x4xf32>) -> tensor<?x4xf32>
  %0 = bathy.dynamic_slice %x, %s, %e {axes = array<i64: 0>, steps = array<i64: 1>} : (tensor<8x4xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// A dynamic reshape whose target has two unknown dims stays dynamic.
// CHECK-LABEL: func.func @dynamic_reshape_kept
func.func @dynamic_reshape_kept(%x: tensor<?x?x768xf32>, %s: tensor<4xi64>) -> tensor<?x?x12x64xf32> {
  // CHECK: bathy.dynamic_reshape
  %r = bathy.dynamic_reshape %x, %s : (tensor<?x?x768xf32>, tensor<4xi64>) -> tensor<?x?x12x64xf32>
  return %r : tensor<?x?x12x64xf32>
}

// -----

// CHECK-LABEL: func.func @constant_folding
func.func @constant_folding() -> (tensor<2xi64>, tensor<2xf32>, tensor<2xi64>, tensor<i64>, tensor<2xi32>, tensor<2xi64>) {
  %a = bathy.constant dense<[6, -7]> : tensor<2xi64>
  %b = bathy.constant dense<[4, 2]> : tensor<2xi64>
  %f = bathy.constant dense<[1.5, -2.5]> : tensor<2xf32>
  %x = bathy.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  // CHECK-DAG: bathy.constant dense<[10, -5]> : tensor<2xi64>
  %0 = bathy.add %a, %b : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  // CHECK-DAG: bathy.constant dense<[-1.500000e+00, 2.500000e+00]> : tensor<2xf32>
  %1 = bathy.neg %f : (tensor<2xf32>) -> tensor<2xf32>
  // Integer division truncates toward zero.
  // CHECK-DAG: bathy.constant dense<[1, -3]> : tensor<2xi64>
  %2 = bathy.div %a, %b : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  // CHECK-DAG: bathy.constant dense<4> : tensor<i64>
  %3 = bathy.size %x : (tensor<2x2xf32>) -> tensor<i64>
  // Float to integer truncates toward zero.
  // CHECK-DAG: bathy.constant dense<[1, -2]> : tensor<2xi32>
  %4 = bathy.cast %f : (tensor<2xf32>) -> tensor<2xi32>
  // CHECK-DAG: bathy.constant dense<[6, 2]> : tensor<2xi64>
  %5 = bathy.max %a, %b : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %0, %1, %2, %3, %4, %5 : tensor<2xi64>, tensor<2xf32>, tensor<2xi64>, tensor<i64>, tensor<2xi32>, tensor<2xi64>
}

// -----

// Integer division is total, with the run-time semantics: x / 0 = 0,
// INT_MIN / -1 = INT_MIN, x % 0 = x % -1 = 0.
// CHECK-LABEL: func.func @fold_division_by_zero
// CHECK-DAG:     %[[Q:.+]] = bathy.constant dense<[6, 0, -9223372036854775808]> : tensor<3xi64>
// CHECK-DAG:     %[[R:.+]] = bathy.constant dense<0> : tensor<3xi64>
// CHECK:         return %[[Q]], %[[R]]
func.func @fold_division_by_zero() -> (tensor<3xi64>, tensor<3xi64>) {
  %a = bathy.constant dense<[6, 7, -9223372036854775808]> : tensor<3xi64>
  %z = bathy.constant dense<[1, 0, -1]> : tensor<3xi64>
  %0 = bathy.div %a, %z : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  %m = bathy.constant dense<[-1, 0, -1]> : tensor<3xi64>
  %1 = bathy.mod %a, %m : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  return %0, %1 : tensor<3xi64>, tensor<3xi64>
}

// -----

// Weights in resource blobs are never folded.
// CHECK-LABEL: func.func @no_fold_resources
func.func @no_fold_resources() -> tensor<2xf32> {
  %w = bathy.constant dense_resource<weights> : tensor<2xf32>
  // CHECK: bathy.neg
  %0 = bathy.neg %w : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      weights: "0x040000000000803F00000040"
    }
  }
#-}

// -----

// Expand's "-1 keeps the dim" idiom as exporters write it: ConstantOfShape,
// Mul, Equal and Where over a static shape fold to the target itself.
// CHECK-LABEL: func.func @expand_target_folds
// CHECK-NOT: bathy.constant_of_shape
// CHECK-NOT: bathy.equal
// CHECK-NOT: bathy.where
// CHECK: %[[T:.+]] = bathy.constant dense<[2, 1, 32]> : tensor<3xi64>
// CHECK: %[[M:.+]] = bathy.constant dense<[true, false, false]> : tensor<3xi1>
// CHECK: return %[[T]], %[[M]]
func.func @expand_target_folds() -> (tensor<3xi64>, tensor<3xi1>) {
  %len = bathy.constant dense<3> : tensor<1xi64>
  %target = bathy.constant dense<[2, -1, 32]> : tensor<3xi64>
  %minus1 = bathy.constant dense<-1> : tensor<i64>
  %ones = bathy.constant_of_shape %len {value = dense<1> : tensor<1xi64>} : (tensor<1xi64>) -> tensor<3xi64>
  %neg = bathy.mul %ones, %minus1 : (tensor<3xi64>, tensor<i64>) -> tensor<3xi64>
  %keep = bathy.equal %target, %neg : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi1>
  %shape = bathy.where %keep, %ones, %target : (tensor<3xi1>, tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  %two = bathy.constant dense<2> : tensor<i64>
  %first = bathy.equal %target, %two : (tensor<3xi64>, tensor<i64>) -> tensor<3xi1>
  return %shape, %first : tensor<3xi64>, tensor<3xi1>
}

// -----

// Integer Mod of constants folds with ONNX's sign rule (the divisor's sign;
// fmod: the dividend's), as torch's MHA export computes slice bounds with it.
// CHECK-LABEL: func.func @mod_folds
// CHECK-DAG: bathy.constant dense<[2, 1, -1, 0]> : tensor<4xi64>
// CHECK-DAG: bathy.constant dense<[2, -2, 2, 0]> : tensor<4xi64>
// CHECK-NOT: bathy.mod
func.func @mod_folds() -> (tensor<4xi64>, tensor<4xi64>) {
  %a = bathy.constant dense<[2, -5, 5, 6]> : tensor<4xi64>
  %b = bathy.constant dense<[3, 3, -3, 3]> : tensor<4xi64>
  %0 = bathy.mod %a, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %1 = bathy.mod %a, %b {fmod = true} : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  return %0, %1 : tensor<4xi64>, tensor<4xi64>
}
