// RUN: bathy-opt %s -bathy-kernel-dedup | FileCheck %s

// Two kernels with the same type and body are one; each launch keeps the
// ONNX nodes of the kernel it launched. A kernel that differs (another
// constant) stays.
// CHECK-LABEL: func.func @main(
// CHECK:         bathy.launch @neg_0(%{{.+}}) {bathy.nodes = ["Neg_0"]}
// CHECK:         bathy.launch @neg_0(%{{.+}}) {bathy.nodes = ["Neg_1"]}
// CHECK:         bathy.launch @mul_2(%{{.+}}) {bathy.nodes = ["Mul_2"]}
// CHECK:       func.func private @neg_0(
// CHECK-NOT:   func.func private @neg_1(
// CHECK:       func.func private @mul_2(
func.func @main(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %0 = bathy.launch @neg_0(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %1 = bathy.launch @neg_1(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %2 = bathy.launch @mul_2(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0, %1, %2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
func.func private @neg_0(%arg0: tensor<4xf32>) -> tensor<4xf32> attributes {bathy.kernel, bathy.nodes = ["Neg_0"]} {
  %0 = bathy.neg %arg0 : (tensor<4xf32>) -> tensor<4xf32> loc("Neg_0")
  return %0 : tensor<4xf32>
}
func.func private @neg_1(%arg0: tensor<4xf32>) -> tensor<4xf32> attributes {bathy.kernel, bathy.nodes = ["Neg_1"]} {
  %0 = bathy.neg %arg0 : (tensor<4xf32>) -> tensor<4xf32> loc("Neg_1")
  return %0 : tensor<4xf32>
}
func.func private @mul_2(%arg0: tensor<4xf32>) -> tensor<4xf32> attributes {bathy.kernel, bathy.nodes = ["Mul_2"]} {
  %c = bathy.constant dense<2.0> : tensor<f32>
  %0 = bathy.mul %arg0, %c : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
