// RUN: bathy-opt %s -split-input-file -bathy-graph-infer-shapes | FileCheck %s

// Static shapes flow from the arguments through every op to the signature.
// CHECK-LABEL: func.func @static_mlp
// CHECK-SAME: -> tensor<2x4xf32>
func.func @static_mlp(%x: tensor<2x3xf32>, %w: tensor<3x4xf32>, %b: tensor<4xf32>) -> tensor<*xf32> {
  // CHECK: bathy.matmul {{.*}} -> tensor<2x4xf32>
  %0 = bathy.matmul %x, %w : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<*xf32>
  // CHECK: bathy.add {{.*}} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %1 = bathy.add %0, %b : (tensor<*xf32>, tensor<4xf32>) -> tensor<*xf32>
  // CHECK: bathy.gelu {{.*}} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %2 = bathy.gelu %1 : (tensor<*xf32>) -> tensor<*xf32>
  // CHECK: return {{.*}} : tensor<2x4xf32>
  return %2 : tensor<*xf32>
}

// -----

// A dynamic batch stays dynamic; everything static is recovered around it.
// CHECK-LABEL: func.func @dynamic_batch
// CHECK-SAME: -> tensor<?x12x?x64xf32>
func.func @dynamic_batch(%x: tensor<?x?x768xf32>, %w: tensor<768x768xf32>) -> tensor<?x?x?x?xf32> {
  // CHECK: bathy.matmul {{.*}} -> tensor<?x?x768xf32>
  %0 = bathy.matmul %x, %w : (tensor<?x?x768xf32>, tensor<768x768xf32>) -> tensor<?x?x?xf32>
  %s = bathy.constant dense<[0, 0, 12, 64]> : tensor<4xi64>
  // CHECK: bathy.dynamic_reshape {{.*}} -> tensor<?x?x12x64xf32>
  %1 = bathy.dynamic_reshape %0, %s : (tensor<?x?x?xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  // CHECK: bathy.transpose {{.*}} -> tensor<?x12x?x64xf32>
  %2 = bathy.transpose %1 {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32>
  return %2 : tensor<?x?x?x?xf32>
}

// -----

// Broadcasting a dynamic dim against a static size > 1 gives that size; against 1 it stays dynamic.
// CHECK-LABEL: func.func @broadcast_dynamic
func.func @broadcast_dynamic(%a: tensor<?x?xf32>, %b: tensor<4xf32>, %c: tensor<1x1xf32>) -> (tensor<?x?xf32>, tensor<?x?xf32>) {
  // CHECK: bathy.mul {{.*}} -> tensor<?x4xf32>
  %0 = bathy.mul %a, %b : (tensor<?x?xf32>, tensor<4xf32>) -> tensor<?x?xf32>
  // CHECK: bathy.mul {{.*}} -> tensor<?x?xf32>
  %1 = bathy.mul %a, %c : (tensor<?x?xf32>, tensor<1x1xf32>) -> tensor<?x?xf32>
  return %0, %1 : tensor<?x?xf32>, tensor<?x?xf32>
}

// -----

// Conv, pooling and reductions of a ResNet stem.
// CHECK-LABEL: func.func @resnet_stem
func.func @resnet_stem(%x: tensor<1x3x224x224xf32>, %w: tensor<64x3x7x7xf32>) -> tensor<*xf32> {
  // CHECK: bathy.conv {{.*}} -> tensor<1x64x112x112xf32>
  %0 = bathy.conv %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 3, 3, 3, 3>} : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>) -> tensor<*xf32>
  // CHECK: bathy.max_pool {{.*}} -> tensor<1x64x56x56xf32>
  %1 = bathy.max_pool %0 {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : (tensor<*xf32>) -> tensor<*xf32>
  // CHECK: bathy.global_avg_pool {{.*}} -> tensor<1x64x1x1xf32>
  %2 = bathy.global_avg_pool %1 : (tensor<*xf32>) -> tensor<*xf32>
  // CHECK: bathy.reshape {{.*}} -> tensor<1x64xf32>
  %3 = bathy.reshape %2 : (tensor<*xf32>) -> tensor<?x64xf32>
  // CHECK: bathy.reduce_mean {{.*}} -> tensor<1xf32>
  %4 = bathy.reduce_mean %3 {axes = array<i64: 1>, keepdims = false} : (tensor<?x64xf32>) -> tensor<*xf32>
  return %4 : tensor<*xf32>
}

// -----

// Shape-preserving ops without InferTypeOpInterface (cast) take their
// operand's shape; data movement ops infer theirs.
// CHECK-LABEL: func.func @data_movement
func.func @data_movement(%x: tensor<2x3xi64>, %y: tensor<4x3xf32>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  // CHECK: bathy.cast {{.*}} -> tensor<2x3xf32>
  %0 = bathy.cast %x : (tensor<2x3xi64>) -> tensor<*xf32>
  // CHECK: bathy.concat {{.*}} -> tensor<6x3xf32>
  %1 = bathy.concat %0, %y {axis = 0 : i64} : (tensor<*xf32>, tensor<4x3xf32>) -> tensor<*xf32>
  // CHECK: bathy.slice {{.*}} -> tensor<3x1xf32>
  %2 = bathy.slice %1 {axes = array<i64: 0, 1>, starts = array<i64: -1, 0>, ends = array<i64: -9223372036854775807, 1>, steps = array<i64: -2, 1>} : (tensor<*xf32>) -> tensor<*xf32>
  // CHECK: bathy.unsqueeze {{.*}} -> tensor<1x3x1x1xf32>
  %3 = bathy.unsqueeze %2 {axes = array<i64: 0, 3>} : (tensor<*xf32>) -> tensor<*xf32>
  // CHECK: %{{.*}}:2 = bathy.split {{.*}} -> (tensor<2x3xf32>, tensor<4x3xf32>)
  %4:2 = bathy.split %1 {axis = 0 : i64, sizes = array<i64: 2, 4>} : (tensor<*xf32>) -> (tensor<*xf32>, tensor<*xf32>)
  return %2, %3, %4#0, %4#1 : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// Values used by ops outside bathy keep their declared type.
// CHECK-LABEL: func.func @foreign_user
func.func @foreign_user(%x: tensor<2xf32>) -> tensor<?xf32> {
  // CHECK: bathy.relu {{.*}} -> tensor<?xf32>
  %0 = bathy.relu %x : (tensor<2xf32>) -> tensor<?xf32>
  // CHECK: tensor.cast
  %1 = tensor.cast %0 : tensor<?xf32> to tensor<?xf32>
  return %1 : tensor<?xf32>
}

// -----

// Range's count is exact for integers wherever they sit in int64: in double
// arithmetic 2^60 + 10 - 2^60 is 0, and the result was an empty tensor
// while the run would have made ten elements.
// CHECK-LABEL: func.func @range_of_large_integers
// CHECK: bathy.range {{.*}} -> tensor<10xi64>
// CHECK: bathy.range {{.*}} -> tensor<10xi64>
// CHECK: bathy.range {{.*}} -> tensor<0xi64>
func.func @range_of_large_integers() -> (tensor<?xi64>, tensor<?xi64>, tensor<?xi64>) {
  %s = bathy.constant dense<1152921504606846976> : tensor<i64>
  %l = bathy.constant dense<1152921504606846986> : tensor<i64>
  %one = bathy.constant dense<1> : tensor<i64>
  %a = bathy.range %s, %l, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %max = bathy.constant dense<9223372036854775807> : tensor<i64>
  %min = bathy.constant dense<-9223372036854775808> : tensor<i64>
  %huge = bathy.constant dense<2000000000000000000> : tensor<i64>
  %b = bathy.range %min, %max, %huge : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %c = bathy.range %max, %min, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %a, %b, %c : tensor<?xi64>, tensor<?xi64>, tensor<?xi64>
}

// -----

// A float range counts in its element type, as the run does (and as ONNX's
// reference does): (0.3f - 0f) / 0.1f is 3 in f32, 3.0000000894 in f64.
// CHECK-LABEL: func.func @range_counts_in_the_element_type
// CHECK: bathy.range {{.*}} -> tensor<3xf32>
func.func @range_counts_in_the_element_type() -> tensor<?xf32> {
  %s = bathy.constant dense<0.0> : tensor<f32>
  %l = bathy.constant dense<0.3> : tensor<f32>
  %d = bathy.constant dense<0.1> : tensor<f32>
  %r = bathy.range %s, %l, %d : (tensor<f32>, tensor<f32>, tensor<f32>) -> tensor<?xf32>
  return %r : tensor<?xf32>
}
