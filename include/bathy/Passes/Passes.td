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

#endif // BATHY_PASSES_PASSES_TD
