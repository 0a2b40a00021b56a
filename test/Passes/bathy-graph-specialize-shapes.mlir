// RUN: bathy-opt %s -split-input-file -bathy-graph-specialize-shapes="shapes=ids=2x8 dims=seq=8" | FileCheck %s
// RUN: bathy-opt %s -split-input-file -bathy-graph-specialize-shapes="dims=batch=1,seq=32" | FileCheck %s --check-prefix=DIMS
// RUN: bathy-opt %s -split-input-file -bathy-graph-specialize-shapes="default-dim=4" | FileCheck %s --check-prefix=DEFAULT
// RUN: not bathy-opt %s -split-input-file -bathy-graph-specialize-shapes="shapes=ids=2x8x1" 2>&1 | FileCheck %s --check-prefix=RANK
// RUN: not bathy-opt %s -split-input-file -bathy-graph-specialize-shapes="shapes=pos=8x17" 2>&1 | FileCheck %s --check-prefix=STATIC
// RUN: not bathy-opt %s -split-input-file -bathy-graph-specialize-shapes="shapes=ids=2xfoo" 2>&1 | FileCheck %s --check-prefix=BAD

// A shape by input name; the second input's dynamic dim by its dim_param;
// the result of a returned input follows.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%{{.+}}: tensor<2x8xi64> {{.*}}, %{{.+}}: tensor<8x16xf32> {{.*}}) -> tensor<2x8xi64>
// Only dim_params: the batch and seq of both inputs.
// DIMS-LABEL: func.func @main
// DIMS-SAME: (%{{.+}}: tensor<1x32xi64> {{.*}}, %{{.+}}: tensor<32x16xf32> {{.*}}) -> tensor<1x32xi64>
// Every dynamic dim takes the default.
// DEFAULT-LABEL: func.func @main
// DEFAULT-SAME: (%{{.+}}: tensor<4x4xi64> {{.*}}, %{{.+}}: tensor<4x16xf32> {{.*}}) -> tensor<4x4xi64>
// RANK: error: input 'ids' must have rank 2, got 3
// STATIC: error: input 'pos' dim 1 must be 16, got 17
// BAD: shapes: 'ids=2xfoo' has a size that is not an integer >= 0
func.func @main(%ids: tensor<?x?xi64> {bathy.name = "ids", bathy.dim_params = ["batch", "seq"]},
                %pos: tensor<?x16xf32> {bathy.name = "pos", bathy.dim_params = ["seq", ""]}) -> tensor<?x?xi64> {
  return %ids : tensor<?x?xi64>
}

