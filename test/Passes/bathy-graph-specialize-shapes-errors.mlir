// Names the function does not have, or given twice, are errors that list
// the valid ones (a typo used to be ignored).
// RUN: not bathy-opt %s -bathy-graph-specialize-shapes="dims=btach=2" 2>&1 | FileCheck %s --check-prefix=DIM
// RUN: not bathy-opt %s -bathy-graph-specialize-shapes="shapes=y=2x4" 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not bathy-opt %s -bathy-graph-specialize-shapes="dims=batch=2,batch=3" 2>&1 | FileCheck %s --check-prefix=TWICE
// DIM: dims: no input dim is named 'btach'; the dim_params are: batch
// SHAPE: shapes: no input is named 'y'; the inputs are: x
// TWICE: dims: 'batch' is given twice
func.func @main(%x: tensor<?x4xf32> {bathy.name = "x", bathy.dim_params = ["batch", ""]}) -> tensor<?x4xf32> {
  return %x : tensor<?x4xf32>
}
