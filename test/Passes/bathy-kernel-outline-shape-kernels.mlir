// RUN: bathy-opt %s -bathy-kernel-outline="shape-ops-in-host=false" | FileCheck %s

// For an execution plan the host keeps only constants and launches: each
// shape op becomes a kernel of kind "shape" (small constants copied in).
// CHECK-LABEL: func.func @shapes
// CHECK-NEXT: %[[S:.*]] = bathy.launch @shape_[[N:[0-9]+]](%arg0)
// CHECK-NEXT: %[[B:.*]] = bathy.launch @gather_{{[0-9]+}}(%[[S]])
// CHECK-NEXT: %[[T:.*]] = bathy.launch @concat_{{[0-9]+}}(%[[B]])
// CHECK-NEXT: %[[R:.*]] = bathy.launch @dynamic_reshape_{{[0-9]+}}(%arg0, %[[T]])
// CHECK-NEXT: return %[[R]]
// CHECK: func.func private @shape_[[N]](%arg0: tensor<?x?x64xf32>) -> tensor<3xi64>
// CHECK-SAME: bathy.fusion_kind = "shape"
// CHECK: func.func private @concat_
// CHECK-NEXT: bathy.constant dense<[4, 16]>
// CHECK-NEXT: bathy.concat
func.func @shapes(%x: tensor<?x?x64xf32>) -> tensor<?x?x4x16xf32> {
  %s = bathy.shape %x : (tensor<?x?x64xf32>) -> tensor<3xi64>
  %i = bathy.constant dense<[0, 1]> : tensor<2xi64>
  %bs = bathy.gather %s, %i {axis = 0 : i64} : (tensor<3xi64>, tensor<2xi64>) -> tensor<2xi64>
  %h = bathy.constant dense<[4, 16]> : tensor<2xi64>
  %t = bathy.concat %bs, %h {axis = 0 : i64} : (tensor<2xi64>, tensor<2xi64>) -> tensor<4xi64>
  %r = bathy.dynamic_reshape %x, %t : (tensor<?x?x64xf32>, tensor<4xi64>) -> tensor<?x?x4x16xf32>
  return %r : tensor<?x?x4x16xf32>
}
