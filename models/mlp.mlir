// A two-layer perceptron with a dynamic batch, written in the bathy dialect.
// The README's first command runs it through shape inference and folding.
func.func @main(%x: tensor<?x16xf32>) -> tensor<*xf32> {
  %w1 = bathy.constant dense_resource<w1> : tensor<16x8xf32>
  %b1 = bathy.constant dense<0.5> : tensor<8xf32>
  %w2 = bathy.constant dense_resource<w2> : tensor<8x4xf32>
  %zero = bathy.constant dense<0.0> : tensor<f32>
  %0 = bathy.matmul %x, %w1 : (tensor<?x16xf32>, tensor<16x8xf32>) -> tensor<*xf32>
  %1 = bathy.add %0, %b1 : (tensor<*xf32>, tensor<8xf32>) -> tensor<*xf32>
  %2 = bathy.relu %1 : (tensor<*xf32>) -> tensor<*xf32>
  %3 = bathy.matmul %2, %w2 : (tensor<*xf32>, tensor<8x4xf32>) -> tensor<*xf32>
  %4 = bathy.add %3, %zero : (tensor<*xf32>, tensor<f32>) -> tensor<*xf32>
  %5 = bathy.softmax %4 {axis = 1 : i64} : (tensor<*xf32>) -> tensor<*xf32>
  return %5 : tensor<*xf32>
}
