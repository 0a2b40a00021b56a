// RUN: bathy-opt %s -split-input-file -verify-diagnostics -bathy-cpu-parallel-launch-to-llvm | FileCheck %s

// A launch on LLVM-dialect input: scalars of several types in the record,
// the task and launch made internal (inlined into the trampoline).
// CHECK-LABEL: llvm.func internal @t(
// CHECK:       llvm.func internal @t_launch(%[[N:[^:]+]]: i64, %[[P:[^:]+]]: !llvm.ptr, %[[F:[^:]+]]: f32)
// CHECK:         %[[REC:.+]] = llvm.alloca %{{.+}} x !llvm.struct<(ptr, f32)>
// CHECK:         llvm.store %[[P]], %{{.+}} : !llvm.ptr, !llvm.ptr
// CHECK:         llvm.store %[[F]], %{{.+}} : f32, !llvm.ptr
// CHECK:         %[[G:.+]] = llvm.mlir.constant(8 : i64) : i64
// CHECK:         llvm.call @bathy_rt_parallel_for(%[[N]], %[[G]], %{{.+}}, %[[REC]])
// CHECK-NOT:     bathy.parallel
// CHECK:       llvm.func internal @t_launch_trampoline(%[[R:[^:]+]]: !llvm.ptr, %[[B:[^:]+]]: i64, %[[E:[^:]+]]: i64)
// CHECK:         %[[LP:.+]] = llvm.load %{{.+}} : !llvm.ptr -> !llvm.ptr
// CHECK:         %[[LF:.+]] = llvm.load %{{.+}} : !llvm.ptr -> f32
// CHECK:         llvm.call @t(%[[B]], %[[E]], %[[LP]], %[[LF]])
llvm.func @t(%b: i64, %e: i64, %p: !llvm.ptr, %f: f32) {
  llvm.return
}
llvm.func @t_launch(i64, !llvm.ptr, f32) attributes {bathy.parallel_task = @t, bathy.parallel_grain = 8 : i64}

// -----

// A launch whose task takes other arguments is a bug upstream: reported.
llvm.func @u(%b: i64, %e: i64) {
  llvm.return
}
// expected-error @+1 {{malformed parallel launch (task @u)}}
llvm.func @u_launch(i64, !llvm.ptr) attributes {bathy.parallel_task = @u, bathy.parallel_grain = 8 : i64}
