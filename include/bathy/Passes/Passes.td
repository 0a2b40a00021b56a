//===- Passes.td - bathy's graph-level passes -----------------------------===//
//
// Every pass is declared here with its options and statistics; flags are
// named bathy-<group>-<name>.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_PASSES_PASSES_TD
#define BATHY_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def InferShapesPass : Pass<"bathy-graph-infer-shapes", "mlir::func::FuncOp"> {
  let summary = "Refines result types to the shapes the ops infer.";
  let description = [{
    Visits the function in order and replaces each bathy op's declared result
    types by the meet of the declared and the inferred types, so that static
    sizes flow from the inputs (or from constants folded into shape operands)
    through the graph. Repeats until no type changes, then updates the
    function's result types to match its return. A declared type that
    contradicts the inferred one is an error at that op.

    ```mlir
    // Before:
    %0 = bathy.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<?x?xf32>
    // After:
    %0 = bathy.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    ```
  }];
  let dependentDialects = ["::bathy::BathyDialect"];
  let statistics = [
    Statistic<"numRefined", "num-refined", "Number of result types refined">,
    Statistic<"numIterations", "num-iterations",
              "Number of sweeps until a fixed point">,
  ];
  let options = [
    Option<"maxIterations", "max-iterations", "unsigned", /*default=*/"16",
           "Give up (with an error) after this many sweeps without a fixed point">,
  ];
}

def SpecializeShapesPass : Pass<"bathy-graph-specialize-shapes", "mlir::func::FuncOp"> {
  let summary = "Makes a graph's dynamic input dims static for given sizes.";
  let description = [{
    Rewrites the argument types of each host function (not kernels) to the
    shapes given by input name (`bathy.name`) in `shapes`, or by ONNX
    dim_param (`bathy.dim_params`) in `dims`; with `default-dim` >= 0 any
    other dynamic input dim takes that size. A given shape that contradicts
    the argument's rank or one of its static dims is an error naming the
    input and the dim. The function type follows; `bathy-graph-simplify`
    afterwards folds the shape arithmetic the new sizes pin down.

    ```mlir
    // bathy-opt -bathy-graph-specialize-shapes="dims=batch=1,seq=32"
    // Before:
    func.func @main(%ids: tensor<?x?xi64> {bathy.dim_params = ["batch", "seq"]}) ...
    // After:
    func.func @main(%ids: tensor<1x32xi64> {bathy.dim_params = ["batch", "seq"]}) ...
    ```
  }];
  let options = [
    ListOption<"shapes", "shapes", "std::string",
               "Input shapes by name: NAME=D0xD1x... (a scalar: NAME=)">,
    ListOption<"dims", "dims", "std::string",
               "Sizes of dynamic dims by ONNX dim_param: PARAM=VALUE">,
    Option<"defaultDim", "default-dim", "int64_t", /*default=*/"-1",
           "Size of dynamic dims nothing else gives (-1: stay dynamic)">,
  ];
}

def SimplifyGraphPass : Pass<"bathy-graph-simplify", "mlir::func::FuncOp"> {
  let summary = "Alternates shape inference and canonicalization to a fixed point.";
  let description = [{
    Shape computations resolve in steps: inference makes a tensor static, a
    fold turns its `bathy.shape` into a constant, the constant makes a
    reshape target or a `bathy.range` length known, and inference refines the
    next ops. How many steps a graph needs depends on the graph (an exported
    transformer's mask takes four at batch 1), so this pass repeats one
    inference sweep-to-fixed-point (as `bathy-graph-infer-shapes`) and one
    greedy canonicalization until neither changes anything. Running out of
    rounds is not an error: the graph is still valid, only less static.

    ```mlir
    // Before:
    %s = bathy.shape %x : (tensor<1x32xf32>) -> tensor<2xi64>
    %r = bathy.dynamic_reshape %y, %s : (tensor<32xf32>, tensor<2xi64>) -> tensor<?x?xf32>
    // After:
    %r = bathy.reshape %y : (tensor<32xf32>) -> tensor<1x32xf32>
    ```
  }];
  let dependentDialects = ["::bathy::BathyDialect"];
  let statistics = [
    Statistic<"numRefined", "num-refined", "Number of result types refined">,
    Statistic<"numRounds", "num-rounds",
              "Number of inference + canonicalization rounds run">,
  ];
  let options = [
    Option<"maxRounds", "max-rounds", "unsigned", /*default=*/"16",
           "Stop after this many rounds even if the graph still changes">,
    Option<"maxIterations", "max-iterations", "unsigned", /*default=*/"16",
           "Inference sweeps per round before giving up with an error">,
  ];
}

def SymbolicDimsPass : Pass<"bathy-graph-symbolic-dims", "mlir::func::FuncOp"> {
  let summary = "Tracks dynamic sizes symbolically: static where known, equal where proven.";
  let description = [{
    Gives every dim a size expression `c * s1^e1 * ...` over symbols: one per
    ONNX dim_param name of the inputs (inputs sharing a name share the size),
    a fresh one for each size nothing explains. Shape values (small integer
    tensors from Shape, Gather, Concat, arithmetic) carry the expressions of
    their elements, so reshape targets read off shapes and Reshape's -1
    resolve exactly: `[batch, seq, 384]` reshaped to `[batch, seq, -1, 64]`
    has 6 heads for every batch and seq.

    Dims whose expression is a constant become static. Each broadcasting op
    (n-ary elementwise, `bathy.expand`, `bathy.matmul` batch dims) gets
    `bathy.equal_dims`: the result dims along which every operand size that
    is not a static 1 is the same expression. The CPU lowering reads those
    with identity maps and checks the other dynamic dims at run time for a
    size-1 operand that must broadcast.

    ```mlir
    // func @f(%x: tensor<?x?x384xf32> {bathy.dim_params = ["batch", "seq", ""]}, ...)
    %r = bathy.dynamic_reshape %x, %target  // target = [batch, seq, -1, 64]
        : (tensor<?x?x384xf32>, tensor<4xi64>) -> tensor<?x?x6x64xf32>
    %s = bathy.add %r, %r {bathy.equal_dims = array<i64: 0, 1, 2, 3>} ...
    ```
  }];
  let dependentDialects = ["::bathy::BathyDialect"];
  let statistics = [
    Statistic<"numRefined", "num-refined", "Number of result types made more static">,
    Statistic<"numAnnotated", "num-annotated", "Number of broadcasting ops annotated">,
  ];
}

def FuseAttentionPass : Pass<"bathy-fusion-attention", "mlir::func::FuncOp"> {
  let summary = "Replaces matmul/softmax attention chains by bathy.attention.";
  let description = [{
    Recognises scaled dot-product attention as exported models spell it out
    and replaces it by one `bathy.attention`, which the CPU runs as a
    flash-style kernel that never materialises the [Sq, Sk] scores:

    ```mlir
    %s = bathy.matmul %q, %kt      // kt = transpose(k) over the last two dims
    %c = bathy.mul %s, %scale      // or div; also on q or kt; optional
    %m = bathy.add %c, %mask       // optional; broadcasts up to the scores
    %p = bathy.softmax %m {axis = <last>}
    %o = bathy.matmul %p, %v
    // becomes
    %o = bathy.attention %q, %k, %v, %mask {scale = ...}
    ```

    Every intermediate (scores, scaled scores, masked scores, probabilities)
    must have no other user; scale factors must be scalar constants; head
    dims must be equal in both products (static, or proven by
    `bathy.equal_dims`) or 1 for k and v; leading (batch) dims broadcast in
    `bathy.attention` as in the matmuls; the mask's head, query and key dims
    may not enlarge the scores (a dynamic one not proven to fit is checked
    when the kernel runs). A scale
    applied after the mask is not matched (it would scale the mask). Keys
    and values repeated for grouped-query attention (unsqueeze → expand →
    reshape of the head dim) are read un-repeated, with `Hq / Hkv` query
    heads per key/value head. The masked_fill form `where(keep, scores, c)`
    (GPT-2 exports) becomes a 0/-inf mask built from `keep` with
    `masked_score = c`, which keeps its semantics exactly (rows with every
    key masked included). The new op is located at every node it replaces,
    in order.
  }];
  let dependentDialects = ["::bathy::BathyDialect"];
  let statistics = [
    Statistic<"numFused", "num-fused", "Number of attention chains fused">,
  ];
}

def FormFusionGroupsPass : Pass<"bathy-fusion-form-groups", "mlir::func::FuncOp"> {
  let summary = "Groups ops that should share a kernel into bathy.fusion_group regions.";
  let description = [{
    Visits the compute ops of a host function in order and decides, for each,
    whether it joins the group of one of its producers or starts a group of
    its own. Every compute op ends up in exactly one group; constants and
    host shape arithmetic stay outside. Patterns, each with a heuristic that
    can say no:
    - elementwise and broadcast ops join the group of the op they consume,
      also through transposes and reshapes that only re-index;
    - an elementwise epilogue (bias, activation, residual add, scale) joins a
      matmul or convolution group when it keeps the output's shape;
    - a softmax, log-softmax, layer or RMS norm, or reduction joins the
      elementwise chain that feeds it (its prologue), and its own elementwise
      epilogue of the same shape joins it.
    A producer is not joined when its value has other users (it would be
    materialized anyway), when the consumer broadcasts it to a larger shape,
    when the consumer also reads a value computed after the group begins
    (the group would depend on itself), or when the producer kind takes no
    epilogues (data movement, pooling). Each group's `rejected` attribute
    records, per input from another group, why it was not fused, and
    `kind` says what the group is.

    ```mlir
    // Before:
    %c = bathy.conv %x, %w, %b ...
    %r = bathy.relu %c ...
    // After:
    %r = bathy.fusion_group "conv" -> tensor<...> {
      %c = bathy.conv %x, %w, %b ...
      %0 = bathy.relu %c ...
      bathy.yield %0 : tensor<...>
    }
    ```
  }];
  let dependentDialects = ["::bathy::BathyDialect"];
  let statistics = [
    Statistic<"numGroups", "num-groups", "Number of fusion groups formed">,
    Statistic<"numFusedOps", "num-fused-ops",
              "Number of ops that joined another op's group">,
  ];
}

def OutlineKernelsPass : Pass<"bathy-kernel-outline", "mlir::ModuleOp"> {
  let summary = "Moves each compute op into a kernel function launched from the host.";
  let description = [{
    Establishes the kernel boundary: every bathy compute op in a host function
    becomes a private `func.func` marked `bathy.kernel` (named after the op,
    located at the op, and listing the ONNX nodes it implements in
    `bathy.nodes`), and the host calls it through `bathy.launch`. Constants
    and host-side shape arithmetic (small integer tensors) stay in the host
    (unless `shape-ops-in-host=false`, as the CPU JIT's execution plan
    needs).
    Small constants a kernel uses are copied into it so that code generation
    sees their values; weights are passed as arguments.

    ```mlir
    // Before:
    func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
      %0 = bathy.relu %x : (tensor<4xf32>) -> tensor<4xf32>
      return %0 : tensor<4xf32>
    }
    // After:
    func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
      %0 = bathy.launch @relu_0(%x) : (tensor<4xf32>) -> tensor<4xf32>
      return %0 : tensor<4xf32>
    }
    func.func private @relu_0(%arg0: tensor<4xf32>) -> tensor<4xf32>
        attributes {bathy.kernel, bathy.nodes = ["Relu_0"]} {
      %0 = bathy.relu %arg0 : (tensor<4xf32>) -> tensor<4xf32>
      return %0 : tensor<4xf32>
    }
    ```
  }];
  let dependentDialects = ["::bathy::BathyDialect", "::mlir::func::FuncDialect"];
  let statistics = [
    Statistic<"numKernels", "num-kernels", "Number of kernels outlined">,
    Statistic<"numHostOps", "num-host-ops",
              "Number of bathy ops left in host functions">,
  ];
  let options = [
    Option<"maxInlineConstantElements", "max-inline-constant-elements",
           "int64_t", /*default=*/"16",
           "Constants up to this many elements are copied into kernels">,
    Option<"shapeOpsInHost", "shape-ops-in-host", "bool", /*default=*/"true",
           "Leave host shape arithmetic in the host function; when false it "
           "becomes kernels too (kind `shape`: each run of shape ops up to "
           "the first op outside the run reading one of its values), so the "
           "host holds only constants and launches and can become an "
           "execution plan">,
  ];
}

def DedupKernelsPass : Pass<"bathy-kernel-dedup", "mlir::ModuleOp"> {
  let summary = "Launches of identical kernels share one kernel.";
  let description = [{
    Kernels with the same type and the same body (ops, attributes and
    constants; locations and the kernel's own name and provenance aside) are
    the same code: the repeated layers of a transformer, the many copies of
    one op in a wide graph. Each launch of a duplicate is pointed at the
    first such kernel and carries its own ONNX nodes (`bathy.nodes` on the
    launch), and the duplicates are erased, so each distinct kernel is
    lowered and compiled once. Run after `bathy-kernel-outline`.
  }];
  let statistics = [
    Statistic<"numMerged", "num-merged", "Number of kernels merged into an identical one">,
  ];
}

def LowerToLinalgPass : Pass<"bathy-lower-to-linalg", "mlir::ModuleOp"> {
  let summary = "Lowers the bathy ops inside kernels to linalg, tensor, arith and math.";
  let description = [{
    Rewrites every bathy op in `bathy.kernel` functions into upstream ops on
    tensors: elementwise ops into `linalg.generic` with broadcasting maps,
    matmul into a contraction, reductions, softmax and norms into
    reduction/map generics, 2-D convolution and pooling into linalg's named
    convolution ops, data movement into `tensor` ops, `bathy.attention` into
    a call of the runtime's fused kernel (`bathy_rt_attention[_masked]_f32`,
    operands passed as buffers through `bufferization.to_buffer`, the
    result a fresh buffer; other float types are converted to f32 around
    it). Host functions are left
    alone. An op without a CPU lowering yet is an error naming the op and its
    ONNX node.

    Broadcasting: static size-1 dims read index 0; dynamic dims listed in an
    op's `bathy.equal_dims` (bathy-graph-symbolic-dims) read with identity
    maps. Any other dynamic operand dim that meets a second size is checked
    at run time: when it is 1 and the result is not, the operand is first
    copied broadcast (scf.if), so a size-1 dim the types cannot show is
    still read correctly.
  }];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect", "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect", "::mlir::func::FuncDialect",
    "::mlir::cf::ControlFlowDialect"
  ];
  let statistics = [
    Statistic<"numLowered", "num-lowered", "Number of bathy ops lowered">,
  ];
  let options = [
    Option<"lowerHost", "host", "bool", /*default=*/"false",
           "Also lower host functions: launches become func.call and host "
           "shape arithmetic becomes tensor ops (whole-module JIT)">,
  ];
}

def FuseLinalgElementwisePass : Pass<"bathy-fuse-linalg-elementwise", "mlir::ModuleOp"> {
  let summary = "Fuses the elementwise linalg ops of each kernel into their consumers.";
  let description = [{
    Upstream elementwise fusion (a producer `linalg.generic` with only
    parallel loops is inlined into its consumer) restricted to producers with
    a single use, and never into an op marked `bathy.ukernel` (the runtime
    kernel replacing it reads its operands as they are).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def KernelDestinationsPass : Pass<"bathy-cpu-kernel-destinations", "mlir::ModuleOp"> {
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

def ExpandStridedCopiesPass : Pass<"bathy-cpu-expand-strided-copies", "mlir::ModuleOp"> {
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

def UseMicrokernelsPass : Pass<"bathy-cpu-microkernels", "mlir::ModuleOp"> {
  let summary = "Replaces marked contractions on buffers with runtime microkernel calls.";
  let description = [{
    The linalg lowering marks f32 matmuls (operands of rank 2 or more) and
    group-1 2-D convolutions with `bathy.ukernel`. After bufferization this
    pass replaces each marked `linalg.generic` whose operands still have the
    expected shape with a call to the runtime's packed, register-blocked,
    multithreaded kernel (`bathy_rt_matmul_f32`, `bathy_rt_conv2d_f32` in
    `runtime/cpu/kernels.h`), passing operands as unranked memrefs so any
    strided layout goes through. Like the generic, the kernel accumulates into
    the output. A marked op that no longer has the expected form is left as
    the (correct, slower) loop nest. An operand that a transpose (a
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
    Statistic<"numKept", "num-kept",
              "Number of marked ops left as loops (unexpected form)">,
    Statistic<"numFoldedTransposes", "num-folded-transposes",
              "Number of operand transposes replaced by strided views">,
    Statistic<"numFoldedPads", "num-folded-pads",
              "Number of convolution input paddings read in place">,
  ];
}

def ParallelizeLoopsPass : Pass<"bathy-cpu-parallelize", "mlir::ModuleOp"> {
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

def ParallelLaunchToLLVMPass : Pass<"bathy-cpu-parallel-launch-to-llvm", "mlir::ModuleOp"> {
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

def ApproximateMathPass : Pass<"bathy-cpu-approximate-math", "mlir::ModuleOp"> {
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

def CheckAllocationsPass : Pass<"bathy-cpu-check-allocations", "mlir::ModuleOp"> {
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

def LowerChecksPass : Pass<"bathy-cpu-lower-checks", "mlir::ModuleOp"> {
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

def SafeIntegerDivisionPass : Pass<"bathy-cpu-safe-integer-division", "mlir::ModuleOp"> {
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

def RuntimeAllocatorPass : Pass<"bathy-cpu-runtime-allocator", "mlir::ModuleOp"> {
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

#endif // BATHY_PASSES_PASSES_TD
