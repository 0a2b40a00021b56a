// RUN: bathy-opt %s -split-input-file -bathy-cpu-lower-checks | FileCheck %s

// A check becomes a call of the runtime's bathy_rt_fail under the negated
// condition; values are widened to i64, missing ones passed as 0; equal
// messages share one string.
// CHECK-DAG:   llvm.mlir.global private constant @[[$M0:__bathy_check_[0-9]+]]("node 'mm' (MatMul): inner dims differ: {0} vs {1}\00")
// CHECK-DAG:   llvm.mlir.global private constant @[[$M1:__bathy_check_[0-9]+]]("index out of range\00")
// CHECK-LABEL: func.func @sizes(
// CHECK-SAME:      %[[A:.+]]: index, %[[B:.+]]: index, %[[C:.+]]: i32)
// CHECK:         %[[OK:.+]] = arith.cmpi eq, %[[A]], %[[B]]
// CHECK:         %[[BAD:.+]] = arith.xori %[[OK]], %true
// CHECK:         scf.if %[[BAD]] {
// CHECK:           %[[MSG:.+]] = llvm.mlir.addressof @[[$M0]]
// CHECK-DAG:       %[[A64:.+]] = arith.index_cast %[[A]] : index to i64
// CHECK-DAG:       %[[B64:.+]] = arith.index_cast %[[B]] : index to i64
// CHECK:           call @bathy_rt_fail(%[[MSG]], %[[A64]], %[[B64]], %{{.+}})
// CHECK:         }
// CHECK:         scf.if
// CHECK:           %[[C64:.+]] = arith.extsi %[[C]] : i32 to i64
// CHECK:           call @bathy_rt_fail(%{{.+}}, %[[C64]], %{{.+}}, %{{.+}})
// CHECK-NOT:     bathy.check
// CHECK-NOT:     cf.assert
// CHECK:         scf.if
// CHECK:           llvm.mlir.addressof @[[$M1]]
// CHECK:       func.func private @bathy_rt_fail(!llvm.ptr, i64, i64, i64)
func.func @sizes(%a: index, %b: index, %c: i32) {
  %ok = arith.cmpi eq, %a, %b : index
  bathy.check %ok, "node 'mm' (MatMul): inner dims differ: {0} vs {1}" (%a, %b : index, index)
  %pos = arith.constant 0 : i32
  %ok2 = arith.cmpi sge, %c, %pos : i32
  bathy.check %ok2, "node 'mm' (MatMul): inner dims differ: {0} vs {1}" (%c : i32)
  cf.assert %ok2, "index out of range"
  return
}
