// RUN: bathy-opt %s -split-input-file -bathy-kernel-outline | FileCheck %s

// Each compute op becomes a kernel; weights are arguments, small constants
// are copied in; kernels keep the op's location and list its ONNX node.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.+]]: tensor<?x4xf32>)
// CHECK: %[[W:.+]] = bathy.constant dense_resource<w> : tensor<4x4xf32>
// CHECK: %[[MM:.+]] = bathy.launch @matmul_0(%[[X]], %[[W]]) : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
// CHECK: %[[ADD:.+]] = bathy.launch @add_1(%[[MM]]) : (tensor<?x4xf32>) -> tensor<?x4xf32>
// CHECK: %[[R:.+]] = bathy.launch @relu_2(%[[ADD]])
// CHECK: return %[[R]]
// CHECK: func.func private @matmul_0(%[[A:.+]]: tensor<?x4xf32>, %[[B:.+]]: tensor<4x4xf32>) -> tensor<?x4xf32> attributes {bathy.kernel, bathy.nodes = ["fc"]}
// CHECK-NEXT: %[[Y:.+]] = bathy.matmul %[[A]], %[[B]]
// CHECK-NEXT: return %[[Y]]
// CHECK: func.func private @add_1(%[[C:.+]]: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {bathy.kernel, bathy.nodes = ["fc"]}
// CHECK-NEXT: %[[BIAS:.+]] = bathy.constant dense<5.000000e-01> : tensor<4xf32>
// CHECK-NEXT: bathy.add %[[C]], %[[BIAS]]
// CHECK: func.func private @relu_2({{.*}}) -> tensor<?x4xf32> attributes {bathy.kernel, bathy.nodes = ["act"]}
func.func @main(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %w = bathy.constant dense_resource<w> : tensor<4x4xf32>
  %b = bathy.constant dense<0.5> : tensor<4xf32>
  %0 = bathy.matmul %x, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32> loc(#fc)
  %1 = bathy.add %0, %b : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32> loc(#fc)
  %2 = bathy.relu %1 : (tensor<?x4xf32>) -> tensor<?x4xf32> loc(#act)
  return %2 : tensor<?x4xf32>
}
#fc = loc("fc"("Gemm"))
#act = loc("act"("Relu"))

// -----

// Shape arithmetic stays on the host; only the reshape is a kernel.
// CHECK-LABEL: func.func @shapes
// CHECK: bathy.shape
// CHECK: bathy.gather
// CHECK: bathy.concat
// CHECK: bathy.launch @dynamic_reshape_{{[0-9]+}}
// CHECK-NOT: bathy.launch
// CHECK: return
func.func @shapes(%x: tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32> {
  %s = bathy.shape %x : (tensor<?x?x64xf32>) -> tensor<3xi64>
  %i = bathy.constant dense<[0, 1]> : tensor<2xi64>
  %bs = bathy.gather %s, %i {axis = 0 : i64} : (tensor<3xi64>, tensor<2xi64>) -> tensor<2xi64>
  %h = bathy.constant dense<[4, 16]> : tensor<2xi64>
  %t = bathy.concat %bs, %h {axis = 0 : i64} : (tensor<2xi64>, tensor<2xi64>) -> tensor<4xi64>
  %r = bathy.dynamic_reshape %x, %t : (tensor<?x?x64xf32>, tensor<4xi64>) -> tensor<?x?x4x16xf32>
  return %r : tensor<?x?x4x16xf32>
}

// -----

// A fusion group becomes one kernel: values from above are arguments (small
// constants copied in), the yield is its return, and the kernel lists every
// node it covers in order, its kind and the group's refusals.
// CHECK-LABEL: func.func @grouped
// CHECK-SAME: (%[[X:.+]]: tensor<?x4xf32>)
// CHECK: %[[W:.+]] = bathy.constant dense_resource<w>
// CHECK: %[[R:.+]] = bathy.launch @matmul_add_relu_{{[0-9]+}}(%[[X]], %[[W]]) : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
// CHECK-NOT: bathy.fusion_group
// CHECK: return %[[R]]
// CHECK: func.func private @matmul_add_relu_{{[0-9]+}}(%[[A:.+]]: tensor<?x4xf32>, %[[B:.+]]: tensor<4x4xf32>) -> tensor<?x4xf32>
// CHECK-SAME: attributes {bathy.fusion_kind = "gemm", bathy.fusion_rejected = ["in (exp): why not"], bathy.kernel, bathy.nodes = ["fc", "act"]}
// CHECK-NEXT: %[[C:.+]] = bathy.constant dense<5.000000e-01>
// CHECK-NEXT: %[[M:.+]] = bathy.matmul %[[A]], %[[B]]
// CHECK-NEXT: %[[S:.+]] = bathy.add %[[M]], %[[C]]
// CHECK-NEXT: %[[Y:.+]] = bathy.relu %[[S]]
// CHECK-NEXT: return %[[Y]]
func.func @grouped(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %w = bathy.constant dense_resource<w> : tensor<4x4xf32>
  %b = bathy.constant dense<0.5> : tensor<4xf32>
  %g = bathy.fusion_group "gemm" attributes {rejected = ["in (exp): why not"]} -> tensor<?x4xf32> {
    %0 = bathy.matmul %x, %w : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32> loc(#fc2)
    %1 = bathy.add %0, %b : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32> loc(#fc2)
    %2 = bathy.relu %1 : (tensor<?x4xf32>) -> tensor<?x4xf32> loc(#act2)
    bathy.yield %2 : tensor<?x4xf32>
  }
  return %g : tensor<?x4xf32>
}
#fc2 = loc("fc"("Gemm"))
#act2 = loc("act"("Relu"))
