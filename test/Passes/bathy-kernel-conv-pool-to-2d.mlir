// RUN: bathy-opt %s -split-input-file -bathy-kernel-conv-pool-to-2d -bathy-linalg-from-bathy | FileCheck %s

// 1-D pooling is 2-D pooling with a height of 1.
// CHECK-LABEL: func.func private @max_pool_1d
// CHECK: %[[X:.+]] = tensor.reshape {{.*}} -> tensor<?x4x1x10xf32>
// CHECK: %[[P:.+]] = linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<[1, 2]> : tensor<2xi64>} ins(%[[X]], %{{.+}} : tensor<?x4x1x10xf32>, tensor<1x3xf32>)
// CHECK: tensor.reshape %[[P]]({{.*}}) : (tensor<?x4x1x4xf32>, tensor<3xi64>) -> tensor<?x4x4xf32>
func.func private @max_pool_1d(%x: tensor<?x4x10xf32>) -> tensor<?x4x4xf32> attributes {bathy.kernel} {
  %0 = bathy.max_pool %x {kernel_shape = array<i64: 3>, strides = array<i64: 2>} : (tensor<?x4x10xf32>) -> tensor<?x4x4xf32>
  return %0 : tensor<?x4x4xf32>
}

// -----

// 3-D pooling is separable: [N, C*D, H, W] pooled over (H, W), then
// [N, C, D, H'*W'] over (D, 1); each average with its own divisor.
// CHECK-LABEL: func.func private @avg_pool_3d
// CHECK: linalg.pooling_nchw_sum {{.*}} ins(%{{.+}}, %{{.+}} : tensor<2x24x8x8xf32>, tensor<2x2xf32>) outs(%{{.+}} : tensor<2x24x4x4xf32>)
// CHECK: arith.divf
// CHECK: linalg.pooling_nchw_sum {{.*}} strides = dense<[2, 1]> : tensor<2xi64>} ins(%{{.+}}, %{{.+}} : tensor<2x4x6x16xf32>, tensor<2x1xf32>) outs(%{{.+}} : tensor<2x4x3x16xf32>)
// CHECK: arith.divf
// CHECK: tensor.reshape {{.*}} : (tensor<2x4x3x16xf32>, tensor<5xi64>) -> tensor<2x4x3x4x4xf32>
func.func private @avg_pool_3d(%x: tensor<2x4x6x8x8xf32>) -> tensor<2x4x3x4x4xf32> attributes {bathy.kernel} {
  %0 = bathy.avg_pool %x {kernel_shape = array<i64: 2, 2, 2>, strides = array<i64: 2, 2, 2>} : (tensor<2x4x6x8x8xf32>) -> tensor<2x4x3x4x4xf32>
  return %0 : tensor<2x4x3x4x4xf32>
}

// -----

// Integer max pooling runs on f32 (exact for 8-bit values).
// CHECK-LABEL: func.func private @max_pool_u8
// CHECK: arith.uitofp %{{.+}} : i8 to f32
// CHECK: linalg.pooling_nchw_max
// CHECK: arith.fptoui %{{.+}} : f32 to i8
func.func private @max_pool_u8(%x: tensor<1x1x4x4xui8>) -> tensor<1x1x2x2xui8> attributes {bathy.kernel} {
  %0 = bathy.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x1x4x4xui8>) -> tensor<1x1x2x2xui8>
  return %0 : tensor<1x1x2x2xui8>
}

// -----

// 1-D convolution is 2-D convolution with a height of 1 (and takes the
// same microkernel).
// CHECK-LABEL: func.func private @conv_1d
// CHECK-DAG: tensor.reshape {{.*}} -> tensor<?x4x1x10xf32>
// CHECK-DAG: {{.*}} -> tensor<6x4x1x3xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "parallel", "parallel"]
// CHECK: tensor.reshape {{.*}} -> tensor<?x6x8xf32>
func.func private @conv_1d(%x: tensor<?x4x10xf32>, %w: tensor<6x4x3xf32>) -> tensor<?x6x8xf32> attributes {bathy.kernel} {
  %0 = bathy.conv %x, %w : (tensor<?x4x10xf32>, tensor<6x4x3xf32>) -> tensor<?x6x8xf32>
  return %0 : tensor<?x6x8xf32>
}

// -----

// 3-D convolution is a sum of 2-D convolutions over the kernel depth: the
// planes each depth tap reads become a batch of N * OD images (here 2 taps,
// two conv2d microkernel calls, added).
// CHECK-LABEL: func.func private @conv_3d
// CHECK-COUNT-2: iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "parallel", "parallel"]
// CHECK: arith.addf
// CHECK: return %{{.+}} : tensor<1x3x3x3x3xf32>
func.func private @conv_3d(%a: tensor<1x2x4x4x4xf32>, %w: tensor<3x2x2x2x2xf32>) -> tensor<1x3x3x3x3xf32> attributes {bathy.kernel} {
  %0 = bathy.conv %a, %w : (tensor<1x2x4x4x4xf32>, tensor<3x2x2x2x2xf32>) -> tensor<1x3x3x3x3xf32>
  return %0 : tensor<1x3x3x3x3xf32>
}
