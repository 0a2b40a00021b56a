// RUN: bathy-opt %s -split-input-file -bathy-linalg-from-bathy -verify-diagnostics | FileCheck %s

// Broadcasting elementwise ops become one generic; a size-1 operand dim reads
// index 0, a missing leading dim is dropped from the map.
// CHECK-DAG: #[[$ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func private @add_kernel
// CHECK-SAME: (%[[A:.+]]: tensor<?x4xf32>, %[[B:.+]]: tensor<4xf32>)
// CHECK: %[[DIM:.+]] = tensor.dim %[[A]], %{{.+}} : tensor<?x4xf32>
// CHECK: %[[INIT:.+]] = tensor.empty(%[[DIM]]) : tensor<?x4xf32>
// CHECK: linalg.generic {indexing_maps = [#[[$ID]], #[[$ROW]], #[[$ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[A]], %[[B]] : tensor<?x4xf32>, tensor<4xf32>) outs(%[[INIT]] : tensor<?x4xf32>)
// CHECK: arith.addf
func.func private @add_kernel(%a: tensor<?x4xf32>, %b: tensor<4xf32>) -> tensor<?x4xf32> attributes {bathy.kernel} {
  %0 = bathy.add %a, %b : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// Host functions are left alone unless host=true.
// CHECK-LABEL: func.func @host
// CHECK: bathy.relu
func.func @host(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = bathy.relu %a : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

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

// softmax: max, exp of the shifted input, sum, divide.
// CHECK-LABEL: func.func private @softmax_kernel
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.addf
// CHECK: arith.divf
func.func private @softmax_kernel(%a: tensor<2x8xf32>) -> tensor<2x8xf32> attributes {bathy.kernel} {
  %0 = bathy.softmax %a {axis = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
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

// An op without a lowering for its types is an error naming it.
func.func private @conv3d_kernel(%a: tensor<1x2x?x4x4xf32>, %w: tensor<3x2x2x2x2xf32>) -> tensor<1x3x?x3x3xf32> attributes {bathy.kernel} {
  // expected-error@+1 {{'bathy.conv' has no lowering to linalg for 'tensor<1x2x?x4x4xf32>', 'tensor<3x2x2x2x2xf32>' -> 'tensor<1x3x?x3x3xf32>' yet}}
  %0 = bathy.conv %a, %w : (tensor<1x2x?x4x4xf32>, tensor<3x2x2x2x2xf32>) -> tensor<1x3x?x3x3xf32>
  return %0 : tensor<1x3x?x3x3xf32>
}

// -----

// Unsigned integers: the body casts its arguments to signless and uses
// unsigned operations.
// CHECK-LABEL: func.func private @unsigned_kernel
// CHECK: linalg.generic {{.*}} ins(%{{.+}}, %{{.+}} : tensor<4xui8>, tensor<4xui8>)
// CHECK: ^bb0(%[[A:.+]]: ui8, %[[B:.+]]: ui8, %{{.+}}: ui8):
// CHECK: %[[SA:.+]] = builtin.unrealized_conversion_cast %[[A]] : ui8 to i8
// CHECK: %[[SB:.+]] = builtin.unrealized_conversion_cast %[[B]] : ui8 to i8
// CHECK: %[[Q:.+]] = arith.divui %[[SA]], %[[SB]] : i8
// CHECK: builtin.unrealized_conversion_cast %[[Q]] : i8 to ui8
func.func private @unsigned_kernel(%a: tensor<4xui8>) -> tensor<4xui8> attributes {bathy.kernel} {
  %0 = bathy.div %a, %a : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  return %0 : tensor<4xui8>
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

// GatherElements reads one element per index along the axis; the index is
// wrapped when negative and clamped into [0, size) so that no index, however
// hostile, reads outside the data.
// CHECK-LABEL: func.func private @gather_elements_kernel
// CHECK-SAME: (%[[D:.+]]: tensor<3x4xf32>, %[[I:.+]]: tensor<3x2xi64>)
// CHECK: linalg.generic {{.*}} ins(%[[I]] : tensor<3x2xi64>) outs(%{{.+}} : tensor<3x2xf32>)
// CHECK: ^bb0(%[[RAW:.+]]: i64, %{{.+}}: f32):
// CHECK: %[[ROW:.+]] = linalg.index 0 : index
// CHECK: %[[IX:.+]] = arith.index_cast %[[RAW]] : i64 to index
// CHECK: arith.select
// CHECK: arith.maxsi
// CHECK: %[[COL:.+]] = arith.minsi
// CHECK: tensor.extract %[[D]][%[[ROW]], %[[COL]]] : tensor<3x4xf32>
func.func private @gather_elements_kernel(%d: tensor<3x4xf32>, %i: tensor<3x2xi64>) -> tensor<3x2xf32> attributes {bathy.kernel} {
  %0 = bathy.gather_elements %d, %i {axis = 1 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// Two dynamic sizes meet and nothing proves them equal: either may be 1 at
// run time. Each operand is compared with the broadcast size and, when it
// differs, copied broadcast (scf.if) before the identity-map generic.
// CHECK-LABEL: func.func private @contested_dims
// CHECK-SAME: (%[[A:.+]]: tensor<?x4xf32>, %[[B:.+]]: tensor<?x4xf32>)
// CHECK: %[[SA:.+]] = scf.if %{{.+}} -> (tensor<?x4xf32>) {
// CHECK-NEXT: scf.yield %[[A]]
// CHECK: } else {
// CHECK: linalg.index 0
// CHECK: arith.minui
// CHECK: tensor.extract %[[A]]
// CHECK: %[[SB:.+]] = scf.if
// CHECK: linalg.generic {{.*}} ins(%[[SA]], %[[SB]] : tensor<?x4xf32>, tensor<?x4xf32>)
// CHECK: arith.addf
func.func private @contested_dims(%a: tensor<?x4xf32>, %b: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {bathy.kernel} {
  %0 = bathy.add %a, %b : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// bathy.equal_dims says dim 0 is one size for both operands: no check.
// CHECK-LABEL: func.func private @proven_equal
// CHECK-NOT: scf.if
// CHECK: linalg.generic
func.func private @proven_equal(%a: tensor<?x4xf32>, %b: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {bathy.kernel} {
  %0 = bathy.add %a, %b {bathy.equal_dims = array<i64: 0, 1>} : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// Expand: a dynamic input dim may be 1 and stretch to the target; the result
// size is the target's where the input is 1.
// CHECK-LABEL: func.func private @expand_dynamic
// CHECK: arith.cmpi eq
// CHECK: arith.select
// CHECK: scf.if
// CHECK: linalg.generic
func.func private @expand_dynamic(%a: tensor<?x4xf32>, %s: tensor<2xi64>) -> tensor<?x4xf32> attributes {bathy.kernel} {
  %0 = bathy.expand %a, %s : (tensor<?x4xf32>, tensor<2xi64>) -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
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
