// RUN: bathy-opt %s -bathy-cpu-runtime-allocator | FileCheck %s

// The generic allocation functions become the runtime's.
// CHECK: llvm.func @bathy_rt_alloc(i64) -> !llvm.ptr
// CHECK: llvm.func @bathy_rt_free(!llvm.ptr)
// CHECK-LABEL: llvm.func @k(
// CHECK:         %[[P:.+]] = llvm.call @bathy_rt_alloc(%{{.+}}) : (i64) -> !llvm.ptr
// CHECK:         llvm.call @bathy_rt_free(%[[P]]) : (!llvm.ptr) -> ()
// CHECK-NOT:     _mlir_memref_to_llvm
llvm.func @_mlir_memref_to_llvm_alloc(i64) -> !llvm.ptr
llvm.func @_mlir_memref_to_llvm_free(!llvm.ptr)
llvm.func @k(%n: i64) {
  %p = llvm.call @_mlir_memref_to_llvm_alloc(%n) : (i64) -> !llvm.ptr
  llvm.call @_mlir_memref_to_llvm_free(%p) : (!llvm.ptr) -> ()
  llvm.return
}
