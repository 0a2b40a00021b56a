// RUN: bathy-opt %s -split-input-file -bathy-graph-symbolic-dims | FileCheck %s

// Heads split with a target read off the input's shape and a -1: the head
// count is 384 / 64 whatever batch and seq are, so it becomes static; the
// residual add of two values that both carry [batch, seq] is proven equal
// along every dim.
// CHECK-LABEL: func.func @heads
// CHECK: bathy.dynamic_reshape {{.*}} -> tensor<?x?x6x64xf32>
// CHECK: bathy.add {{.*}} {bathy.equal_dims = array<i64: 0, 1, 2, 3>}
// CHECK-SAME: -> tensor<?x?x6x64xf32>
func.func @heads(%x: tensor<?x?x384xf32> {bathy.dim_params = ["batch", "seq", ""]}) -> tensor<?x?x?x?xf32> {
  %i0 = bathy.constant dense<0> : tensor<i64>
  %i1 = bathy.constant dense<1> : tensor<i64>
  %tail = bathy.constant dense<[-1, 64]> : tensor<2xi64>
  %s = bathy.shape %x : (tensor<?x?x384xf32>) -> tensor<3xi64>
  %b = bathy.gather %s, %i0 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %q = bathy.gather %s, %i1 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = bathy.unsqueeze %b {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %q1 = bathy.unsqueeze %q {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %t = bathy.concat %b1, %q1, %tail {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<2xi64>) -> tensor<4xi64>
  %r = bathy.dynamic_reshape %x, %t : (tensor<?x?x384xf32>, tensor<4xi64>) -> tensor<?x?x?x?xf32>
  %sum = bathy.add %r, %r : (tensor<?x?x?x?xf32>, tensor<?x?x?x?xf32>) -> tensor<?x?x?x?xf32>
  return %sum : tensor<?x?x?x?xf32>
}

// -----

// Inputs sharing a dim_param share the size; different names prove nothing,
// and neither does an unnamed dim.
// CHECK-LABEL: func.func @named_dims
// CHECK: bathy.add {{.*}} {bathy.equal_dims = array<i64: 0, 1>}
// CHECK: bathy.add {{.*}} {bathy.equal_dims = array<i64: 1>}
// CHECK: bathy.add {{.*}} {bathy.equal_dims = array<i64: 1>}
func.func @named_dims(%a: tensor<?x8xf32> {bathy.dim_params = ["n", ""]},
                      %b: tensor<?x8xf32> {bathy.dim_params = ["n", ""]},
                      %c: tensor<?x8xf32> {bathy.dim_params = ["m", ""]},
                      %d: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>) {
  %0 = bathy.add %a, %b : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  %1 = bathy.add %a, %c : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  %2 = bathy.add %a, %d : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  return %0, %1, %2 : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?x8xf32>
}

// -----

// Sizes flow through matmul (M from lhs, N from rhs), transpose and a
// keepdims reduction; the batch dims of a matmul are annotated too.
// CHECK-LABEL: func.func @flow
// CHECK: bathy.matmul {{.*}} {bathy.equal_dims = array<i64: 0>}
// CHECK: bathy.sub {{.*}} {bathy.equal_dims = array<i64: 0, 1, 2>}
// CHECK: bathy.add {{.*}} {bathy.equal_dims = array<i64: 0, 1, 2>}
func.func @flow(%x: tensor<?x?x16xf32> {bathy.dim_params = ["batch", "seq", ""]},
                %w: tensor<?x16x16xf32> {bathy.dim_params = ["batch", "", ""]}) -> tensor<?x?x16xf32> {
  %0 = bathy.matmul %x, %w : (tensor<?x?x16xf32>, tensor<?x16x16xf32>) -> tensor<?x?x16xf32>
  %m = bathy.reduce_mean %0 {axes = array<i64: 2>, keepdims = true} : (tensor<?x?x16xf32>) -> tensor<?x?x1xf32>
  %c = bathy.sub %0, %m : (tensor<?x?x16xf32>, tensor<?x?x1xf32>) -> tensor<?x?x16xf32>
  %t = bathy.transpose %x {perm = array<i64: 0, 1, 2>} : (tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  %r = bathy.add %c, %t : (tensor<?x?x16xf32>, tensor<?x?x16xf32>) -> tensor<?x?x16xf32>
  return %r : tensor<?x?x16xf32>
}

// -----

// The "-1 keeps the dim" Expand idiom: Where(Equal(target, -1), 1, target)
// of a target holding sizes picks the sizes (a size is never -1), so the
// expanded mask is [batch, 1, seq] and its add against [batch, 4, seq] is
// proven along dims 0 and 2; the head dim is a static broadcast.
// CHECK-LABEL: func.func @expand_idiom
// CHECK: bathy.expand {{.*}} -> tensor<?x1x?xf32>
// CHECK: bathy.add {{.*}} {bathy.equal_dims = array<i64: 0, 1, 2>}
func.func @expand_idiom(%m: tensor<?x1x?xf32> {bathy.dim_params = ["batch", "", "seq"]},
                        %s: tensor<?x4x?xf32> {bathy.dim_params = ["batch", "", "seq"]}) -> tensor<?x?x?xf32> {
  %i0 = bathy.constant dense<0> : tensor<i64>
  %i2 = bathy.constant dense<2> : tensor<i64>
  %minus = bathy.constant dense<-1> : tensor<3xi64>
  %ones = bathy.constant dense<1> : tensor<3xi64>
  %mid = bathy.constant dense<-1> : tensor<1xi64>
  %sh = bathy.shape %m : (tensor<?x1x?xf32>) -> tensor<3xi64>
  %b = bathy.gather %sh, %i0 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %q = bathy.gather %sh, %i2 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %b1 = bathy.unsqueeze %b {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %q1 = bathy.unsqueeze %q {axes = array<i64: 0>} : (tensor<i64>) -> tensor<1xi64>
  %t = bathy.concat %b1, %mid, %q1 {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>, tensor<1xi64>) -> tensor<3xi64>
  %keep = bathy.equal %t, %minus : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi1>
  %fixed = bathy.where %keep, %ones, %t : (tensor<3xi1>, tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  %e = bathy.expand %m, %fixed : (tensor<?x1x?xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  %r = bathy.add %s, %e : (tensor<?x4x?xf32>, tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  return %r : tensor<?x?x?xf32>
}
