// The bounds-checked mode: a kernel that reads past its buffer (here one
// written by hand; bathy's lowering checks every index it is given) stops
// the run with an error under --check-bounds, instead of returning what
// lies beyond the buffer.
// RUN: not bathy-run %s --check-bounds 2>&1 | FileCheck %s
// RUN: bathy-run %s | FileCheck %s --check-prefix=UNCHECKED
// CHECK: error: {{.*}}out-of-bounds
// UNCHECKED: output 'y': f32 [1]
module {
  func.func @main(%x: tensor<4xf32> {bathy.name = "x"}) -> (tensor<1xf32> {bathy.name = "y"}) {
    %y = bathy.launch @past_the_end(%x) : (tensor<4xf32>) -> tensor<1xf32>
    return %y : tensor<1xf32>
  }
  func.func private @past_the_end(%x: tensor<4xf32>) -> tensor<1xf32> attributes {bathy.kernel} {
    %i = arith.constant 5 : index
    %v = tensor.extract %x[%i] : tensor<4xf32>
    %y = tensor.from_elements %v : tensor<1xf32>
    return %y : tensor<1xf32>
  }
}
