// RUN: bathy-opt %s -split-input-file -bathy-linalg-from-bathy | FileCheck %s

// The pooling family (codegen/ToLinalg/Pooling.cpp): 2-D pooling as linalg's
// named pooling ops. Ceil mode pads the overhang with the identity (-inf
// for max), so the last window reads only real input and padding.
// CHECK-LABEL: func.func private @max_pool_ceil
// CHECK: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: %[[P:.+]] = tensor.pad %{{.+}} low[0, 0, 0, 0] high[0, 0, 1, 1]
// CHECK: tensor.yield %[[NEGINF]] : f32
// CHECK: %[[INIT:.+]] = linalg.fill ins(%[[NEGINF]] : f32)
// CHECK: linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%[[P]], %{{.+}} : tensor<1x2x6x6xf32>, tensor<2x2xf32>) outs(%[[INIT]] : tensor<1x2x3x3xf32>)
func.func private @max_pool_ceil(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32> attributes {bathy.kernel} {
  %0 = bathy.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, ceil_mode = true} : (tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32>
  return %0 : tensor<1x2x3x3xf32>
}

// -----

// Average pooling without count_include_pad divides each window's sum by
// the number of real elements in it: the same pooling over a padded tensor
// of ones, broadcast over batch and channels.
// CHECK-DAG: #[[$COUNT:.+]] = affine_map<(d0, d1, d2, d3) -> (0, 0, d2, d3)>
// CHECK-LABEL: func.func private @avg_pool_pads
// CHECK: %[[SUM:.+]] = linalg.pooling_nchw_sum {{.*}} outs(%{{.+}} : tensor<1x2x4x4xf32>)
// CHECK: %[[ONES:.+]] = linalg.fill ins(%{{.+}} : f32) outs(%{{.+}} : tensor<1x1x4x4xf32>)
// CHECK: tensor.pad %[[ONES]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: %[[COUNTS:.+]] = linalg.pooling_nchw_sum {{.*}} outs(%{{.+}} : tensor<1x1x4x4xf32>)
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[$COUNT]], #{{.+}}]{{.*}} ins(%[[SUM]], %[[COUNTS]] :
// CHECK: arith.divf
func.func private @avg_pool_pads(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> attributes {bathy.kernel} {
  %0 = bathy.avg_pool %x {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %0 : tensor<1x2x4x4xf32>
}
