//===- entry_points.h - Runtime functions that generated code calls -------===//
//
// The one list of the CPU runtime's C entry points that bathy's code
// generator emits calls to. The compiler (codegen/CPU) and the runtime
// (runtime/cpu/kernels.cc, run_context.cc) both include it, so a renamed or
// removed entry point breaks the build instead of the link of a compiled
// model. Declarations and semantics are in kernels.h and run_context.h.
// Plain C string literals: this header has no dependencies.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_CPU_ENTRY_POINTS_H
#define BATHY_RUNTIME_CPU_ENTRY_POINTS_H

namespace bathy::rt::entry {

// Run-time checks and tensor memory (run_context.h).
inline constexpr char kFail[] = "bathy_rt_fail";
inline constexpr char kAlloc[] = "bathy_rt_alloc";
inline constexpr char kFree[] = "bathy_rt_free";

// Parallel loops and threads (kernels.h).
inline constexpr char kParallelFor[] = "bathy_rt_parallel_for";
inline constexpr char kSetNumThreads[] = "bathy_rt_set_num_threads";

// Constant weights the GEMM may pack once (kernels.h).
inline constexpr char kRegisterConstant[] = "bathy_rt_register_constant";
inline constexpr char kUnregisterConstant[] = "bathy_rt_unregister_constant";

// memref.copy of buffers with any layout: the name MLIR's memref-to-LLVM
// lowering calls (use-generic-functions), provided by bathy_rt_memref_copy.
inline constexpr char kMemrefCopy[] = "memrefCopy";

// Microkernels (kernels.h).
inline constexpr char kMatmulF32[] = "bathy_rt_matmul_f32";
inline constexpr char kConv2dF32[] = "bathy_rt_conv2d_f32";
inline constexpr char kDwConv2dF32[] = "bathy_rt_dwconv2d_f32";
inline constexpr char kAttentionF32[] = "bathy_rt_attention_f32";
inline constexpr char kAttentionMaskedF32[] = "bathy_rt_attention_masked_f32";

// Generated code calls the functions above through an import table: the
// shared object of a compiled model defines kImportCount (an int64) and
// kImportTable, that many {const char *name; void *address} pairs, one per
// function it uses. The loader (code.h) fills each address with the
// runtime's function of that name, so the code has no undefined symbols of
// ours and runs against the runtime that loaded it.
inline constexpr char kImportTable[] = "bathy_import_table";
inline constexpr char kImportCount[] = "bathy_import_count";

// Each kernel's entry point in that shared object: kEntryPrefix + kernel
// name, taking its arguments packed (rt::KernelEntry).
inline constexpr char kEntryPrefix[] = "_mlir__mlir_ciface_";

} // namespace bathy::rt::entry

#endif // BATHY_RUNTIME_CPU_ENTRY_POINTS_H
