// RUN: bathy-opt %s -split-input-file -bathy-cpu-expand-strided-copies | FileCheck %s

// A copy into a strided view (padding) becomes linalg.copy (then loops).
// CHECK-LABEL: func.func @into_subview
// CHECK: %[[V:.+]] = memref.subview
// CHECK-NEXT: linalg.copy ins(%{{.+}} : memref<1x3x8x8xf32>) outs(%[[V]] : memref<1x3x8x8xf32, strided<[300, 100, 10, 1], offset: 11>>)
// CHECK-NOT: memref.copy
func.func @into_subview(%x: memref<1x3x8x8xf32>, %p: memref<1x3x10x10xf32>) {
  %v = memref.subview %p[0, 0, 1, 1] [1, 3, 8, 8] [1, 1, 1, 1] : memref<1x3x10x10xf32> to memref<1x3x8x8xf32, strided<[300, 100, 10, 1], offset: 11>>
  memref.copy %x, %v : memref<1x3x8x8xf32> to memref<1x3x8x8xf32, strided<[300, 100, 10, 1], offset: 11>>
  return
}

// -----

// Contiguous copies stay memref.copy (they become memcpy).
// CHECK-LABEL: func.func @contiguous
// CHECK: memref.copy
// CHECK-NOT: linalg.copy
func.func @contiguous(%x: memref<4x8xf32>, %y: memref<4x8xf32>) {
  memref.copy %x, %y : memref<4x8xf32> to memref<4x8xf32>
  return
}
