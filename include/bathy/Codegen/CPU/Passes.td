//===- Passes.td - CPU code generation passes -----------------------------===//
//
// The CPU target's passes, from bathy kernels and linalg on tensors down to
// the LLVM dialect and the runtime's entry points. Flags bathy-cpu-<name>,
// classes Cpu<Name>Pass, files codegen/CPU/Cpu<Name>.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_CODEGEN_CPU_PASSES_TD
#define BATHY_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def CpuAttentionToRuntimePass : Pass<"bathy-cpu-attention-to-runtime", "mlir::ModuleOp"> {
  let summary = "Lowers bathy.attention to a call of the CPU runtime's fused kernel.";
  let description = [{
    `bathy.attention` is target-neutral kernel IR that each target lowers
    before bathy-linalg-from-bathy. On the CPU it becomes a call of the
    runtime's flash-style kernel (`bathy_rt_attention[_masked]_f32`,
    `runtime/cpu/entry_points.h`): operands are passed as buffers through
    `bufferization.to_buffer` (read only, any layout), the result is a fresh
    buffer turned back into a tensor; head counts and mask dims the types
    leave open are checked at run time (`cf.assert`). Other float types run
    the f32 kernel between `bathy.cast`s, which the linalg lowering then
    lowers like any other.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect", "::mlir::func::FuncDialect",
    "::mlir::cf::ControlFlowDialect"
  ];
}

def CpuFuseElementwisePass : Pass<"bathy-cpu-fuse-elementwise", "mlir::ModuleOp"> {
  let summary = "Fuses the elementwise linalg ops of each kernel into their consumers.";
  let description = [{
    Upstream elementwise fusion (a producer `linalg.generic` with only
    parallel loops is inlined into its consumer) restricted to producers with
    a single use, and never into or out of an op a runtime kernel computes
    (`codegen/CPU/MicrokernelMatchers.h`): bathy-cpu-microkernels replaces
    those after bufferization and reads their operands as they are.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def CpuKernelDestinationsPass : Pass<"bathy-cpu-kernel-destinations", "mlir::ModuleOp"> {
  let summary = "Kernels with static-size results write them into buffers the caller passes.";
  let description = [{
    For the execution plan's memory planner: every bufferized `bathy.kernel`
    function whose results all have static shapes takes one more argument
    per result, the buffer to write it into (upstream's
    buffer-results-to-out-params; the result's allocation becomes that
    argument where the result is one, else the result is copied into it),
    and is marked `bathy.destinations`. The executor passes those buffers
    from the plan's arena. Kernels with a dynamically shaped result keep
    returning buffers they allocate. Run after bufferization, before buffer
    deallocation.
  }];
  let statistics = [
    Statistic<"numConverted", "num-converted",
              "Number of kernels that now write into destinations">,
  ];
}

def CpuExpandStridedCopiesPass : Pass<"bathy-cpu-expand-strided-copies", "mlir::ModuleOp"> {
  let summary = "Turns memref.copy between non-contiguous buffers into loops.";
  let description = [{
    `finalize-memref-to-llvm` lowers a copy between contiguous buffers to
    memcpy but any other (padding into a subview, slices) to a call of the
    runner library's generic element-by-element `memrefCopy`. This pass
    rewrites those copies as `linalg.copy`, which becomes loops that LLVM
    vectorizes. Run after bufferization, before linalg is lowered to loops.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
  let statistics = [
    Statistic<"numExpanded", "num-expanded", "Number of copies turned into loops">,
  ];
}

def CpuMicrokernelsPass : Pass<"bathy-cpu-microkernels", "mlir::ModuleOp"> {
  let summary = "Replaces contractions on buffers with runtime microkernel calls.";
  let description = [{
    Recognises, from their structure alone (`codegen/CPU/MicrokernelMatchers.h`:
    f32 operands, iterator types, indexing maps, a multiply-accumulate body),
    the `linalg.generic` ops a runtime kernel computes exactly: batched
    matmuls with operands of rank 2 or more (size-1 batch dims broadcast),
    2-D convolutions ([n, f, c, kh, kw, oh, ow] loops, strides and dilations
    read off the input's map) and depthwise 2-D convolutions. After
    bufferization each becomes a call to the runtime's packed,
    register-blocked, multithreaded kernel (`bathy_rt_matmul_f32`,
    `bathy_rt_conv2d_f32`, `bathy_rt_dwconv2d_f32` in `runtime/cpu/kernels.h`,
    named in `runtime/cpu/entry_points.h`), passing operands as unranked
    memrefs so any strided layout goes through. Like the generic, the kernel
    accumulates into the output. Any other generic stays the (correct,
    slower) loop nest. An operand that a transpose (a
    `linalg.transpose` or a permuting copy generic) writes into a fresh
    buffer used nowhere else is read through a `memref.transpose` view of the
    transpose's source instead, and the copy is dropped, provided nothing in
    between writes the source. Likewise a convolution input the lowering
    zero-padded (a fresh buffer filled with zero, the input copied into its
    interior, read only by the convolution) is passed unpadded with its
    top/left padding: the runtime kernels read zeros outside the input.
  }];
  let dependentDialects = [
    "::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect"
  ];
  let statistics = [
    Statistic<"numCalls", "num-calls", "Number of microkernel calls created">,
    Statistic<"numFoldedTransposes", "num-folded-transposes",
              "Number of operand transposes replaced by strided views">,
    Statistic<"numFoldedPads", "num-folded-pads",
              "Number of convolution input paddings read in place">,
  ];
}

def CpuParallelizePass : Pass<"bathy-cpu-parallelize", "mlir::ModuleOp"> {
  let summary = "Splits each top-level linalg op on buffers across the runtime's threads.";
  let description = [{
    For every linalg op at the top level of a function (after bufferization
    and microkernel selection), picks the two outermost parallel loops (of
    more than one iteration) that every operand indexes plainly (a bare `dK`
    result) and every output indexes, moves the op into a task function
    `@<func>_task<N>(%begin, %end, captures...)` that runs it on the range
    [begin, end) of their flattened space (one row of the outer loop at a
    time; operands become subviews, `linalg.index` is offset), and replaces
    the op by a call of the declaration `@<func>_task<N>_launch(%size,
    captures...)` carrying `bathy.parallel_task` (the task) and
    `bathy.parallel_grain` (the fewest iterations worth a thread). Two loops
    keep batch-1 runs parallel when the outer one is the batch.
    `bathy-cpu-parallel-launch-to-llvm` gives the launch its body once
    everything is in the LLVM dialect. Ops with less
    estimated work than `min-work` stay serial, as do ops with no such loop.
  }];
  let options = [
    Option<"minWork", "min-work", "int64_t", /*default=*/"32768",
           "Estimated scalar operations below which an op stays serial; "
           "also the least work handed to one task">,
  ];
  let dependentDialects = [
    "::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect",
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect"
  ];
  let statistics = [
    Statistic<"numParallel", "num-parallel", "Number of ops split across threads">,
    Statistic<"numSerial", "num-serial", "Number of top-level linalg ops left serial">,
  ];
}

def CpuParallelLaunchToLLVMPass : Pass<"bathy-cpu-parallel-launch-to-llvm", "mlir::ModuleOp"> {
  let summary = "Defines each parallel launch as a call of bathy_rt_parallel_for.";
  let description = [{
    Runs on the LLVM dialect. Each body-less `llvm.func` carrying
    `bathy.parallel_task` gets a body that stores its arguments (after the
    iteration count) in a stack record and calls
    `bathy_rt_parallel_for(size, grain, trampoline, record)`; the trampoline,
    generated alongside, reads the record back and calls the task function
    with its [begin, end) slice.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def CpuApproximateMathPass : Pass<"bathy-cpu-approximate-math", "mlir::ModuleOp"> {
  let summary = "Replaces f32 exp, log, tanh and erf with inline polynomials.";
  let description = [{
    `convert-math-to-libm` turns these into calls of the C library, one
    element at a time: LLVM cannot vectorize a loop around them, and they
    dominate softmax, GELU and SiLU kernels. This pass applies MLIR's
    polynomial approximations (f32 and vectors of f32; exp, expm1, log,
    log1p, log2, tanh, erf), which are plain arithmetic that vectorizes.
    Other element types keep the library calls.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def CpuCheckAllocationsPass : Pass<"bathy-cpu-check-allocations", "mlir::ModuleOp"> {
  let summary = "Checks the run-time sizes of every dynamically sized allocation.";
  let description = [{
    A `memref.alloc` with dynamic sizes lowers to `sizes × element size`
    bytes computed with wrapping arithmetic: a hostile shape ([3, 2^62+1],
    a negative dim) would allocate a tiny buffer that the kernel then writes
    past. Before each such allocation this pass adds a `bathy.check` that
    every dynamic size is non-negative and that the byte count does not
    overflow (reported with the op's ONNX node and the sizes). The runtime's
    allocator then checks the byte count against the memory limit. Run
    after bufferization, before `bathy-cpu-lower-checks`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::bathy::BathyDialect"];
  let statistics = [
    Statistic<"numChecked", "num-checked", "Number of allocations checked">,
  ];
}

def CpuLowerChecksPass : Pass<"bathy-cpu-lower-checks", "mlir::ModuleOp"> {
  let summary = "Turns bathy.check and cf.assert into calls of the runtime's bathy_rt_fail.";
  let description = [{
    Each `bathy.check %ok, "message" (%values)` becomes `scf.if` on the
    negated condition around a call of `bathy_rt_fail(message, v0, v1, v2)`
    (values widened to i64, the message a private LLVM string constant).
    `cf.assert` (written by upstream runtime verification in the
    bounds-checked mode) becomes the same call with its message. The
    runtime's `bathy_rt_fail` ends the run with that message: it does not
    return. Run before SCF is lowered to control flow.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::scf::SCFDialect", "::mlir::LLVM::LLVMDialect"
  ];
  let statistics = [
    Statistic<"numChecks", "num-checks", "Number of checks lowered">,
  ];
}

def CpuSafeIntegerDivisionPass : Pass<"bathy-cpu-safe-integer-division", "mlir::ModuleOp"> {
  let summary = "Gives integer division by 0 and INT_MIN / -1 a defined result.";
  let description = [{
    On x86 an integer division by zero, or of the smallest signed value by
    -1, raises SIGFPE, and in LLVM both are undefined behaviour. Every
    `arith` integer division or remainder whose divisor is not a constant
    other than 0 and -1 gets a divisor that cannot trap and a result
    selected as follows: `x / 0 = 0` and `x % 0 = 0` (NumPy's results);
    `x / -1 = -x` with wrapping (so INT_MIN / -1 = INT_MIN), `x % -1 = 0`.
    Elementwise Div and Mod have these semantics, and the constant folder
    agrees with them. Run before arith is converted to LLVM.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let statistics = [
    Statistic<"numGuarded", "num-guarded", "Number of divisions guarded">,
  ];
}

def CpuRuntimeAllocatorPass : Pass<"bathy-cpu-runtime-allocator", "mlir::ModuleOp"> {
  let summary = "Kernel buffers come from the runtime's allocator.";
  let description = [{
    Runs on the LLVM dialect, after `finalize-memref-to-llvm` with
    `use-generic-functions`: calls of `_mlir_memref_to_llvm_alloc` and
    `_mlir_memref_to_llvm_free` become calls of the runtime's
    `bathy_rt_alloc` and `bathy_rt_free`, which count buffers against the
    memory limit, stop the run when one does not fit, and free what a
    failed run left.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // BATHY_CODEGEN_CPU_PASSES_TD
