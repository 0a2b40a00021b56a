// RUN: bathy-opt %s -split-input-file -bathy-fusion-attention -mlir-print-debuginfo | FileCheck %s

// BERT as exported: q and v split into heads, kᵀ by one transpose of the
// [B, S, H, D] projection, scale, additive mask, softmax, ·v. The op takes k
// as [B, H, S, D] (one transpose from the projection) and is located at
// every node it replaces, in order.
// CHECK-LABEL: func.func @bert
// CHECK-SAME: (%[[Q:arg[0-9]]]: tensor<2x12x128x64xf32> {{.*}}, %[[K4:arg[0-9]]]: tensor<2x128x12x64xf32> {{.*}}, %[[V:arg[0-9]]]: tensor<2x12x128x64xf32> {{.*}}, %[[M:arg[0-9]]]: tensor<2x1x1x128xf32>
// CHECK: %[[K:.+]] = bathy.transpose %[[K4]] {perm = array<i64: 0, 2, 1, 3>} {{.*}} loc(#[[KT:loc[0-9]+]])
// CHECK: %[[O:.+]] = bathy.attention %[[Q]], %[[K]], %[[V]], %[[M]] {scale = 1.250000e-01 : f32} : (tensor<2x12x128x64xf32>, tensor<2x12x128x64xf32>, tensor<2x12x128x64xf32>, tensor<2x1x1x128xf32>) -> tensor<2x12x128x64xf32> loc(#[[ALL:loc[0-9]+]])
// CHECK-NOT: bathy.softmax
// CHECK-NOT: bathy.matmul
// CHECK: return %[[O]]
// CHECK: #[[KT]] = loc("kt")
// CHECK-NEXT: #[[QK:loc[0-9]+]] = loc("qk")
// CHECK-NEXT: #[[SC:loc[0-9]+]] = loc("scale")
// CHECK-NEXT: #[[MK:loc[0-9]+]] = loc("mask")
// CHECK-NEXT: #[[SM:loc[0-9]+]] = loc("softmax")
// CHECK-NEXT: #[[PV:loc[0-9]+]] = loc("pv")
// CHECK: #[[ALL]] = loc(fused[#[[QK]], #[[SC]], #[[MK]], #[[SM]], #[[PV]]])
func.func @bert(%q: tensor<2x12x128x64xf32>, %k4: tensor<2x128x12x64xf32>, %v: tensor<2x12x128x64xf32>, %mask: tensor<2x1x1x128xf32>) -> tensor<2x12x128x64xf32> {
  %c = bathy.constant dense<0.125> : tensor<f32>
  %kt = bathy.transpose %k4 {perm = array<i64: 0, 2, 3, 1>} : (tensor<2x128x12x64xf32>) -> tensor<2x12x64x128xf32> loc("kt")
  %s = bathy.matmul %q, %kt : (tensor<2x12x128x64xf32>, tensor<2x12x64x128xf32>) -> tensor<2x12x128x128xf32> loc("qk")
  %sc = bathy.mul %s, %c : (tensor<2x12x128x128xf32>, tensor<f32>) -> tensor<2x12x128x128xf32> loc("scale")
  %m = bathy.add %sc, %mask : (tensor<2x12x128x128xf32>, tensor<2x1x1x128xf32>) -> tensor<2x12x128x128xf32> loc("mask")
  %p = bathy.softmax %m {axis = 3 : i64} : (tensor<2x12x128x128xf32>) -> tensor<2x12x128x128xf32> loc("softmax")
  %o = bathy.matmul %p, %v : (tensor<2x12x128x128xf32>, tensor<2x12x128x64xf32>) -> tensor<2x12x128x64xf32> loc("pv")
  return %o : tensor<2x12x128x64xf32>
}

// -----

// Scale split over q and kᵀ (sqrt each, as torch's SDPA export writes it),
// division, no mask; kᵀ given directly is transposed back.
// CHECK-LABEL: func.func @split_scale_no_mask
// CHECK: %[[K:.+]] = bathy.transpose %{{.+}} {perm = array<i64: 0, 2, 1>}
// CHECK: bathy.attention %{{.+}}, %[[K]], %{{.+}} {scale = 1.250000e-01 : f32} : (tensor<4x16x8xf32>, tensor<4x16x8xf32>, tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
func.func @split_scale_no_mask(%q: tensor<4x16x8xf32>, %kt: tensor<4x8x16xf32>, %v: tensor<4x16x8xf32>) -> tensor<4x16x8xf32> {
  %c = bathy.constant dense<0.5> : tensor<f32>
  %d = bathy.constant dense<2.0> : tensor<f32>
  %qs = bathy.mul %q, %c : (tensor<4x16x8xf32>, tensor<f32>) -> tensor<4x16x8xf32>
  %ks = bathy.mul %c, %kt : (tensor<f32>, tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  %s = bathy.matmul %qs, %ks : (tensor<4x16x8xf32>, tensor<4x8x16xf32>) -> tensor<4x16x16xf32>
  %sc = bathy.div %s, %d : (tensor<4x16x16xf32>, tensor<f32>) -> tensor<4x16x16xf32>
  %p = bathy.softmax %sc {axis = 2 : i64} : (tensor<4x16x16xf32>) -> tensor<4x16x16xf32>
  %o = bathy.matmul %p, %v : (tensor<4x16x16xf32>, tensor<4x16x8xf32>) -> tensor<4x16x8xf32>
  return %o : tensor<4x16x8xf32>
}

// -----

// Grouped-query attention as transformers exports repeat_kv: keys and
// values are read before their repetition (4 key/value heads, 16 query
// heads); the transpose of the repeated keys cancels.
// CHECK-LABEL: func.func @grouped_query
// CHECK-SAME: (%[[Q:arg[0-9]]]: tensor<1x16x32x64xf32> {{.*}}, %[[K:arg[0-9]]]: tensor<1x4x32x64xf32> {{.*}}, %[[V:arg[0-9]]]: tensor<1x4x32x64xf32>
// CHECK: bathy.attention %[[Q]], %[[K]], %[[V]], %{{.+}} {{.*}} : (tensor<1x16x32x64xf32>, tensor<1x4x32x64xf32>, tensor<1x4x32x64xf32>, tensor<1x1x32x32xf32>) -> tensor<1x16x32x64xf32>
// CHECK-NOT: bathy.transpose
func.func @grouped_query(%q: tensor<1x16x32x64xf32>, %k: tensor<1x4x32x64xf32>, %v: tensor<1x4x32x64xf32>, %mask: tensor<1x1x32x32xf32>) -> tensor<1x16x32x64xf32> {
  %shape = bathy.constant dense<[1, 4, 4, 32, 64]> : tensor<5xi64>
  %c = bathy.constant dense<0.125> : tensor<f32>
  %k1 = bathy.unsqueeze %k {axes = array<i64: 2>} : (tensor<1x4x32x64xf32>) -> tensor<1x4x1x32x64xf32>
  %k2 = bathy.expand %k1, %shape : (tensor<1x4x1x32x64xf32>, tensor<5xi64>) -> tensor<1x4x4x32x64xf32>
  %k3 = bathy.reshape %k2 : (tensor<1x4x4x32x64xf32>) -> tensor<1x16x32x64xf32>
  %v1 = bathy.unsqueeze %v {axes = array<i64: 2>} : (tensor<1x4x32x64xf32>) -> tensor<1x4x1x32x64xf32>
  %v2 = bathy.expand %v1, %shape : (tensor<1x4x1x32x64xf32>, tensor<5xi64>) -> tensor<1x4x4x32x64xf32>
  %v3 = bathy.reshape %v2 : (tensor<1x4x4x32x64xf32>) -> tensor<1x16x32x64xf32>
  %kt = bathy.transpose %k3 {perm = array<i64: 0, 1, 3, 2>} : (tensor<1x16x32x64xf32>) -> tensor<1x16x64x32xf32>
  %s = bathy.matmul %q, %kt : (tensor<1x16x32x64xf32>, tensor<1x16x64x32xf32>) -> tensor<1x16x32x32xf32>
  %sc = bathy.mul %s, %c : (tensor<1x16x32x32xf32>, tensor<f32>) -> tensor<1x16x32x32xf32>
  %m = bathy.add %sc, %mask : (tensor<1x16x32x32xf32>, tensor<1x1x32x32xf32>) -> tensor<1x16x32x32xf32>
  %p = bathy.softmax %m {axis = 3 : i64} : (tensor<1x16x32x32xf32>) -> tensor<1x16x32x32xf32>
  %o = bathy.matmul %p, %v3 : (tensor<1x16x32x32xf32>, tensor<1x16x32x64xf32>) -> tensor<1x16x32x64xf32>
  return %o : tensor<1x16x32x64xf32>
}

// -----

// Dynamic batch and sequence: batch/head equality comes from
// bathy.equal_dims; the mask's dynamic sizes are left to a run-time check.
// CHECK-LABEL: func.func @dynamic
// CHECK: bathy.attention {{.*}} : (tensor<?x12x?x64xf32>, tensor<?x12x?x64xf32>, tensor<?x12x?x64xf32>, tensor<?x1x?x?xf32>) -> tensor<?x12x?x64xf32>
func.func @dynamic(%q: tensor<?x12x?x64xf32>, %kt: tensor<?x12x64x?xf32>, %v: tensor<?x12x?x64xf32>, %mask: tensor<?x1x?x?xf32>) -> tensor<?x12x?x64xf32> {
  %c = bathy.constant dense<0.125> : tensor<f32>
  %s = bathy.matmul %q, %kt {bathy.equal_dims = array<i64: 0, 1>} : (tensor<?x12x?x64xf32>, tensor<?x12x64x?xf32>) -> tensor<?x12x?x?xf32>
  %sc = bathy.mul %s, %c : (tensor<?x12x?x?xf32>, tensor<f32>) -> tensor<?x12x?x?xf32>
  %m = bathy.add %sc, %mask : (tensor<?x12x?x?xf32>, tensor<?x1x?x?xf32>) -> tensor<?x12x?x?xf32>
  %p = bathy.softmax %m {axis = 3 : i64} : (tensor<?x12x?x?xf32>) -> tensor<?x12x?x?xf32>
  %o = bathy.matmul %p, %v {bathy.equal_dims = array<i64: 0, 1>} : (tensor<?x12x?x?xf32>, tensor<?x12x?x64xf32>) -> tensor<?x12x?x64xf32>
  return %o : tensor<?x12x?x64xf32>
}

// -----

// Not matched: the dynamic head dims are not proven equal (q's heads might
// broadcast against k's).
// CHECK-LABEL: func.func @dynamic_heads_unproven
// CHECK-NOT: bathy.attention
// CHECK: bathy.softmax
func.func @dynamic_heads_unproven(%q: tensor<2x?x?x64xf32>, %kt: tensor<2x?x64x?xf32>, %v: tensor<2x?x?x64xf32>) -> tensor<2x?x?x64xf32> {
  %s = bathy.matmul %q, %kt : (tensor<2x?x?x64xf32>, tensor<2x?x64x?xf32>) -> tensor<2x?x?x?xf32>
  %p = bathy.softmax %s {axis = 3 : i64} : (tensor<2x?x?x?xf32>) -> tensor<2x?x?x?xf32>
  %o = bathy.matmul %p, %v : (tensor<2x?x?x?xf32>, tensor<2x?x?x64xf32>) -> tensor<2x?x?x64xf32>
  return %o : tensor<2x?x?x64xf32>
}

// -----

// Not matched: the scale comes after the mask (it would scale the mask).
// CHECK-LABEL: func.func @scale_after_mask
// CHECK-NOT: bathy.attention
func.func @scale_after_mask(%q: tensor<2x8x4xf32>, %kt: tensor<2x4x8xf32>, %v: tensor<2x8x4xf32>, %mask: tensor<8x8xf32>) -> tensor<2x8x4xf32> {
  %c = bathy.constant dense<0.5> : tensor<f32>
  %s = bathy.matmul %q, %kt : (tensor<2x8x4xf32>, tensor<2x4x8xf32>) -> tensor<2x8x8xf32>
  %m = bathy.add %s, %mask : (tensor<2x8x8xf32>, tensor<8x8xf32>) -> tensor<2x8x8xf32>
  %sc = bathy.mul %m, %c : (tensor<2x8x8xf32>, tensor<f32>) -> tensor<2x8x8xf32>
  %p = bathy.softmax %sc {axis = 2 : i64} : (tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %o = bathy.matmul %p, %v : (tensor<2x8x8xf32>, tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}

// -----

// Not matched: the scores are also returned (they must exist anyway), and
// a softmax over another axis is not attention.
// CHECK-LABEL: func.func @scores_used_twice
// CHECK-NOT: bathy.attention
// CHECK-LABEL: func.func @softmax_other_axis
// CHECK-NOT: bathy.attention
func.func @scores_used_twice(%q: tensor<2x8x4xf32>, %kt: tensor<2x4x8xf32>, %v: tensor<2x8x4xf32>) -> (tensor<2x8x4xf32>, tensor<2x8x8xf32>) {
  %s = bathy.matmul %q, %kt : (tensor<2x8x4xf32>, tensor<2x4x8xf32>) -> tensor<2x8x8xf32>
  %p = bathy.softmax %s {axis = 2 : i64} : (tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %o = bathy.matmul %p, %v : (tensor<2x8x8xf32>, tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
  return %o, %s : tensor<2x8x4xf32>, tensor<2x8x8xf32>
}
func.func @softmax_other_axis(%q: tensor<2x8x4xf32>, %kt: tensor<2x4x8xf32>, %v: tensor<2x8x4xf32>) -> tensor<2x8x4xf32> {
  %s = bathy.matmul %q, %kt : (tensor<2x8x4xf32>, tensor<2x4x8xf32>) -> tensor<2x8x8xf32>
  %p = bathy.softmax %s {axis = 1 : i64} : (tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %o = bathy.matmul %p, %v : (tensor<2x8x8xf32>, tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}

// -----

// Leading dims broadcast in the fused op as in the matmuls: keys and
// values shared by every batch, and an unproven dynamic batch.
// CHECK-LABEL: func.func @broadcast_keys
// CHECK: bathy.attention {{.*}} : (tensor<2x8x4xf32>, tensor<1x8x4xf32>, tensor<1x8x4xf32>) -> tensor<2x8x4xf32>
// CHECK-LABEL: func.func @dynamic_batch_unproven
// CHECK: bathy.attention {{.*}} : (tensor<?x12x?x64xf32>, tensor<?x12x?x64xf32>, tensor<?x12x?x64xf32>) -> tensor<?x12x?x64xf32>
func.func @broadcast_keys(%q: tensor<2x8x4xf32>, %kt: tensor<1x4x8xf32>, %v: tensor<1x8x4xf32>) -> tensor<2x8x4xf32> {
  %s = bathy.matmul %q, %kt : (tensor<2x8x4xf32>, tensor<1x4x8xf32>) -> tensor<2x8x8xf32>
  %p = bathy.softmax %s {axis = 2 : i64} : (tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
  %o = bathy.matmul %p, %v : (tensor<2x8x8xf32>, tensor<1x8x4xf32>) -> tensor<2x8x4xf32>
  return %o : tensor<2x8x4xf32>
}
func.func @dynamic_batch_unproven(%q: tensor<?x12x?x64xf32>, %kt: tensor<?x12x64x?xf32>, %v: tensor<?x12x?x64xf32>) -> tensor<?x12x?x64xf32> {
  %s = bathy.matmul %q, %kt : (tensor<?x12x?x64xf32>, tensor<?x12x64x?xf32>) -> tensor<?x12x?x?xf32>
  %p = bathy.softmax %s {axis = 3 : i64} : (tensor<?x12x?x?xf32>) -> tensor<?x12x?x?xf32>
  %o = bathy.matmul %p, %v : (tensor<?x12x?x?xf32>, tensor<?x12x?x64xf32>) -> tensor<?x12x?x64xf32>
  return %o : tensor<?x12x?x64xf32>
}

// -----

// The masked_fill form (GPT-2 exports): where(keep, scores, -1e4) becomes a
// 0/-inf mask built from the condition, with masked_score = -1e4, so a row
// whose every key is masked still weighs all keys equally.
// CHECK-LABEL: func.func @masked_fill
// CHECK-SAME: (%{{[^:]+}}: tensor<1x4x16x8xf32> {{.*}}, %[[KEEP:arg[0-9]]]: tensor<1x1x16x16xi1>
// CHECK-DAG: %[[ZERO:.+]] = bathy.constant dense<0.000000e+00> : tensor<f32>
// CHECK-DAG: %[[NINF:.+]] = bathy.constant dense<0xFF800000> : tensor<f32>
// CHECK: %[[M:.+]] = bathy.where %[[KEEP]], %[[ZERO]], %[[NINF]] : (tensor<1x1x16x16xi1>, tensor<f32>, tensor<f32>) -> tensor<1x1x16x16xf32>
// CHECK: bathy.attention %{{.+}}, %{{.+}}, %{{.+}}, %[[M]] {masked_score = -1.000000e+04 : f32, scale = 0.353553385 : f32}
// CHECK-NOT: bathy.softmax
func.func @masked_fill(%q: tensor<1x4x16x8xf32>, %keep: tensor<1x1x16x16xi1>, %kt: tensor<1x4x8x16xf32>, %v: tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32> {
  %c = bathy.constant dense<2.828427> : tensor<f32>
  %fill = bathy.constant dense<-1.0e4> : tensor<f32>
  %s = bathy.matmul %q, %kt : (tensor<1x4x16x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x16x16xf32>
  %sc = bathy.div %s, %c : (tensor<1x4x16x16xf32>, tensor<f32>) -> tensor<1x4x16x16xf32>
  %m = bathy.where %keep, %sc, %fill : (tensor<1x1x16x16xi1>, tensor<1x4x16x16xf32>, tensor<f32>) -> tensor<1x4x16x16xf32>
  %p = bathy.softmax %m {axis = 3 : i64} : (tensor<1x4x16x16xf32>) -> tensor<1x4x16x16xf32>
  %o = bathy.matmul %p, %v : (tensor<1x4x16x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}
