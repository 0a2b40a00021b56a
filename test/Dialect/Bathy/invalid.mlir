// One case per verifier and type-inference message of the bathy dialect.
// RUN: bathy-opt %s -split-input-file -verify-diagnostics

func.func @binary_element_types(%a: tensor<4xf32>, %b: tensor<4xf16>) {
  // expected-error@+2 {{'bathy.add' op operands have different element types ('f32' and 'f16')}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.add %a, %b : (tensor<4xf32>, tensor<4xf16>) -> tensor<4xf32>
  return
}

// -----

func.func @binary_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error@+2 {{'bathy.mul' op operand shapes 2x3 and 4 are not broadcast-compatible}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.mul %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @where_broadcast(%c: tensor<5xi1>, %a: tensor<2x3xf32>, %b: tensor<3xf32>) {
  // expected-error@+2 {{'bathy.where' op operand shapes 5 and 2x3 are not broadcast-compatible}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.where %c, %a, %b : (tensor<5xi1>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @result_contradicts_inference(%a: tensor<2x4xf32>, %b: tensor<4xf32>) {
  // expected-error@+2 {{'bathy.add' op inferred type(s) 'tensor<2x4xf32>' are incompatible with return type(s) of operation 'tensor<3x4xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.add %a, %b : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @float_only(%a: tensor<4xi32>) {
  // expected-error@+1 {{'bathy.exp' op operand #0 must be tensor of floating-point values}}
  %0 = bathy.exp %a : (tensor<4xi32>) -> tensor<4xi32>
  return
}

// -----

func.func @gelu_approximate(%a: tensor<4xf32>) {
  // expected-error@+1 {{'bathy.gelu' op approximate must be "none" or "tanh", not "fast"}}
  %0 = bathy.gelu %a {approximate = "fast"} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @clip_bounds(%a: tensor<4xf32>) {
  // expected-error@+1 {{'bathy.clip' op bounds must not be NaN}}
  %0 = bathy.clip %a {min = 0x7FF8000000000000 : f64, max = 0.0} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @constant_of_shape_value(%s: tensor<2xi64>) {
  // expected-error@+2 {{'bathy.constant_of_shape' op value must have exactly one element, not 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.constant_of_shape %s {value = dense<[0.0, 1.0]> : tensor<2xf32>} : (tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @constant_of_shape_negative() {
  %s = bathy.constant dense<[2, -3]> : tensor<2xi64>
  // expected-error@+2 {{'bathy.constant_of_shape' op shape has negative dim -3}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.constant_of_shape %s {value = dense<0.0> : tensor<1xf32>} : (tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @range_types(%a: tensor<i64>, %b: tensor<i32>) {
  // expected-error@+2 {{'bathy.range' op start, limit and delta must have one element type}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.range %a, %b, %a : (tensor<i64>, tensor<i32>, tensor<i64>) -> tensor<?xi64>
  return
}

// -----

func.func @range_scalars(%a: tensor<i64>, %b: tensor<1xi64>) {
  // expected-error@+2 {{'bathy.range' op start, limit and delta must be scalars (rank 0)}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.range %a, %b, %a : (tensor<i64>, tensor<1xi64>, tensor<i64>) -> tensor<?xi64>
  return
}

// -----

func.func @range_beyond_int64() {
  %min = bathy.constant dense<-9223372036854775808> : tensor<i64>
  %max = bathy.constant dense<9223372036854775807> : tensor<i64>
  %one = bathy.constant dense<1> : tensor<i64>
  // expected-error@+2 {{'bathy.range' op the range from -9223372036854775808 to 9223372036854775807 has too many elements}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.range %min, %max, %one : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return
}

// -----

func.func @range_zero_delta() {
  %a = bathy.constant dense<0> : tensor<i64>
  %b = bathy.constant dense<5> : tensor<i64>
  // expected-error@+2 {{'bathy.range' op delta is zero}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.range %a, %b, %a : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return
}

// -----

func.func @matmul_element_types(%a: tensor<2x3xf32>, %b: tensor<3x4xf16>) {
  // expected-error@+2 {{'bathy.matmul' op operands have different element types ('f32' and 'f16')}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.matmul %a, %b : (tensor<2x3xf32>, tensor<3x4xf16>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_scalar(%a: tensor<f32>, %b: tensor<3x4xf32>) {
  // expected-error@+2 {{'bathy.matmul' op operands must have rank >= 1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.matmul %a, %b : (tensor<f32>, tensor<3x4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @matmul_contracting(%a: tensor<2x3xf32>, %b: tensor<5x4xf32>) {
  // expected-error@+2 {{'bathy.matmul' op contracting dims differ: lhs has 3 columns but rhs has 5 rows}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.matmul %a, %b : (tensor<2x3xf32>, tensor<5x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @matmul_batch(%a: tensor<2x2x3xf32>, %b: tensor<5x3x4xf32>) {
  // expected-error@+2 {{'bathy.matmul' op batch dims 2 and 5 are not broadcast-compatible}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.matmul %a, %b : (tensor<2x2x3xf32>, tensor<5x3x4xf32>) -> tensor<2x2x4xf32>
  return
}

// -----

func.func @conv_strides_length(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+2 {{'bathy.conv' op strides has 1 entries but 2 are needed for 2 spatial dims}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.conv %x, %w {strides = array<i64: 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_strides_value(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+2 {{'bathy.conv' op strides must be >= 1, got 0}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.conv %x, %w {strides = array<i64: 0, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_window(%x: tensor<1x3x4x4xf32>, %w: tensor<4x3x7x7xf32>) {
  // expected-error@+2 {{'bathy.conv' op window of size 7 does not fit spatial dim 0 of size 4 (with padding 0+0)}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.conv %x, %w : (tensor<1x3x4x4xf32>, tensor<4x3x7x7xf32>) -> tensor<1x4x1x1xf32>
  return
}

// -----

func.func @conv_group(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+2 {{'bathy.conv' op group must be >= 1, got 0}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.conv %x, %w {group = 0 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_rank(%x: tensor<3x8xf32>, %w: tensor<4x3xf32>) {
  // expected-error@+2 {{'bathy.conv' op input must have rank >= 3 (N, C, spatial...), got 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.conv %x, %w : (tensor<3x8xf32>, tensor<4x3xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @conv_weight_rank(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error@+2 {{'bathy.conv' op weight has rank 3 but input has rank 4}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.conv %x, %w : (tensor<1x3x8x8xf32>, tensor<4x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_channels(%x: tensor<1x4x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+2 {{'bathy.conv' op input has 4 channels but weight expects 3 (3 per group x 1 groups)}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.conv %x, %w : (tensor<1x4x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @conv_group_divides(%x: tensor<1x4x8x8xf32>, %w: tensor<3x2x3x3xf32>) {
  // expected-error@+2 {{'bathy.conv' op output channels 3 are not divisible by group 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.conv %x, %w {group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x6x6xf32>
  return
}

// -----

func.func @conv_bias(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<5xf32>) {
  // expected-error@+2 {{'bathy.conv' op bias must have shape [4], got 5}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.conv %x, %w, %b : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<5xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @pool_kernel_length(%x: tensor<1x3x8x8xf32>) {
  // expected-error@+2 {{'bathy.max_pool' op kernel_shape has 1 entries but the input has 2 spatial dims}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.max_pool %x {kernel_shape = array<i64: 2>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  return
}

// -----

func.func @pool_kernel_value(%x: tensor<1x3x8x8xf32>) {
  // expected-error@+2 {{'bathy.avg_pool' op kernel_shape must be >= 1, got 0}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.avg_pool %x {kernel_shape = array<i64: 0, 2>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  return
}

// -----

func.func @pool_pads(%x: tensor<1x3x8x8xf32>) {
  // expected-error@+2 {{'bathy.max_pool' op pads must be >= 0, got -1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.max_pool %x {kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, -1, 0>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  return
}

// -----

func.func @global_pool_rank(%x: tensor<3x8xf32>) {
  // expected-error@+2 {{'bathy.global_avg_pool' op input must have rank >= 3 (N, C, spatial...), got 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.global_avg_pool %x : (tensor<3x8xf32>) -> tensor<3x1xf32>
  return
}

// -----

func.func @reduction_axis_range(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{'bathy.reduce_sum' op axis 2 is out of range for rank 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.reduce_sum %x {axes = array<i64: 2>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @reduction_axis_negative(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{'bathy.reduce_mean' op axis -1 is negative; axes are normalized to [0, rank)}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.reduce_mean %x {axes = array<i64: -1>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return
}

// -----

func.func @reduction_axes_sorted(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{'bathy.reduce_max' op axes must be sorted and unique}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.reduce_max %x {axes = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<1x1xf32>
  return
}

// -----

func.func @softmax_axis(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{'bathy.softmax' op axis 2 is out of range for rank 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.softmax %x {axis = 2 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @norm_element_type(%x: tensor<2x8xf32>, %g: tensor<8xf16>) {
  // expected-error@+2 {{'bathy.layer_norm' op scale must have the input's element type}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.layer_norm %x, %g {axis = 1 : i64} : (tensor<2x8xf32>, tensor<8xf16>) -> tensor<2x8xf32>
  return
}

// -----

func.func @norm_param_rank(%x: tensor<2x8xf32>, %g: tensor<2x8xf32>) {
  // expected-error@+2 {{'bathy.rms_norm' op scale has rank 2 but only 1 dims are normalized}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.rms_norm %x, %g {axis = 1 : i64} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @norm_param_shape(%x: tensor<2x8xf32>, %g: tensor<8xf32>, %b: tensor<5xf32>) {
  // expected-error@+2 {{'bathy.layer_norm' op bias shape 5 does not broadcast to the normalized dims 8}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.layer_norm %x, %g, %b {axis = 1 : i64} : (tensor<2x8xf32>, tensor<8xf32>, tensor<5xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @batch_norm_rank(%x: tensor<8xf32>, %c: tensor<8xf32>) {
  // expected-error@+2 {{'bathy.batch_norm' op input must have rank >= 2 (N, C, ...), got 1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.batch_norm %x, %c, %c, %c, %c : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @batch_norm_param(%x: tensor<1x64x4x4xf32>, %c: tensor<64xf32>, %m: tensor<32xf32>) {
  // expected-error@+2 {{'bathy.batch_norm' op mean must have shape [64], got 32}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.batch_norm %x, %c, %c, %m, %c : (tensor<1x64x4x4xf32>, tensor<64xf32>, tensor<64xf32>, tensor<32xf32>, tensor<64xf32>) -> tensor<1x64x4x4xf32>
  return
}

// -----

func.func @batch_norm_element_type(%x: tensor<1x64x4x4xf32>, %c: tensor<64xf32>, %v: tensor<64xf16>) {
  // expected-error@+2 {{'bathy.batch_norm' op variance must have the input's element type}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.batch_norm %x, %c, %c, %c, %v : (tensor<1x64x4x4xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf16>) -> tensor<1x64x4x4xf32>
  return
}

// -----

func.func @transpose_length(%x: tensor<2x3x4xf32>) {
  // expected-error@+2 {{'bathy.transpose' op perm has 2 entries but the input has rank 3}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3x4xf32>) -> tensor<3x2xf32>
  return
}

// -----

func.func @transpose_permutation(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{'bathy.transpose' op perm is not a permutation of [0, 2)}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.transpose %x {perm = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<3x3xf32>
  return
}

// -----

func.func @reshape_element_type(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'bathy.reshape' op result element type 'f16' differs from the input's 'f32'}}
  %0 = bathy.reshape %x : (tensor<2x3xf32>) -> tensor<6xf16>
  return
}

// -----

func.func @reshape_dynamic_dims(%x: tensor<?x3xf32>) {
  // expected-error@+1 {{'bathy.reshape' op result may have at most one dynamic dim, not 2; use bathy.dynamic_reshape}}
  %0 = bathy.reshape %x : (tensor<?x3xf32>) -> tensor<?x?x3xf32>
  return
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'bathy.reshape' op changes the element count from 6 to 8}}
  %0 = bathy.reshape %x : (tensor<2x3xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @reshape_divides(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'bathy.reshape' op cannot reshape 6 elements into ?x4}}
  %0 = bathy.reshape %x : (tensor<2x3xf32>) -> tensor<?x4xf32>
  return
}

// -----

func.func @dynamic_reshape_two_minus_one(%x: tensor<2x3xf32>) {
  %s = bathy.constant dense<[-1, -1]> : tensor<2xi64>
  // expected-error@+2 {{'bathy.dynamic_reshape' op shape has more than one -1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.dynamic_reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @dynamic_reshape_negative(%x: tensor<2x3xf32>) {
  %s = bathy.constant dense<[-2, 3]> : tensor<2xi64>
  // expected-error@+2 {{'bathy.dynamic_reshape' op shape entry 0 is -2; only -1 may be negative}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.dynamic_reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @dynamic_reshape_copy(%x: tensor<6x1xf32>) {
  %s = bathy.constant dense<[1, 6, 0]> : tensor<3xi64>
  // expected-error@+2 {{'bathy.dynamic_reshape' op shape entry 2 is 0 (copy the input's dim) but the input has rank 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.dynamic_reshape %x, %s : (tensor<6x1xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  return
}

// -----

func.func @dynamic_reshape_allowzero(%x: tensor<0x3xf32>) {
  %s = bathy.constant dense<[0, -1]> : tensor<2xi64>
  // expected-error@+2 {{'bathy.dynamic_reshape' op shape has both 0 and -1, which allowzero forbids}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.dynamic_reshape %x, %s {allowzero = true} : (tensor<0x3xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @dynamic_reshape_divides(%x: tensor<2x3xf32>) {
  %s = bathy.constant dense<[4, -1]> : tensor<2xi64>
  // expected-error@+2 {{'bathy.dynamic_reshape' op cannot reshape 6 elements into shape with -1 and other dims multiplying to 4}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.dynamic_reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @dynamic_reshape_count(%x: tensor<2x3xf32>) {
  %s = bathy.constant dense<[2, 4]> : tensor<2xi64>
  // expected-error@+2 {{'bathy.dynamic_reshape' op changes the element count from 6 to 8}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.dynamic_reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<?x?xf32>
  return
}

// -----

func.func @expand_negative(%x: tensor<3xf32>) {
  %s = bathy.constant dense<[-1, 3]> : tensor<2xi64>
  // expected-error@+2 {{'bathy.expand' op shape has negative dim -1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.expand %x, %s : (tensor<3xf32>, tensor<2xi64>) -> tensor<?x3xf32>
  return
}

// -----

func.func @expand_incompatible(%x: tensor<3xf32>) {
  %s = bathy.constant dense<[2, 4]> : tensor<2xi64>
  // expected-error@+2 {{'bathy.expand' op input shape 3 cannot be expanded to 2x4}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.expand %x, %s : (tensor<3xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  return
}

// -----

func.func @squeeze_size(%x: tensor<1x3xf32>) {
  // expected-error@+2 {{'bathy.squeeze' op cannot squeeze dim 1 of size 3}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.squeeze %x {axes = array<i64: 1>} : (tensor<1x3xf32>) -> tensor<1xf32>
  return
}

// -----

func.func @unsqueeze_range(%x: tensor<3xf32>) {
  // expected-error@+2 {{'bathy.unsqueeze' op axis 2 is out of range for rank 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.unsqueeze %x {axes = array<i64: 2>} : (tensor<3xf32>) -> tensor<3x1xf32>
  return
}

// -----

func.func @concat_empty() {
  // expected-error@+2 {{'bathy.concat' op needs at least one input}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.concat {axis = 0 : i64} : () -> tensor<0xf32>
  return
}

// -----

func.func @concat_element_type(%a: tensor<2xf32>, %b: tensor<2xi32>) {
  // expected-error@+2 {{'bathy.concat' op input 1 has element type 'i32' but input 0 has 'f32'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.concat %a, %b {axis = 0 : i64} : (tensor<2xf32>, tensor<2xi32>) -> tensor<4xf32>
  return
}

// -----

func.func @concat_rank(%a: tensor<2x2xf32>, %b: tensor<2xf32>) {
  // expected-error@+2 {{'bathy.concat' op input 1 has rank 1 but the inputs before it have rank 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.concat %a, %b {axis = 0 : i64} : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<4x2xf32>
  return
}

// -----

func.func @concat_dims(%a: tensor<2x2xf32>, %b: tensor<3x4xf32>) {
  // expected-error@+2 {{'bathy.concat' op input 1 has size 4 in dim 1 but the inputs before it have 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.concat %a, %b {axis = 0 : i64} : (tensor<2x2xf32>, tensor<3x4xf32>) -> tensor<5x2xf32>
  return
}

// -----

func.func @split_empty(%x: tensor<6xf32>) {
  // expected-error@+2 {{'bathy.split' op sizes must not be empty}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.split %x {axis = 0 : i64, sizes = array<i64>} : (tensor<6xf32>) -> tensor<6xf32>
  return
}

// -----

func.func @split_negative(%x: tensor<6xf32>) {
  // expected-error@+2 {{'bathy.split' op sizes must be >= 0, got -1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0:2 = bathy.split %x {axis = 0 : i64, sizes = array<i64: 7, -1>} : (tensor<6xf32>) -> (tensor<7xf32>, tensor<?xf32>)
  return
}

// -----

func.func @split_sum(%x: tensor<6xf32>) {
  // expected-error@+2 {{'bathy.split' op sizes add up to 5 but dim 0 has size 6}}
  // expected-error@+1 {{failed to infer returned types}}
  %0:2 = bathy.split %x {axis = 0 : i64, sizes = array<i64: 2, 3>} : (tensor<6xf32>) -> (tensor<2xf32>, tensor<3xf32>)
  return
}

// -----

func.func @split_result_count(%x: tensor<6xf32>) {
  // expected-error@+2 {{'bathy.split' op inferred type(s) 'tensor<2xf32>', 'tensor<4xf32>' are incompatible with return type(s) of operation 'tensor<6xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.split %x {axis = 0 : i64, sizes = array<i64: 2, 4>} : (tensor<6xf32>) -> tensor<6xf32>
  return
}

// -----

func.func @slice_lengths(%x: tensor<6xf32>) {
  // expected-error@+2 {{'bathy.slice' op axes, starts, ends and steps must have the same length}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.slice %x {axes = array<i64: 0>, starts = array<i64: 0, 1>, ends = array<i64: 3>, steps = array<i64: 1>} : (tensor<6xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @slice_repeated_axis(%x: tensor<6xf32>) {
  // expected-error@+2 {{'bathy.slice' op axis 0 appears twice}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.slice %x {axes = array<i64: 0, 0>, starts = array<i64: 0, 0>, ends = array<i64: 3, 3>, steps = array<i64: 1, 1>} : (tensor<6xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @slice_zero_step(%x: tensor<6xf32>) {
  // expected-error@+2 {{'bathy.slice' op step for axis 0 is zero}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.slice %x {axes = array<i64: 0>, starts = array<i64: 0>, ends = array<i64: 3>, steps = array<i64: 0>} : (tensor<6xf32>) -> tensor<3xf32>
  return
}

// -----

func.func @gather_scalar_data(%x: tensor<f32>, %i: tensor<2xi64>) {
  // expected-error@+2 {{'bathy.gather' op data must have rank >= 1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.gather %x, %i {axis = 0 : i64} : (tensor<f32>, tensor<2xi64>) -> tensor<2xf32>
  return
}

// -----

func.func @gather_index_range(%x: tensor<3x4xf32>) {
  %i = bathy.constant dense<[0, 5]> : tensor<2xi64>
  // expected-error@+2 {{'bathy.gather' op index 5 is out of range for dim 0 of size 3}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.gather %x, %i {axis = 0 : i64} : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  return
}

// -----

func.func @gather_elements_rank(%x: tensor<3x4xf32>, %i: tensor<2xi64>) {
  // expected-error@+2 {{'bathy.gather_elements' op indices must have the rank of data (2), got 1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.gather_elements %x, %i {axis = 1 : i64} : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<2xf32>
  return
}

// -----

func.func @gather_elements_dim(%x: tensor<3x4xf32>, %i: tensor<5x1xi64>) {
  // expected-error@+2 {{'bathy.gather_elements' op indices dim 0 (5) exceeds data dim 0 (3)}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.gather_elements %x, %i {axis = 1 : i64} : (tensor<3x4xf32>, tensor<5x1xi64>) -> tensor<5x1xf32>
  return
}

// -----

func.func @pad_mode(%x: tensor<4xf32>) {
  // expected-error@+2 {{'bathy.pad' op mode must be constant, reflect, edge or wrap, not "mirror"}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.pad %x {pads = array<i64: 1, 1>, mode = "mirror"} : (tensor<4xf32>) -> tensor<6xf32>
  return
}

// -----

func.func @pad_length(%x: tensor<4x4xf32>) {
  // expected-error@+2 {{'bathy.pad' op pads has 2 entries but 2 x rank = 4 are needed}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.pad %x {pads = array<i64: 1, 1>} : (tensor<4x4xf32>) -> tensor<6x4xf32>
  return
}

// -----

func.func @pad_negative(%x: tensor<4xf32>) {
  // expected-error@+2 {{'bathy.pad' op padding makes dim 0 negative}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.pad %x {pads = array<i64: -3, -3>} : (tensor<4xf32>) -> tensor<0xf32>
  return
}

// -----

func.func @trilu_rank(%x: tensor<4xf32>) {
  // expected-error@+2 {{'bathy.trilu' op input must have rank >= 2, got 1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.trilu %x : (tensor<4xf32>) -> tensor<4xf32>
  return
}


// -----

func.func @dynamic_slice_steps(%x: tensor<6xf32>, %b: tensor<1xi64>) {
  // expected-error@+2 {{'bathy.dynamic_slice' op axes and steps must have the same length}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.dynamic_slice %x, %b, %b {axes = array<i64: 0>, steps = array<i64>} : (tensor<6xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<?xf32>
  return
}

// -----

func.func @dynamic_slice_bounds(%x: tensor<6xf32>, %b: tensor<2xi64>) {
  // expected-error@+2 {{'bathy.dynamic_slice' op starts and ends need one entry per axis (1), got 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.dynamic_slice %x, %b, %b {axes = array<i64: 0>, steps = array<i64: 1>} : (tensor<6xf32>, tensor<2xi64>, tensor<2xi64>) -> tensor<?xf32>
  return
}

// -----

func.func @launch_unknown(%x: tensor<4xf32>) {
  // expected-error@+1 {{'bathy.launch' op kernel 'nowhere' is not a function in this module}}
  %0 = bathy.launch @nowhere(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func private @plain(%x: tensor<4xf32>) -> tensor<4xf32>
func.func @launch_not_kernel(%x: tensor<4xf32>) {
  // expected-error@+1 {{'bathy.launch' op 'plain' is not marked bathy.kernel}}
  %0 = bathy.launch @plain(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func private @k(%x: tensor<4xf32>) -> tensor<4xf32> attributes {bathy.kernel}
func.func @launch_types(%x: tensor<2xf32>) {
  // expected-error@+1 {{'bathy.launch' op types '(tensor<2xf32>) -> tensor<2xf32>' do not match kernel 'k' of type '(tensor<4xf32>) -> tensor<4xf32>'}}
  %0 = bathy.launch @k(%x) : (tensor<2xf32>) -> tensor<2xf32>
  return
}

// -----

func.func @fusion_group_yield_types(%x: tensor<4xf32>) {
  // expected-error@+1 {{'bathy.fusion_group' op yields 'tensor<4xf32>' but its results are 'tensor<4xf16>'}}
  %g = bathy.fusion_group "elementwise" -> tensor<4xf16> {
    bathy.yield %x : tensor<4xf32>
  }
  return
}

// -----

func.func @yield_outside_group(%x: tensor<4xf32>) {
  // expected-error@+1 {{'bathy.yield' op expects parent op 'bathy.fusion_group'}}
  bathy.yield %x : tensor<4xf32>
}

// -----

func.func @attention_rank(%q: tensor<8x64xf32>, %k: tensor<8x64xf32>) {
  // expected-error@+2 {{'bathy.attention' op q, k and v must have the same rank >= 3, got 8x64, 8x64 and 8x64}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>) -> tensor<8x64xf32>
  return
}

// -----

func.func @attention_heads(%q: tensor<1x6x8x64xf32>, %k: tensor<1x4x8x64xf32>) {
  // expected-error@+2 {{'bathy.attention' op q has 6 heads, not a multiple of the 4 key/value heads}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<1x6x8x64xf32>, tensor<1x4x8x64xf32>, tensor<1x4x8x64xf32>) -> tensor<1x6x8x64xf32>
  return
}

// -----

func.func @attention_head_size(%q: tensor<1x4x8x64xf32>, %k: tensor<1x4x8x32xf32>) {
  // expected-error@+2 {{'bathy.attention' op q and k head sizes differ (64 and 32)}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<1x4x8x64xf32>, tensor<1x4x8x32xf32>, tensor<1x4x8x32xf32>) -> tensor<1x4x8x32xf32>
  return
}

// -----

func.func @attention_positions(%q: tensor<1x4x8x64xf32>, %k: tensor<1x4x8x64xf32>, %v: tensor<1x4x9x64xf32>) {
  // expected-error@+2 {{'bathy.attention' op k has 8 positions but v has 9}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.attention %q, %k, %v {scale = 1.0 : f32} : (tensor<1x4x8x64xf32>, tensor<1x4x8x64xf32>, tensor<1x4x9x64xf32>) -> tensor<1x4x8x64xf32>
  return
}

// -----

func.func @attention_mask(%q: tensor<1x4x8x64xf32>, %m: tensor<1x1x8x16xf32>) {
  // expected-error@+2 {{'bathy.attention' op mask 1x1x8x16 does not broadcast to the scores 1x4x8x8}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.attention %q, %q, %q, %m {scale = 1.0 : f32} : (tensor<1x4x8x64xf32>, tensor<1x4x8x64xf32>, tensor<1x4x8x64xf32>, tensor<1x1x8x16xf32>) -> tensor<1x4x8x64xf32>
  return
}

// -----

func.func @attention_causal(%q: tensor<1x4x8x64xf32>) {
  // expected-error@+1 {{'bathy.attention' op causal must be "none", "upper_left" or "lower_right", not "yes"}}
  %0 = bathy.attention %q, %q, %q {scale = 1.0 : f32, causal = "yes"} : (tensor<1x4x8x64xf32>, tensor<1x4x8x64xf32>, tensor<1x4x8x64xf32>) -> tensor<1x4x8x64xf32>
  return
}

// -----

func.func @attention_softcap(%q: tensor<1x4x8x64xf32>) {
  // expected-error@+1 {{'bathy.attention' op softcap must be finite and >= 0 (0: none)}}
  %0 = bathy.attention %q, %q, %q {scale = 1.0 : f32, softcap = -1.0 : f32} : (tensor<1x4x8x64xf32>, tensor<1x4x8x64xf32>, tensor<1x4x8x64xf32>) -> tensor<1x4x8x64xf32>
  return
}

// -----

func.func @attention_batch(%q: tensor<2x4x8x64xf32>, %k: tensor<3x4x8x64xf32>) {
  // expected-error@+2 {{'bathy.attention' op leading dims do not broadcast: q 2x4x8x64, k 3x4x8x64, v 3x4x8x64}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = bathy.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<2x4x8x64xf32>, tensor<3x4x8x64xf32>, tensor<3x4x8x64xf32>) -> tensor<2x4x8x64xf32>
  return
}

// -----

func.func @attention_masked_score(%q: tensor<1x4x8x64xf32>) {
  // expected-error@+1 {{'bathy.attention' op masked_score needs a mask}}
  %0 = bathy.attention %q, %q, %q {scale = 1.0 : f32, masked_score = -1.0e4 : f32} : (tensor<1x4x8x64xf32>, tensor<1x4x8x64xf32>, tensor<1x4x8x64xf32>) -> tensor<1x4x8x64xf32>
  return
}
