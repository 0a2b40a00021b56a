// RUN: bathy-opt %s -split-input-file -bathy-graph-simplify | FileCheck %s
// RUN: bathy-opt %s -split-input-file -bathy-graph-simplify=max-rounds=1 | FileCheck %s --check-prefix=ONE

// A range whose length comes from a static input's shape, then a reshape to
// that range's shape: each step needs the previous one folded, which one
// inference + canonicalization round does not reach. The pass iterates until
// every type is static and the shape arithmetic is gone.
// CHECK-LABEL: func.func @chained_shape_arithmetic
// CHECK-SAME: -> tensor<1x32xf32>
// CHECK-NOT: bathy.range
// CHECK-NOT: bathy.shape
// CHECK-NOT: bathy.dynamic_reshape
// CHECK: %[[R:.*]] = bathy.reshape %{{.*}} : (tensor<32xf32>) -> tensor<1x32xf32>
// CHECK: return %[[R]]
// One round leaves the reshape dynamic.
// ONE-LABEL: func.func @chained_shape_arithmetic
// ONE: bathy.dynamic_reshape
func.func @chained_shape_arithmetic(%x: tensor<1x32xf32>, %y: tensor<32xf32>) -> tensor<?x?xf32> {
  %zero = bathy.constant dense<0> : tensor<i64>
  %one = bathy.constant dense<1> : tensor<i64>
  %s = bathy.shape %x : (tensor<1x32xf32>) -> tensor<2xi64>
  %n = bathy.gather %s, %zero {axis = 0 : i64} : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  %r = bathy.range %zero, %n, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %u = bathy.unsqueeze %r {axes = array<i64: 1>} : (tensor<?xi64>) -> tensor<?x1xi64>
  %m = bathy.shape %u : (tensor<?x1xi64>) -> tensor<2xi64>
  %g = bathy.gather %m, %zero {axis = 0 : i64} : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  %g1 = bathy.unsqueeze %g {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %minus = bathy.constant dense<-1> : tensor<1xi64>
  %t = bathy.concat %g1, %minus {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  %out = bathy.dynamic_reshape %y, %t : (tensor<32xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return %out : tensor<?x?xf32>
}

// -----

// A dynamic input stays dynamic: the pass stops once nothing changes, and
// the shape arithmetic that depends on the input is kept.
// CHECK-LABEL: func.func @dynamic_input_kept
// CHECK: bathy.shape
// CHECK: bathy.range {{.*}} -> tensor<?xi64>
func.func @dynamic_input_kept(%x: tensor<?x32xf32>) -> tensor<?xi64> {
  %zero = bathy.constant dense<0> : tensor<i64>
  %one = bathy.constant dense<1> : tensor<i64>
  %s = bathy.shape %x : (tensor<?x32xf32>) -> tensor<2xi64>
  %n = bathy.gather %s, %zero {axis = 0 : i64} : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
  %r = bathy.range %zero, %n, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return %r : tensor<?xi64>
}
