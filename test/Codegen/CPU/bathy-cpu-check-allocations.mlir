// RUN: bathy-opt %s -bathy-cpu-check-allocations | FileCheck %s

// Each dynamic size must be >= 0, and sizes x element bytes must not
// overflow (mului_extended's high half, or a low half past INT64_MAX).
// CHECK-LABEL: func.func @dynamic(
// CHECK-SAME:      %[[M:.+]]: index, %[[N:.+]]: index)
// CHECK-DAG:     %[[M64:.+]] = arith.index_cast %[[M]] : index to i64
// CHECK-DAG:     %[[N64:.+]] = arith.index_cast %[[N]] : index to i64
// CHECK:         %[[P0:.+]] = arith.cmpi sge, %[[M64]]
// CHECK:         bathy.check %[[P0]], "node 'fill' (ConstantOfShape): dynamic size 0 of a ?x3x?xf32 result is negative: {0}"(%[[M64]] : i64)
// CHECK:         bathy.check %{{.+}}, "node 'fill' (ConstantOfShape): dynamic size 1 of a ?x3x?xf32 result is negative: {0}"(%[[N64]] : i64)
// CHECK:         %[[BYTES:.+]] = arith.constant 12 : i64
// CHECK:         %{{.+}}, %{{.+}} = arith.mului_extended %[[BYTES]], %[[M64]] : i64
// CHECK:         arith.mului_extended
// CHECK:         bathy.check %{{.+}}, "node 'fill' (ConstantOfShape): a ?x3x?xf32 result with dynamic sizes [{0}, {1}] has too many bytes to allocate"(%[[M64]], %[[N64]] : i64, i64)
// CHECK:         memref.alloc(%[[M]], %[[N]])
func.func @dynamic(%m: index, %n: index) -> memref<?x3x?xf32> {
  %0 = memref.alloc(%m, %n) : memref<?x3x?xf32> loc(#fill)
  return %0 : memref<?x3x?xf32>
}

// Static allocations need no check.
// CHECK-LABEL: func.func @static(
// CHECK-NOT:     bathy.check
func.func @static() -> memref<4x3xf32> {
  %0 = memref.alloc() : memref<4x3xf32>
  return %0 : memref<4x3xf32>
}

#fill = loc("fill"("ConstantOfShape"))
