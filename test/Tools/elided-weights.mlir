// Text IR printed without its weights (bathy-import's default elides blobs
// over 1 KiB) must not compile into a model of garbage weights.
// RUN: not bathy-opt %s --bathy-cpu-jit-pipeline 2>&1 | FileCheck %s
// CHECK: error: {{.*}}the weights of this constant (resource 'w') are not in the IR: text IR elides weights over 1 KiB unless printed with --keep-weights
module {
  func.func @main(%x: tensor<1x64xf32> {bathy.name = "x"}) -> (tensor<1x64xf32> {bathy.name = "y"}) {
    %w = bathy.constant dense_resource<w> : tensor<64x64xf32> loc("w")
    %y = bathy.matmul %x, %w : (tensor<1x64xf32>, tensor<64x64xf32>) -> tensor<1x64xf32>
    return %y : tensor<1x64xf32>
  }
}
