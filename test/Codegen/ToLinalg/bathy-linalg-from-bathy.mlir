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
