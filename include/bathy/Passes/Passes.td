//===- Passes.td - graph, fusion and kernel passes ------------------------===//
//
// The target-neutral passes over the bathy dialect: graph clean-up and shapes
// (bathy-graph-*), fusion groups (bathy-fusion-*), and kernels outlined from
// the host and rewritten in bathy ops (bathy-kernel-*). Every pass is declared
// here with its options and statistics; flags are named bathy-<layer>-<name>,
// the class <Layer><Name>Pass, the file passes/<Layer><Name>.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_PASSES_PASSES_TD
#define BATHY_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def GraphInferShapesPass : Pass<"bathy-graph-infer-shapes", "mlir::func::FuncOp"> {
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

def GraphSpecializeShapesPass : Pass<"bathy-graph-specialize-shapes", "mlir::func::FuncOp"> {
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

def GraphSimplifyPass : Pass<"bathy-graph-simplify", "mlir::func::FuncOp"> {
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

def GraphSymbolicDimsPass : Pass<"bathy-graph-symbolic-dims", "mlir::func::FuncOp"> {
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

def FusionAttentionPass : Pass<"bathy-fusion-attention", "mlir::func::FuncOp"> {
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

def FusionFormGroupsPass : Pass<"bathy-fusion-form-groups", "mlir::func::FuncOp"> {
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

def KernelOutlinePass : Pass<"bathy-kernel-outline", "mlir::ModuleOp"> {
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

def KernelDedupPass : Pass<"bathy-kernel-dedup", "mlir::ModuleOp"> {
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

def KernelConvPoolTo2DPass : Pass<"bathy-kernel-conv-pool-to-2d", "mlir::ModuleOp"> {
  let summary = "Rewrites 1-D and 3-D convolution and pooling in kernels as 2-D ops.";
  let description = [{
    Code generation lowers 2-D float convolution and pooling only; this pass
    rewrites the other windowed ops of every `bathy.kernel` function into
    them, staying in the bathy dialect: a 1-D convolution or pooling is the
    2-D one with a height of 1 (unsqueeze, op, squeeze); a 3-D convolution
    with static weights and static channel and spatial dims is a sum of 2-D
    convolutions, one per kernel depth, each over the input planes that tap
    it (a strided slice along D, transposed into the batch); a 3-D pooling
    is separable, two 2-D poolings around reshapes (the average's divisor is
    a product of per-dim counts); integer max pooling of 8 or 16 bits runs
    on f32 between casts (exact). Ops it cannot rewrite are left for
    bathy-linalg-from-bathy to report. Runs after outlining, before
    lowering, so fusion sees the ops as the model wrote them.
  }];
}

#endif // BATHY_PASSES_PASSES_TD
