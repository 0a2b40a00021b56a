// RUN: bathy-opt %s -split-input-file -bathy-kernel-outline="shape-ops-in-host=false" | FileCheck %s

// For an execution plan the host keeps only constants and launches: shape
// arithmetic becomes kernels of kind "shape", one per run of shape ops that
// nothing outside the run reads before its end (small constants copied in).
// CHECK-LABEL: func.func @shapes
// CHECK-NEXT: %[[T:.*]] = bathy.launch @shape_gather_concat_[[N:[0-9]+]](%arg0)
// CHECK-NEXT: %[[R:.*]] = bathy.launch @dynamic_reshape_{{[0-9]+}}(%arg0, %[[T]])
// CHECK-NEXT: return %[[R]]
// CHECK: func.func private @shape_gather_concat_[[N]](%arg0: tensor<?x?x64xf32>) -> tensor<4xi64>
// CHECK-SAME: bathy.fusion_kind = "shape"
// CHECK-NEXT: bathy.constant dense<[0, 1]>
// CHECK-NEXT: bathy.constant dense<[4, 16]>
// CHECK-NEXT: bathy.shape
// CHECK-NEXT: bathy.gather
// CHECK-NEXT: bathy.concat
// CHECK-NEXT: return
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

// A run spans compute ops that do not read it (the shape of a compute
// result joins it), and ends where an op outside reads one of its values:
// the reshape reads %t, so %s2 starts a second run. Values read only inside
// a run stay inside its kernel; each run yields what others read.
// CHECK-LABEL: func.func @runs
// CHECK-NEXT: %[[Y:.*]] = bathy.launch @relu_{{[0-9]+}}(%arg0)
// CHECK-NEXT: %[[T:.*]]:2 = bathy.launch @shape_shape_concat_{{[0-9]+}}(%arg0, %[[Y]])
// CHECK-NEXT: %[[R:.*]] = bathy.launch @dynamic_reshape_{{[0-9]+}}(%[[Y]], %[[T]]#1)
// CHECK-NEXT: %[[S2:.*]] = bathy.launch @shape_{{[0-9]+}}(%[[R]])
// CHECK-NEXT: return %[[R]], %[[T]]#0, %[[S2]]
func.func @runs(%x: tensor<?x8xf32>) -> (tensor<?x2x4xf32>, tensor<2xi64>, tensor<3xi64>) {
  %s = bathy.shape %x : (tensor<?x8xf32>) -> tensor<2xi64>
  %y = bathy.relu %x : (tensor<?x8xf32>) -> tensor<?x8xf32>
  %sy = bathy.shape %y {start = 0 : i64, end = 1 : i64} : (tensor<?x8xf32>) -> tensor<1xi64>
  %h = bathy.constant dense<[2, 4]> : tensor<2xi64>
  %t = bathy.concat %sy, %h {axis = 0 : i64} : (tensor<1xi64>, tensor<2xi64>) -> tensor<3xi64>
  %r = bathy.dynamic_reshape %y, %t : (tensor<?x8xf32>, tensor<3xi64>) -> tensor<?x2x4xf32>
  %s2 = bathy.shape %r : (tensor<?x2x4xf32>) -> tensor<3xi64>
  return %r, %s, %s2 : tensor<?x2x4xf32>, tensor<2xi64>, tensor<3xi64>
}
