// RUN: bathy-opt %s -split-input-file -bathy-linalg-from-bathy | FileCheck %s

// The data movement family (codegen/ToLinalg/DataMovement.cpp) lowers to
// tensor ops and linalg.transpose where they exist.
// CHECK-LABEL: func.func private @transpose
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK: linalg.transpose ins(%[[X]] : tensor<2x3x4xf32>) outs(%{{.+}} : tensor<4x2x3xf32>) permutation = [2, 0, 1]
func.func private @transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> attributes {bathy.kernel} {
  %0 = bathy.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  return %0 : tensor<4x2x3xf32>
}

// -----

// Concat along a dim: tensor.concat (the other dims are proven equal here).
// CHECK-LABEL: func.func private @concat
// CHECK-SAME: (%[[A:.+]]: tensor<2x3xf32>, %[[B:.+]]: tensor<2x?xf32>)
// CHECK: tensor.concat dim(1) %[[A]], %[[B]] : (tensor<2x3xf32>, tensor<2x?xf32>) -> tensor<2x?xf32>
func.func private @concat(%a: tensor<2x3xf32>, %b: tensor<2x?xf32>) -> tensor<2x?xf32> attributes {bathy.kernel} {
  %0 = bathy.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x?xf32>) -> tensor<2x?xf32>
  return %0 : tensor<2x?xf32>
}

// -----

// A static slice with a positive step is one strided extract_slice.
// CHECK-LABEL: func.func private @slice
// CHECK: tensor.extract_slice %{{.+}}[0, 1] [4, 4] [1, 2] : tensor<4x10xf32> to tensor<4x4xf32>
func.func private @slice(%x: tensor<4x10xf32>) -> tensor<4x4xf32> attributes {bathy.kernel} {
  %0 = bathy.slice %x {axes = array<i64: 1>, starts = array<i64: 1>, ends = array<i64: 9>, steps = array<i64: 2>} : (tensor<4x10xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

// Gather: one pass finds the smallest and largest index and checks both
// against [-100, 100) (bathy.check names them); reads wrap negatives and
// are clamped, so no read leaves the table.
// CHECK-LABEL: func.func private @gather
// CHECK-DAG: %[[C99:.+]] = arith.constant 99 : index
// CHECK: %{{.+}}:2 = linalg.generic {{.*}} iterator_types = ["reduction"]
// CHECK: arith.minsi
// CHECK: arith.maxsi
// CHECK: bathy.check %{{.+}}, "{{.*}}index {0} is out of range for axis 0 of size {1}"
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: arith.minsi %{{.+}}, %[[C99]] : index
// CHECK: tensor.extract
func.func private @gather(%t: tensor<100x8xf32>, %i: tensor<3xi64>) -> tensor<3x8xf32> attributes {bathy.kernel} {
  %0 = bathy.gather %t, %i {axis = 0 : i64} : (tensor<100x8xf32>, tensor<3xi64>) -> tensor<3x8xf32>
  return %0 : tensor<3x8xf32>
}

// -----

// Constant padding: tensor.pad yielding the value.
// CHECK-LABEL: func.func private @pad
// CHECK: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: tensor.pad %{{.+}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: tensor.yield %[[ZERO]] : f32
func.func private @pad(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x6x6xf32> attributes {bathy.kernel} {
  %0 = bathy.pad %x {pads = array<i64: 0, 0, 1, 1, 0, 0, 1, 1>} : (tensor<1x2x4x4xf32>) -> tensor<1x2x6x6xf32>
  return %0 : tensor<1x2x6x6xf32>
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
