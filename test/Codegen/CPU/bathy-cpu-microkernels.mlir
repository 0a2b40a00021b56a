// RUN: bathy-opt %s -split-input-file -bathy-cpu-microkernels | FileCheck %s

// A batched matmul on buffers (found by its form) becomes a call with unranked operands;
// strided views pass through as they are.
// CHECK-LABEL: func.func @matmul
// CHECK-SAME: (%[[A:.+]]: memref<2x8x16xf32>, %[[B:.+]]: memref<16x32xf32, strided<[1, 16]>>, %[[C:.+]]: memref<2x8x32xf32>)
// CHECK-DAG: %[[UA:.+]] = memref.cast %[[A]] : memref<2x8x16xf32> to memref<*xf32>
// CHECK-DAG: %[[UB:.+]] = memref.cast %[[B]] : memref<16x32xf32, strided<[1, 16]>> to memref<*xf32>
// CHECK-DAG: %[[UC:.+]] = memref.cast %[[C]] : memref<2x8x32xf32> to memref<*xf32>
// CHECK: call @bathy_rt_matmul_f32(%[[UA]], %[[UB]], %[[UC]]) : (memref<*xf32>, memref<*xf32>, memref<*xf32>) -> ()
// CHECK-NOT: linalg.generic
// CHECK: func.func private @bathy_rt_matmul_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>)
#lhs = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#rhs = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#out = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
func.func @matmul(%a: memref<2x8x16xf32>, %b: memref<16x32xf32, strided<[1, 16]>>, %c: memref<2x8x32xf32>) {
  linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<2x8x16xf32>, memref<16x32xf32, strided<[1, 16]>>) outs(%c : memref<2x8x32xf32>)
      {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A convolution passes strides, dilations, then top/left padding (none
// here) as i64 scalars.
// CHECK-LABEL: func.func @conv
// CHECK: %[[SH:.+]] = arith.constant 2 : i64
// CHECK: %[[SW:.+]] = arith.constant 2 : i64
// CHECK: %[[DH:.+]] = arith.constant 1 : i64
// CHECK: %[[DW:.+]] = arith.constant 1 : i64
// CHECK: %[[PT:.+]] = arith.constant 0 : i64
// CHECK: %[[PL:.+]] = arith.constant 0 : i64
// CHECK: call @bathy_rt_conv2d_f32(%{{.+}}, %{{.+}}, %{{.+}}, %[[SH]], %[[SW]], %[[DH]], %[[DW]], %[[PT]], %[[PL]]) : (memref<*xf32>, memref<*xf32>, memref<*xf32>, i64, i64, i64, i64, i64, i64) -> ()
#in = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d2, d5 * 2 + d3, d6 * 2 + d4)>
#w = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d2, d3, d4)>
#o = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d5, d6)>
func.func @conv(%x: memref<1x3x10x10xf32>, %w: memref<4x3x3x3xf32>, %o: memref<1x4x4x4xf32>) {
  linalg.generic {indexing_maps = [#in, #w, #o], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "parallel", "parallel"]}
      ins(%x, %w : memref<1x3x10x10xf32>, memref<4x3x3x3xf32>) outs(%o : memref<1x4x4x4xf32>)
      {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Zero padding the lowering wrote (fill + copy into the interior) is read in
// place: the unpadded input goes to the kernel with its top/left padding,
// and the padded buffer is gone.
// CHECK-LABEL: func.func @padded_dwconv
// CHECK-SAME: (%[[X:.+]]: memref<1x8x10x10xf32>,
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
// CHECK: %[[CX:.+]] = memref.cast %[[X]] : memref<1x8x10x10xf32> to memref<*xf32>
// CHECK: %[[PT:.+]] = arith.constant 2 : i64
// CHECK: %[[PL:.+]] = arith.constant 1 : i64
// CHECK: call @bathy_rt_dwconv2d_f32(%[[CX]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[PT]], %[[PL]])
#dwin = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4 + d2, d5 + d3)>
#dww = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, 0, d2, d3)>
#dwo = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4, d5)>
func.func @padded_dwconv(%x: memref<1x8x10x10xf32>, %w: memref<8x1x3x3xf32>, %o: memref<1x8x11x10xf32>) {
  %zero = arith.constant 0.0 : f32
  %pad = memref.alloc() : memref<1x8x13x12xf32>
  linalg.fill ins(%zero : f32) outs(%pad : memref<1x8x13x12xf32>)
  %in = memref.subview %pad[0, 0, 2, 1] [1, 8, 10, 10] [1, 1, 1, 1] : memref<1x8x13x12xf32> to memref<1x8x10x10xf32, strided<[1248, 156, 12, 1], offset: 25>>
  memref.copy %x, %in : memref<1x8x10x10xf32> to memref<1x8x10x10xf32, strided<[1248, 156, 12, 1], offset: 25>>
  linalg.fill ins(%zero : f32) outs(%o : memref<1x8x11x10xf32>)
  linalg.generic {indexing_maps = [#dwin, #dww, #dwo], iterator_types = ["parallel", "parallel", "reduction", "reduction", "parallel", "parallel"]}
      ins(%pad, %w : memref<1x8x13x12xf32>, memref<8x1x3x3xf32>) outs(%o : memref<1x8x11x10xf32>)
      {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The input is written after it was copied into the padded buffer: the
// padded copy is what the convolution must read, so it stays.
// CHECK-LABEL: func.func @padded_source_written
// CHECK: memref.copy
// CHECK: linalg.fill ins(%{{.+}} : f32) outs(%[[X:.+]] : memref<1x8x10x10xf32>)
// CHECK: %[[CP:.+]] = memref.cast %{{.+}} : memref<1x8x12x12xf32> to memref<*xf32>
// CHECK: call @bathy_rt_dwconv2d_f32(%[[CP]],
#dwin2 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4 + d2, d5 + d3)>
#dww2 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, 0, d2, d3)>
#dwo2 = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4, d5)>
func.func @padded_source_written(%x: memref<1x8x10x10xf32>, %w: memref<8x1x3x3xf32>, %o: memref<1x8x10x10xf32>) {
  %zero = arith.constant 0.0 : f32
  %pad = memref.alloc() : memref<1x8x12x12xf32>
  linalg.fill ins(%zero : f32) outs(%pad : memref<1x8x12x12xf32>)
  %in = memref.subview %pad[0, 0, 1, 1] [1, 8, 10, 10] [1, 1, 1, 1] : memref<1x8x12x12xf32> to memref<1x8x10x10xf32, strided<[1152, 144, 12, 1], offset: 13>>
  memref.copy %x, %in : memref<1x8x10x10xf32> to memref<1x8x10x10xf32, strided<[1152, 144, 12, 1], offset: 13>>
  linalg.fill ins(%zero : f32) outs(%x : memref<1x8x10x10xf32>)
  linalg.generic {indexing_maps = [#dwin2, #dww2, #dwo2], iterator_types = ["parallel", "parallel", "reduction", "reduction", "parallel", "parallel"]}
      ins(%pad, %w : memref<1x8x12x12xf32>, memref<8x1x3x3xf32>) outs(%o : memref<1x8x10x10xf32>)
      {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Still on tensors (not bufferized), or of an unexpected form: left as loops.
// CHECK-LABEL: func.func @not_buffers
// CHECK: linalg.generic
// CHECK-NOT: call @bathy_rt
#l = affine_map<(d0, d1, d2) -> (d0, d1)>
#r = affine_map<(d0, d1, d2) -> (d1, d2)>
#t = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @not_buffers(%a: tensor<8x16xf32>, %b: tensor<16x32xf32>, %c: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %r = linalg.generic {indexing_maps = [#l, #r, #t], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : tensor<8x16xf32>, tensor<16x32xf32>) outs(%c : tensor<8x32xf32>)
      {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<8x32xf32>
  return %r : tensor<8x32xf32>
}

// -----

// CHECK-LABEL: func.func @f64_matmul
// CHECK: linalg.generic
// CHECK-NOT: call @bathy_rt
#l2 = affine_map<(d0, d1, d2) -> (d0, d1)>
#r2 = affine_map<(d0, d1, d2) -> (d1, d2)>
#t2 = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @f64_matmul(%a: memref<8x16xf64>, %b: memref<16x32xf64>, %c: memref<8x32xf64>) {
  linalg.generic {indexing_maps = [#l2, #r2, #t2], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<8x16xf64>, memref<16x32xf64>) outs(%c : memref<8x32xf64>)
      {
  ^bb0(%x: f64, %y: f64, %acc: f64):
    %p = arith.mulf %x, %y : f64
    %s = arith.addf %acc, %p : f64
    linalg.yield %s : f64
  }
  return
}

// -----

// Marked, but its maps no longer say "lhs (m, k), rhs (k, n)" (here rhs is
// read transposed by its map): left as loops rather than computed wrong.
// CHECK-LABEL: func.func @changed_maps
// CHECK: linalg.generic
// CHECK-NOT: call @bathy_rt
#l3 = affine_map<(d0, d1, d2) -> (d0, d1)>
#r3 = affine_map<(d0, d1, d2) -> (d2, d1)>
#t3 = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @changed_maps(%a: memref<8x16xf32>, %b: memref<32x16xf32>, %c: memref<8x32xf32>) {
  linalg.generic {indexing_maps = [#l3, #r3, #t3], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<8x16xf32>, memref<32x16xf32>) outs(%c : memref<8x32xf32>)
      {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Operands that a transpose copies into fresh buffers are read through
// transposed views instead: linalg.transpose (a weight, K x N from N x K)
// and a permuting copy generic (batched, the last two dims swapped); both
// copies and buffers disappear.
// CHECK-LABEL: func.func @transposed_operands
// CHECK-SAME: (%[[Q:.+]]: memref<2x16x8xf32>, %[[W:.+]]: memref<32x16xf32>, %[[C:.+]]: memref<2x8x32xf32>)
// CHECK-NOT: memref.alloc
// CHECK-NOT: linalg.transpose
// CHECK-DAG: %[[QT:.+]] = memref.transpose %[[Q]] (d0, d1, d2) -> (d0, d2, d1) : memref<2x16x8xf32> to memref<2x8x16xf32, strided<[128, 1, 8]>>
// CHECK-DAG: %[[WT:.+]] = memref.transpose %[[W]] (d0, d1) -> (d1, d0) : memref<32x16xf32> to memref<16x32xf32, strided<[1, 16]>>
// CHECK-DAG: %[[UA:.+]] = memref.cast %[[QT]]
// CHECK-DAG: %[[UB:.+]] = memref.cast %[[WT]]
// CHECK: call @bathy_rt_matmul_f32(%[[UA]], %[[UB]], %{{.+}})
// CHECK-NOT: linalg.generic
#lhs = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#rhs = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#out = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
func.func @transposed_operands(%q: memref<2x16x8xf32>, %w: memref<32x16xf32>, %c: memref<2x8x32xf32>) {
  %qt = memref.alloc() : memref<2x8x16xf32>
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : memref<2x16x8xf32>) outs(%qt : memref<2x8x16xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  %wt = memref.alloc() : memref<16x32xf32>
  linalg.transpose ins(%w : memref<32x16xf32>) outs(%wt : memref<16x32xf32>) permutation = [1, 0]
  linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%qt, %wt : memref<2x8x16xf32>, memref<16x32xf32>) outs(%c : memref<2x8x32xf32>)
      {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The transpose's source is overwritten before the matmul runs: the copy is
// the only correct input, so it stays.
// CHECK-LABEL: func.func @source_overwritten
// CHECK: linalg.transpose
// CHECK: linalg.fill
// CHECK-NOT: memref.transpose
// CHECK: call @bathy_rt_matmul_f32
func.func @source_overwritten(%a: memref<8x16xf32>, %c: memref<8x32xf32>) {
  %w = memref.alloc() : memref<32x16xf32>
  %zero = arith.constant 0.0 : f32
  %wt = memref.alloc() : memref<16x32xf32>
  linalg.transpose ins(%w : memref<32x16xf32>) outs(%wt : memref<16x32xf32>) permutation = [1, 0]
  linalg.fill ins(%zero : f32) outs(%w : memref<32x16xf32>)
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %wt : memref<8x16xf32>, memref<16x32xf32>) outs(%c : memref<8x32xf32>)
      {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Around the fused attention call, head splits and the head merge become
// strides: q read through a transposed view of the [B, S, H, D] buffer, the
// result written through a transposed view of the [B, S, H, D] buffer the
// copy filled; both copies and their fresh buffers go. k's buffer is also
// read elsewhere, so its cast stays.
// CHECK-LABEL: func.func @attention_strides
// CHECK-SAME: (%[[X:.+]]: memref<2x16x4x8xf32>, %[[K:.+]]: memref<2x4x16x8xf32>)
// CHECK-DAG: %[[QV:.+]] = memref.transpose %[[X]] (d0, d1, d2, d3) -> (d0, d2, d1, d3)
// CHECK-DAG: %[[T:.+]] = memref.alloc() : memref<2x16x4x8xf32>
// CHECK-DAG: %[[OV:.+]] = memref.transpose %[[T]] (d0, d1, d2, d3) -> (d0, d2, d1, d3)
// CHECK-DAG: %[[QU:.+]] = memref.cast %[[QV]] {{.*}} to memref<*xf32>
// CHECK-DAG: %[[OU:.+]] = memref.cast %[[OV]] {{.*}} to memref<*xf32>
// CHECK: call @bathy_rt_attention_f32(%[[QU]], %{{.+}}, %{{.+}}, %[[OU]],
// CHECK-NOT: linalg.transpose
// CHECK: return %[[T]]
func.func private @bathy_rt_attention_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, f32, f32, i64)
func.func @attention_strides(%x: memref<2x16x4x8xf32>, %k: memref<2x4x16x8xf32>) -> memref<2x16x4x8xf32> {
  %scale = arith.constant 0.5 : f32
  %cap = arith.constant 0.0 : f32
  %causal = arith.constant 0 : i64
  %q = memref.alloc() : memref<2x4x16x8xf32>
  linalg.transpose ins(%x : memref<2x16x4x8xf32>) outs(%q : memref<2x4x16x8xf32>) permutation = [0, 2, 1, 3]
  %qu = memref.cast %q : memref<2x4x16x8xf32> to memref<*xf32>
  %ku = memref.cast %k : memref<2x4x16x8xf32> to memref<*xf32>
  %o = memref.alloc() : memref<2x4x16x8xf32>
  %ou = memref.cast %o : memref<2x4x16x8xf32> to memref<*xf32>
  call @bathy_rt_attention_f32(%qu, %ku, %ku, %ou, %scale, %cap, %causal) : (memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, f32, f32, i64) -> ()
  %t = memref.alloc() : memref<2x16x4x8xf32>
  linalg.transpose ins(%o : memref<2x4x16x8xf32>) outs(%t : memref<2x16x4x8xf32>) permutation = [0, 2, 1, 3]
  return %t : memref<2x16x4x8xf32>
}

// -----

// Forms no kernel computes stay loops: a body that is not multiply-accumulate,
// a batch dim read at index 0 that is not of size 1, and a convolution whose
// window index has an offset.
// CHECK-LABEL: func.func @not_kernels
// CHECK-NOT: call @bathy_rt
// CHECK-COUNT-3: linalg.generic
#lhs = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#lhs0 = affine_map<(d0, d1, d2, d3) -> (0, d1, d2)>
#rhs = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#out = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#cin = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d2, d5 + d3 + 1, d6 + d4)>
#cw = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d2, d3, d4)>
#cout = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d5, d6)>
func.func @not_kernels(%a: memref<2x8x16xf32>, %b: memref<16x32xf32>, %c: memref<2x8x32xf32>,
                       %x: memref<1x3x8x8xf32>, %w: memref<4x3x3x3xf32>, %y: memref<1x4x5x6xf32>) {
  linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<2x8x16xf32>, memref<16x32xf32>) outs(%c : memref<2x8x32xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.maximumf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#lhs0, #rhs, #out], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<2x8x16xf32>, memref<16x32xf32>) outs(%c : memref<2x8x32xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#cin, #cw, #cout], iterator_types = ["parallel", "parallel", "reduction", "reduction", "reduction", "parallel", "parallel"]}
      ins(%x, %w : memref<1x3x8x8xf32>, memref<4x3x3x3xf32>) outs(%y : memref<1x4x5x6xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}
