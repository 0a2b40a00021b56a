// RUN: bathy-opt %s -split-input-file -bathy-cpu-parallelize | FileCheck %s
// RUN: bathy-opt %s -split-input-file -bathy-cpu-parallelize -convert-linalg-to-loops -lower-affine -convert-scf-to-cf -expand-strided-metadata -lower-affine -finalize-memref-to-llvm -convert-math-to-llvm -convert-arith-to-llvm -convert-index-to-llvm -convert-cf-to-llvm -convert-func-to-llvm -reconcile-unrealized-casts -bathy-cpu-parallel-launch-to-llvm | FileCheck %s --check-prefix=LLVM

#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

// The batch loop is dynamic, so tasks take ranges of the flattened
// (batch, channel) space, one batch row at a time; the launch gets
// batch * 64 and a grain of 32768 / (128 * 1 op) = 256 iterations.
// CHECK-LABEL: func.func @exp(
// CHECK-SAME:    %[[A:.+]]: memref<?x64x128xf32>, %[[B:.+]]: memref<?x64x128xf32>)
// CHECK-DAG:     %[[C64:.+]] = arith.constant 64 : index
// CHECK-DAG:     %[[N:.+]] = memref.dim %[[A]], %c0
// CHECK:         %[[SIZE:.+]] = arith.muli %[[N]], %[[C64]]
// CHECK:         call @exp_task0_launch(%[[SIZE]], %[[A]], %[[B]])
// CHECK-NOT:     linalg.generic
// CHECK:         return
// CHECK:       func.func private @exp_task0(%[[BEGIN:.+]]: index, %[[END:.+]]: index, %[[TA:.+]]: memref<?x64x128xf32>, %[[TB:.+]]: memref<?x64x128xf32>)
// CHECK:         %[[FIRST:.+]] = arith.divsi %[[BEGIN]], %[[C64T:.+]] : index
// CHECK:         %[[LAST:.+]] = arith.ceildivsi %[[END]], %[[C64T]] : index
// CHECK:         scf.for %[[ROW:.+]] = %[[FIRST]] to %[[LAST]]
// CHECK:           %[[SA:.+]] = memref.subview %[[TA]][%[[ROW]], %[[LO:.+]], 0] [1, %[[CNT:.+]], 128] [1, 1, 1]
// CHECK:           %[[SB:.+]] = memref.subview %[[TB]][%[[ROW]], %[[LO]], 0] [1, %[[CNT]], 128] [1, 1, 1]
// CHECK:           linalg.generic {{.+}} ins(%[[SA]] : {{.+}}) outs(%[[SB]] : {{.+}})
// CHECK:             math.exp
// CHECK:       func.func private @exp_task0_launch(index, memref<?x64x128xf32>, memref<?x64x128xf32>) attributes {bathy.parallel_grain = 256 : i64, bathy.parallel_task = @exp_task0}

// The launch is defined in the LLVM dialect: the arguments after the size go
// into a stack record that a trampoline unpacks for the task.
// LLVM-LABEL: llvm.func @exp(
// LLVM:         llvm.call @exp_task0_launch(
// LLVM:       llvm.func internal @exp_task0(
// LLVM:       llvm.func internal @exp_task0_launch(%[[SIZE:[^:]+]]: i64, %{{.+}}: !llvm.ptr,
// LLVM:         %[[REC:.+]] = llvm.alloca %{{.+}} x !llvm.struct<(ptr, ptr, i64, i64, i64, i64, i64, i64, i64, ptr, ptr, i64, i64, i64, i64, i64, i64, i64)>
// LLVM-COUNT-18: llvm.store
// LLVM:         %[[GRAIN:.+]] = llvm.mlir.constant(256 : i64) : i64
// LLVM:         %[[FN:.+]] = llvm.mlir.addressof @exp_task0_launch_trampoline
// LLVM:         llvm.call @bathy_rt_parallel_for(%[[SIZE]], %[[GRAIN]], %[[FN]], %[[REC]])
// LLVM:       llvm.func @bathy_rt_parallel_for(i64, i64, !llvm.ptr, !llvm.ptr)
// LLVM:       llvm.func internal @exp_task0_launch_trampoline(%[[R:[^:]+]]: !llvm.ptr, %[[BEG:[^:]+]]: i64, %[[END:[^:]+]]: i64)
// LLVM-COUNT-18: llvm.load
// LLVM:         llvm.call @exp_task0(%[[BEG]], %[[END]],
func.func @exp(%a: memref<?x64x128xf32>, %b: memref<?x64x128xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a : memref<?x64x128xf32>) outs(%b : memref<?x64x128xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// Too little work to pay for waking a thread: left as it is.
// CHECK-LABEL: func.func @small
// CHECK:         linalg.generic
// CHECK-NOT:     call
// CHECK-NOT:     func.func private
func.func @small(%a: memref<4x16xf32>, %b: memref<4x16xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x16xf32>) outs(%b : memref<4x16xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A full reduction has no parallel loop: serial.
// CHECK-LABEL: func.func @sum_all
// CHECK:         linalg.generic
// CHECK-NOT:     call
func.func @sum_all(%a: memref<512x512xf32>, %s: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>], iterator_types = ["reduction", "reduction"]}
      ins(%a : memref<512x512xf32>) outs(%s : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %x, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Row sums: the rows split (one loop: the only parallel one), the reduced
// loop stays whole in every task; a broadcast operand is passed unsliced.
// CHECK-LABEL: func.func @row_sum(
// CHECK:         %[[C1024:.+]] = arith.constant 1024 : index
// CHECK:         call @row_sum_task0_launch(%[[C1024]],
// CHECK:       func.func private @row_sum_task0(
// CHECK-SAME:    %[[BEGIN:[^:]+]]: index, %[[END:[^:]+]]: index, %[[A:[^:]+]]: memref<1024x256xf32>, %[[W:[^:]+]]: memref<256xf32>, %[[S:[^:]+]]: memref<1024xf32>)
// CHECK:         %[[CNT:.+]] = arith.subi %[[END]], %[[BEGIN]]
// CHECK-NOT:     scf.for
// CHECK:         %[[SA:.+]] = memref.subview %[[A]][%[[BEGIN]], 0] [%[[CNT]], 256] [1, 1]
// CHECK:         %[[SS:.+]] = memref.subview %[[S]][%[[BEGIN]]] [%[[CNT]]] [1]
// CHECK:         linalg.generic {{.+}} ins(%[[SA]], %[[W]] : {{.+}}) outs(%[[SS]] :
// CHECK:       func.func private @row_sum_task0_launch({{.+}}) attributes {bathy.parallel_grain = 64 : i64
func.func @row_sum(%a: memref<1024x256xf32>, %w: memref<256xf32>, %s: memref<1024xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}
      ins(%a, %w : memref<1024x256xf32>, memref<256xf32>) outs(%s : memref<1024xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %m = arith.mulf %x, %y : f32
    %r = arith.addf %m, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A transpose: each operand is sliced where the loop appears in it; loops of
// one iteration are skipped, and a long static loop splits alone (whole
// rows); linalg.index of the split loop is offset by the slice start; an
// outside scalar is passed, an outside constant re-created.
// CHECK-LABEL: func.func @transpose_iota(
// CHECK-SAME:    %[[A:[^:]+]]: memref<1x512x256xf32>, %[[B:[^:]+]]: memref<1x256x512xf32>, %[[K:[^:]+]]: f32)
// CHECK:         %[[C256:.+]] = arith.constant 256 : index
// CHECK:         call @transpose_iota_task0_launch(%[[C256]], %[[A]], %[[B]], %[[K]])
// CHECK:       func.func private @transpose_iota_task0(%[[BEGIN:[^:]+]]: index, %[[END:[^:]+]]: index, %[[TA:[^:]+]]: memref<1x512x256xf32>, %[[TB:[^:]+]]: memref<1x256x512xf32>, %[[TK:[^:]+]]: f32)
// CHECK:         arith.constant 2.000000e+00 : f32
// CHECK-NOT:     scf.for
// CHECK:         memref.subview %[[TA]][0, 0, %[[BEGIN]]] [1, 512, %{{.+}}] [1, 1, 1]
// CHECK:         memref.subview %[[TB]][0, %[[BEGIN]], 0] [1, %{{.+}}, 512] [1, 1, 1]
// CHECK:         linalg.generic
// CHECK:           %[[I:.+]] = linalg.index 1 : index
// CHECK:           %[[SHIFTED:.+]] = arith.addi %[[I]], %[[BEGIN]] : index
// CHECK:           arith.index_cast %[[SHIFTED]]
// CHECK:           arith.addf %{{.+}}, %[[TK]]
func.func @transpose_iota(%a: memref<1x512x256xf32>, %b: memref<1x256x512xf32>, %k: f32) {
  %two = arith.constant 2.0 : f32
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a : memref<1x512x256xf32>) outs(%b : memref<1x256x512xf32>) {
  ^bb0(%x: f32, %y: f32):
    %i = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i32
    %f = arith.sitofp %ii : i32 to f32
    %m = arith.mulf %x, %two : f32
    %p = arith.addf %m, %f : f32
    %q = arith.addf %p, %k : f32
    linalg.yield %q : f32
  }
  return
}

// -----

// In place (the same buffer read and written at the same index): one slice
// serves both operands.
// CHECK-LABEL: func.func @in_place(
// CHECK:       func.func private @in_place_task0(
// CHECK-COUNT-1: memref.subview
// CHECK-NOT:     memref.subview
// CHECK:         linalg.generic {{.+}} ins(%[[V:.+]] : {{.+}}) outs(%[[V]] :
func.func @in_place(%a: memref<4096x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4096x64xf32>) outs(%a : memref<4096x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// Pooling: the window loops index the input through compound expressions,
// so only batch and channel can split (flattened: the batch is short); the
// output does not index the window (reduction) loops, and the window operand
// is not sliced.
// CHECK-LABEL: func.func @max_pool(
// CHECK:       func.func private @max_pool_task0(
// CHECK:         scf.for %[[ROW:[^ ]+]] =
// CHECK:           memref.subview %{{.+}}[%[[ROW]], %[[LO:[^,]+]], 0, 0] [1, %{{.+}}, 114, 114]
// CHECK-NOT:       memref.subview %{{.+}} memref<3x3xf32>
// CHECK:           memref.subview %{{.+}}[%[[ROW]], %[[LO]], 0, 0] [1, %{{.+}}, 56, 56]
func.func @max_pool(%x: memref<2x64x114x114xf32>, %w: memref<3x3xf32>, %y: memref<2x64x56x56xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d4, d5)>, affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<2x64x114x114xf32>, memref<3x3xf32>) outs(%y : memref<2x64x56x56xf32>) {
  ^bb0(%v: f32, %u: f32, %acc: f32):
    %m = arith.maximumf %v, %acc : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// An output that does not index a parallel loop would be written by every
// task: such a loop is never split (here no other loop is left).
// CHECK-LABEL: func.func @broadcast_out
// CHECK:         linalg.generic
// CHECK-NOT:     call
func.func @broadcast_out(%a: memref<4096x64xf32>, %b: memref<64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4096x64xf32>) outs(%b : memref<64xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %r = arith.addf %x, %acc : f32
    linalg.yield %r : f32
  }
  return
}
