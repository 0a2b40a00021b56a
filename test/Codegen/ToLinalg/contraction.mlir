// RUN: bathy-opt %s -split-input-file -bathy-linalg-from-bathy | FileCheck %s

// The contraction family (codegen/ToLinalg/Contraction.cpp): matmul and 2-D
// convolution as multiply-accumulate generics, unmarked (a target
// recognises their form).
// matmul is a contraction with a reduction dim; batch dims broadcast. Loops
// run [batch, M, K, N] so the innermost loop is contiguous in rhs and result.
// f32 matrix products are marked for the runtime GEMM (bathy-cpu-microkernels).
// CHECK-DAG: #[[$LHS:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[$RHS:.+]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[$OUT:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// No target marks: a target recognises the contraction by its form.
// CHECK-LABEL: func.func private @matmul_kernel
// CHECK-NOT: bathy.ukernel
// CHECK: linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[$LHS]], #[[$RHS]], #[[$OUT]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK: arith.mulf
// CHECK: arith.addf
func.func private @matmul_kernel(%a: tensor<?x8x16xf32>, %b: tensor<16x32xf32>) -> tensor<?x8x32xf32> attributes {bathy.kernel} {
  %0 = bathy.matmul %a, %b : (tensor<?x8x16xf32>, tensor<16x32xf32>) -> tensor<?x8x32xf32>
  return %0 : tensor<?x8x32xf32>
}

// -----

// 2-D convolution: padding, the bias broadcast as the accumulator's start,
// then a generic with the output row innermost ([n, f, c, kh, kw, oh, ow]).
// CHECK-DAG: #[[$CIN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d2, d5 * 2 + d3, d6 * 2 + d4)>
// CHECK-DAG: #[[$CW:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d2, d3, d4)>
// CHECK-DAG: #[[$COUT:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d5, d6)>
// CHECK-DAG: #[[$CB:.+]] = affine_map<(d0, d1, d2, d3) -> (d1)>
// CHECK-LABEL: func.func private @conv_kernel
// CHECK: %[[X:.+]] = tensor.pad %{{.+}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: %[[INIT:.+]] = linalg.generic {indexing_maps = [#[[$CB]], #{{.+}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%{{.+}} : tensor<4xf32>)
// CHECK: %[[C:.+]] = linalg.generic {indexing_maps = [#[[$CIN]], #[[$CW]], #[[$COUT]]], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %{{.+}} : tensor<1x3x10x10xf32>, tensor<4x3x3x3xf32>) outs(%[[INIT]] : tensor<1x4x4x4xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: return %[[C]]
func.func private @conv_kernel(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x4x4xf32> attributes {bathy.kernel} {
  %0 = bathy.conv %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// -----

// Depthwise convolution (one filter per channel) is one generic with loops
// [n, c, kh, kw, oh, ow], marked for the runtime's depthwise kernel.
// CHECK-DAG: #[[$DIN:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 + d4, d3 + d5)>
// CHECK-DAG: #[[$DW:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, 0, d2, d3)>
// CHECK-DAG: #[[$DOUT:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4, d5)>
// CHECK-LABEL: func.func private @depthwise_kernel
// CHECK: linalg.generic {indexing_maps = [#[[$DIN]], #[[$DW]], #[[$DOUT]]], iterator_types = ["parallel", "parallel", "reduction", "reduction", "parallel", "parallel"]}
func.func private @depthwise_kernel(%x: tensor<1x8x6x6xf32>, %w: tensor<8x1x3x3xf32>) -> tensor<1x8x6x6xf32> attributes {bathy.kernel} {
  %0 = bathy.conv %x, %w {group = 8 : i64, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x8x6x6xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

// MatMul batch dims broadcast the same way.
// CHECK-LABEL: func.func private @matmul_batch
// CHECK: scf.if
// CHECK: scf.if
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction", "parallel"]
func.func private @matmul_batch(%a: tensor<?x2x3xf32>, %b: tensor<?x3x5xf32>) -> tensor<?x2x5xf32> attributes {bathy.kernel} {
  %0 = bathy.matmul %a, %b : (tensor<?x2x3xf32>, tensor<?x3x5xf32>) -> tensor<?x2x5xf32>
  return %0 : tensor<?x2x5xf32>
}
