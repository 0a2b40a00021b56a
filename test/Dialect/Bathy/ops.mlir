// Every bathy op parses, prints and parses again to the same text, in the
// custom and the generic form.
// RUN: bathy-opt %s | bathy-opt | FileCheck %s
// RUN: bathy-opt %s --mlir-print-op-generic | bathy-opt | FileCheck %s

// CHECK-LABEL: func.func @constants_and_shapes
func.func @constants_and_shapes(%x: tensor<?x128xf32>, %s: tensor<2xi64>,
                                %i: tensor<i64>) {
  // CHECK: bathy.constant dense<[1, 2]> : tensor<2xi64>
  %c = bathy.constant dense<[1, 2]> : tensor<2xi64>
  // CHECK: bathy.constant dense_resource<blob> : tensor<2xf32>
  %r = bathy.constant dense_resource<blob> : tensor<2xf32>
  // CHECK: bathy.shape %{{.*}} : (tensor<?x128xf32>) -> tensor<2xi64>
  %0 = bathy.shape %x : (tensor<?x128xf32>) -> tensor<2xi64>
  // CHECK: bathy.shape %{{.*}} {end = 2 : i64, start = 1 : i64}
  %1 = bathy.shape %x {start = 1 : i64, end = 2 : i64} : (tensor<?x128xf32>) -> tensor<1xi64>
  // CHECK: bathy.size %{{.*}} : (tensor<?x128xf32>) -> tensor<i64>
  %2 = bathy.size %x : (tensor<?x128xf32>) -> tensor<i64>
  // CHECK: bathy.constant_of_shape %{{.*}} {value = dense<0.000000e+00> : tensor<1xf32>}
  %3 = bathy.constant_of_shape %s {value = dense<0.0> : tensor<1xf32>} : (tensor<2xi64>) -> tensor<?x?xf32>
  // CHECK: bathy.range %{{.*}}, %{{.*}}, %{{.*}} : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %4 = bathy.range %i, %i, %i : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  return
}

// CHECK-LABEL: func.func @unary
func.func @unary(%x: tensor<2x?xf32>, %i: tensor<4xi32>, %b: tensor<4xi1>) {
  // CHECK: bathy.neg %{{.*}} : (tensor<4xi32>) -> tensor<4xi32>
  %0 = bathy.neg %i : (tensor<4xi32>) -> tensor<4xi32>
  // CHECK: bathy.abs
  %1 = bathy.abs %i : (tensor<4xi32>) -> tensor<4xi32>
  // CHECK: bathy.sign
  %2 = bathy.sign %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.relu
  %3 = bathy.relu %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.exp
  %4 = bathy.exp %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.log
  %5 = bathy.log %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.sqrt
  %6 = bathy.sqrt %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.rsqrt
  %7 = bathy.rsqrt %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.reciprocal
  %8 = bathy.reciprocal %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.tanh
  %9 = bathy.tanh %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.erf
  %10 = bathy.erf %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.sigmoid
  %11 = bathy.sigmoid %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.silu
  %12 = bathy.silu %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.hardswish
  %13 = bathy.hardswish %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.softplus
  %14 = bathy.softplus %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.cos
  %15 = bathy.cos %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.sin
  %16 = bathy.sin %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.floor
  %17 = bathy.floor %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.ceil
  %18 = bathy.ceil %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.round
  %19 = bathy.round %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.not %{{.*}} : (tensor<4xi1>) -> tensor<4xi1>
  %20 = bathy.not %b : (tensor<4xi1>) -> tensor<4xi1>
  // CHECK: bathy.gelu %{{.*}} {approximate = "tanh"}
  %21 = bathy.gelu %x {approximate = "tanh"} : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.gelu %{{.*}} :
  %22 = bathy.gelu %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.leaky_relu %{{.*}} {alpha = 1.000000e-01 : f32}
  %23 = bathy.leaky_relu %x {alpha = 0.1 : f32} : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.elu
  %24 = bathy.elu %x : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.hard_sigmoid
  %25 = bathy.hard_sigmoid %x {alpha = 0.2 : f32, beta = 0.5 : f32} : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.clip %{{.*}} {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64}
  %26 = bathy.clip %x {min = 0.0, max = 6.0} : (tensor<2x?xf32>) -> tensor<2x?xf32>
  // CHECK: bathy.clip %{{.*}} {min = 0.000000e+00 : f64} : (tensor<4xi32>)
  %27 = bathy.clip %i {min = 0.0} : (tensor<4xi32>) -> tensor<4xi32>
  return
}

// CHECK-LABEL: func.func @binary
func.func @binary(%x: tensor<?x4xf32>, %y: tensor<4xf32>, %b: tensor<4xi1>,
                  %i: tensor<3x1xi64>, %j: tensor<1x5xi64>) {
  // CHECK: bathy.add %{{.*}}, %{{.*}} : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %0 = bathy.add %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // CHECK: bathy.sub
  %1 = bathy.sub %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // CHECK: bathy.mul
  %2 = bathy.mul %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // CHECK: bathy.div %{{.*}}, %{{.*}} : (tensor<3x1xi64>, tensor<1x5xi64>) -> tensor<3x5xi64>
  %3 = bathy.div %i, %j : (tensor<3x1xi64>, tensor<1x5xi64>) -> tensor<3x5xi64>
  // CHECK: bathy.pow
  %4 = bathy.pow %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // CHECK: bathy.max
  %5 = bathy.max %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // CHECK: bathy.min
  %6 = bathy.min %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // CHECK: bathy.mod %{{.*}}, %{{.*}} {fmod = true}
  %7 = bathy.mod %x, %y {fmod = true} : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // CHECK: bathy.prelu
  %8 = bathy.prelu %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // CHECK: bathy.and
  %9 = bathy.and %b, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  // CHECK: bathy.or
  %10 = bathy.or %b, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  // CHECK: bathy.xor
  %11 = bathy.xor %b, %b : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  // CHECK: bathy.equal %{{.*}}, %{{.*}} : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1>
  %12 = bathy.equal %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1>
  // CHECK: bathy.less
  %13 = bathy.less %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1>
  // CHECK: bathy.less_equal
  %14 = bathy.less_equal %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1>
  // CHECK: bathy.greater
  %15 = bathy.greater %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1>
  // CHECK: bathy.greater_equal
  %16 = bathy.greater_equal %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1>
  // CHECK: bathy.where %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4xi1>, tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %17 = bathy.where %b, %x, %y : (tensor<4xi1>, tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  // CHECK: bathy.cast %{{.*}} : (tensor<?x4xf32>) -> tensor<?x4xf16>
  %18 = bathy.cast %x : (tensor<?x4xf32>) -> tensor<?x4xf16>
  return
}

// CHECK-LABEL: func.func @linalg_and_conv
func.func @linalg_and_conv(%a: tensor<?x128x768xf32>, %w: tensor<768x3072xf32>,
                           %v: tensor<768xf32>, %img: tensor<?x3x224x224xf32>,
                           %k: tensor<64x3x7x7xf32>, %bias: tensor<64xf32>) {
  // CHECK: bathy.matmul %{{.*}}, %{{.*}} : (tensor<?x128x768xf32>, tensor<768x3072xf32>) -> tensor<?x128x3072xf32>
  %0 = bathy.matmul %a, %w : (tensor<?x128x768xf32>, tensor<768x3072xf32>) -> tensor<?x128x3072xf32>
  // CHECK: bathy.matmul %{{.*}}, %{{.*}} : (tensor<?x128x768xf32>, tensor<768xf32>) -> tensor<?x128xf32>
  %1 = bathy.matmul %a, %v : (tensor<?x128x768xf32>, tensor<768xf32>) -> tensor<?x128xf32>
  // CHECK: bathy.conv %{{.*}}, %{{.*}}, %{{.*}} {pads = array<i64: 3, 3, 3, 3>, strides = array<i64: 2, 2>}
  %2 = bathy.conv %img, %k, %bias {strides = array<i64: 2, 2>, pads = array<i64: 3, 3, 3, 3>}
      : (tensor<?x3x224x224xf32>, tensor<64x3x7x7xf32>, tensor<64xf32>) -> tensor<?x64x112x112xf32>
  // CHECK: bathy.conv %{{.*}}, %{{.*}} {dilations = array<i64: 2, 2>} :
  %3 = bathy.conv %img, %k {dilations = array<i64: 2, 2>, group = 1 : i64}
      : (tensor<?x3x224x224xf32>, tensor<64x3x7x7xf32>) -> tensor<?x64x212x212xf32>
  return
}

// CHECK-LABEL: func.func @pooling
func.func @pooling(%x: tensor<1x64x112x112xf32>) {
  // CHECK: bathy.max_pool %{{.*}} {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
  %0 = bathy.max_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>}
      : (tensor<1x64x112x112xf32>) -> tensor<1x64x56x56xf32>
  // CHECK: bathy.avg_pool %{{.*}} {ceil_mode = true, count_include_pad = true, kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>}
  %1 = bathy.avg_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, ceil_mode = true, count_include_pad = true}
      : (tensor<1x64x112x112xf32>) -> tensor<1x64x56x56xf32>
  // CHECK: bathy.global_avg_pool %{{.*}} : (tensor<1x64x112x112xf32>) -> tensor<1x64x1x1xf32>
  %2 = bathy.global_avg_pool %x : (tensor<1x64x112x112xf32>) -> tensor<1x64x1x1xf32>
  // CHECK: bathy.global_max_pool
  %3 = bathy.global_max_pool %x : (tensor<1x64x112x112xf32>) -> tensor<1x64x1x1xf32>
  return
}

// CHECK-LABEL: func.func @reductions_and_norms
func.func @reductions_and_norms(%x: tensor<?x128x768xf32>, %g: tensor<768xf32>,
                                %img: tensor<?x64x56x56xf32>, %c: tensor<64xf32>) {
  // CHECK: bathy.reduce_sum %{{.*}} {axes = array<i64: 2>} : (tensor<?x128x768xf32>) -> tensor<?x128x1xf32>
  %0 = bathy.reduce_sum %x {axes = array<i64: 2>} : (tensor<?x128x768xf32>) -> tensor<?x128x1xf32>
  // CHECK: bathy.reduce_mean %{{.*}} {axes = array<i64: 1, 2>, keepdims = false} : (tensor<?x128x768xf32>) -> tensor<?xf32>
  %1 = bathy.reduce_mean %x {axes = array<i64: 1, 2>, keepdims = false} : (tensor<?x128x768xf32>) -> tensor<?xf32>
  // CHECK: bathy.reduce_max %{{.*}} {keepdims = false} : (tensor<?x128x768xf32>) -> tensor<f32>
  %2 = bathy.reduce_max %x {keepdims = false} : (tensor<?x128x768xf32>) -> tensor<f32>
  // CHECK: bathy.reduce_min
  %3 = bathy.reduce_min %x {axes = array<i64: 0>} : (tensor<?x128x768xf32>) -> tensor<1x128x768xf32>
  // CHECK: bathy.reduce_prod
  %4 = bathy.reduce_prod %x {axes = array<i64: 0>} : (tensor<?x128x768xf32>) -> tensor<1x128x768xf32>
  // CHECK: bathy.argmax %{{.*}} {axis = 2 : i64, keepdims = false} : (tensor<?x128x768xf32>) -> tensor<?x128xi64>
  %5 = bathy.argmax %x {axis = 2 : i64, keepdims = false} : (tensor<?x128x768xf32>) -> tensor<?x128xi64>
  // CHECK: bathy.argmin %{{.*}} {axis = 1 : i64, select_last_index = true}
  %6 = bathy.argmin %x {axis = 1 : i64, select_last_index = true} : (tensor<?x128x768xf32>) -> tensor<?x1x768xi64>
  // CHECK: bathy.softmax %{{.*}} {axis = 2 : i64}
  %7 = bathy.softmax %x {axis = 2 : i64} : (tensor<?x128x768xf32>) -> tensor<?x128x768xf32>
  // CHECK: bathy.log_softmax
  %8 = bathy.log_softmax %x {axis = 2 : i64} : (tensor<?x128x768xf32>) -> tensor<?x128x768xf32>
  // CHECK: bathy.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {axis = 2 : i64, epsilon = 9.99999996E-13 : f32}
  %9 = bathy.layer_norm %x, %g, %g {axis = 2 : i64, epsilon = 1.0e-12 : f32}
      : (tensor<?x128x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<?x128x768xf32>
  // CHECK: bathy.layer_norm %{{.*}}, %{{.*}} {axis = 2 : i64}
  %10 = bathy.layer_norm %x, %g {axis = 2 : i64}
      : (tensor<?x128x768xf32>, tensor<768xf32>) -> tensor<?x128x768xf32>
  // CHECK: bathy.rms_norm %{{.*}}, %{{.*}} {axis = 2 : i64, epsilon = 9.99999997E-7 : f32}
  %11 = bathy.rms_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-6 : f32}
      : (tensor<?x128x768xf32>, tensor<768xf32>) -> tensor<?x128x768xf32>
  // CHECK: bathy.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-03 : f32}
  %12 = bathy.batch_norm %img, %c, %c, %c, %c {epsilon = 1.0e-3 : f32}
      : (tensor<?x64x56x56xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<?x64x56x56xf32>
  return
}

// CHECK-LABEL: func.func @data_movement
func.func @data_movement(%x: tensor<?x?x12x64xf32>, %y: tensor<?x768xf32>,
                         %s: tensor<3xi64>, %e: tensor<1x1x?x64xf32>,
                         %s4: tensor<4xi64>, %ids: tensor<?x?xi64>,
                         %table: tensor<30522x768xf32>, %img: tensor<1x3x4x4xf32>,
                         %b1: tensor<1xi64>) {
  // CHECK: bathy.transpose %{{.*}} {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x?x12x64xf32>) -> tensor<?x12x?x64xf32>
  %0 = bathy.transpose %x {perm = array<i64: 0, 2, 1, 3>} : (tensor<?x?x12x64xf32>) -> tensor<?x12x?x64xf32>
  // CHECK: bathy.reshape %{{.*}} : (tensor<?x768xf32>) -> tensor<?x12x64xf32>
  %1 = bathy.reshape %y : (tensor<?x768xf32>) -> tensor<?x12x64xf32>
  // CHECK: bathy.dynamic_reshape %{{.*}}, %{{.*}} : (tensor<?x768xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  %2 = bathy.dynamic_reshape %y, %s : (tensor<?x768xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  // CHECK: bathy.dynamic_reshape %{{.*}}, %{{.*}} {allowzero = true}
  %3 = bathy.dynamic_reshape %y, %s {allowzero = true} : (tensor<?x768xf32>, tensor<3xi64>) -> tensor<?x?x?xf32>
  // CHECK: bathy.expand %{{.*}}, %{{.*}} : (tensor<1x1x?x64xf32>, tensor<4xi64>) -> tensor<?x?x?x64xf32>
  %4 = bathy.expand %e, %s4 : (tensor<1x1x?x64xf32>, tensor<4xi64>) -> tensor<?x?x?x64xf32>
  // CHECK: bathy.squeeze %{{.*}} {axes = array<i64: 0, 1>} : (tensor<1x1x?x64xf32>) -> tensor<?x64xf32>
  %5 = bathy.squeeze %e {axes = array<i64: 0, 1>} : (tensor<1x1x?x64xf32>) -> tensor<?x64xf32>
  // CHECK: bathy.unsqueeze %{{.*}} {axes = array<i64: 1, 2>} : (tensor<?x?xi64>) -> tensor<?x1x1x?xi64>
  %6 = bathy.unsqueeze %ids {axes = array<i64: 1, 2>} : (tensor<?x?xi64>) -> tensor<?x1x1x?xi64>
  // CHECK: bathy.concat %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<?x768xf32>, tensor<?x768xf32>) -> tensor<?x1536xf32>
  %7 = bathy.concat %y, %y {axis = 1 : i64} : (tensor<?x768xf32>, tensor<?x768xf32>) -> tensor<?x1536xf32>
  // CHECK: bathy.split %{{.*}} {axis = 1 : i64, sizes = array<i64: 256, 512>} : (tensor<?x768xf32>) -> (tensor<?x256xf32>, tensor<?x512xf32>)
  %8:2 = bathy.split %y {axis = 1 : i64, sizes = array<i64: 256, 512>} : (tensor<?x768xf32>) -> (tensor<?x256xf32>, tensor<?x512xf32>)
  // CHECK: bathy.slice %{{.*}} {axes = array<i64: 1>, ends = array<i64: 9223372036854775807>, starts = array<i64: -2>, steps = array<i64: 1>} : (tensor<?x768xf32>) -> tensor<?x2xf32>
  %9 = bathy.slice %y {axes = array<i64: 1>, starts = array<i64: -2>, ends = array<i64: 9223372036854775807>, steps = array<i64: 1>} : (tensor<?x768xf32>) -> tensor<?x2xf32>
  // CHECK: bathy.dynamic_slice %{{.*}}, %{{.*}}, %{{.*}} {axes = array<i64: 0>, steps = array<i64: 1>} : (tensor<?x768xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x768xf32>
  %ds = bathy.dynamic_slice %y, %b1, %b1 {axes = array<i64: 0>, steps = array<i64: 1>} : (tensor<?x768xf32>, tensor<1xi64>, tensor<1xi64>) -> tensor<?x768xf32>
  // CHECK: bathy.gather %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<30522x768xf32>, tensor<?x?xi64>) -> tensor<?x?x768xf32>
  %10 = bathy.gather %table, %ids {axis = 0 : i64} : (tensor<30522x768xf32>, tensor<?x?xi64>) -> tensor<?x?x768xf32>
  // CHECK: bathy.gather_elements %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<?x?xi64>, tensor<?x?xi64>) -> tensor<?x?xi64>
  %g = bathy.gather_elements %ids, %ids {axis = 1 : i64} : (tensor<?x?xi64>, tensor<?x?xi64>) -> tensor<?x?xi64>
  // CHECK: bathy.pad %{{.*}} {mode = "reflect", pads = array<i64: 0, 0, 1, 1, 0, 0, 1, 1>} : (tensor<1x3x4x4xf32>) -> tensor<1x3x6x6xf32>
  %11 = bathy.pad %img {pads = array<i64: 0, 0, 1, 1, 0, 0, 1, 1>, mode = "reflect"} : (tensor<1x3x4x4xf32>) -> tensor<1x3x6x6xf32>
  // CHECK: bathy.trilu %{{.*}} {k = 1 : i64, upper = false}
  %12 = bathy.trilu %img {upper = false, k = 1 : i64} : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  return
}

// Unranked tensors are accepted before shape inference.
// CHECK-LABEL: func.func @unranked
func.func @unranked(%x: tensor<*xf32>, %y: tensor<4xf32>) {
  // CHECK: bathy.add %{{.*}}, %{{.*}} : (tensor<*xf32>, tensor<4xf32>) -> tensor<*xf32>
  %0 = bathy.add %x, %y : (tensor<*xf32>, tensor<4xf32>) -> tensor<*xf32>
  // CHECK: bathy.transpose %{{.*}} {perm = array<i64: 1, 0>} : (tensor<*xf32>) -> tensor<?x?xf32>
  %1 = bathy.transpose %x {perm = array<i64: 1, 0>} : (tensor<*xf32>) -> tensor<?x?xf32>
  // CHECK: bathy.matmul %{{.*}}, %{{.*}} : (tensor<*xf32>, tensor<4xf32>) -> tensor<*xf32>
  %2 = bathy.matmul %x, %y : (tensor<*xf32>, tensor<4xf32>) -> tensor<*xf32>
  return
}

// CHECK-LABEL: func.func @launch
func.func @launch(%x: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: bathy.launch @kernel(%{{.*}}) : (tensor<4xf32>) -> tensor<4xf32>
  %0 = bathy.launch @kernel(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
func.func private @kernel(%x: tensor<4xf32>) -> tensor<4xf32> attributes {bathy.kernel} {
  %0 = bathy.relu %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// Attention round-trips with and without a mask; defaults are not printed.
// CHECK-LABEL: func.func @attention
// CHECK: bathy.attention %{{.+}}, %{{.+}}, %{{.+}} {scale = 1.250000e-01 : f32} : (tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x32xf32>) -> tensor<?x8x?x32xf32>
// CHECK: bathy.attention %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {causal = "lower_right", scale = 1.000000e+00 : f32, softcap = 5.000000e+01 : f32} : (tensor<1x8x4x64xf16>, tensor<1x8x9x64xf16>, tensor<1x8x9x64xf16>, tensor<4x9xf16>) -> tensor<1x8x4x64xf16>
func.func @attention(%q: tensor<?x8x?x64xf32>, %k: tensor<?x2x?x64xf32>, %v: tensor<?x2x?x32xf32>, %hq: tensor<1x8x4x64xf16>, %hk: tensor<1x8x9x64xf16>, %m: tensor<4x9xf16>) -> (tensor<?x8x?x32xf32>, tensor<1x8x4x64xf16>) {
  %0 = bathy.attention %q, %k, %v {scale = 0.125 : f32} : (tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x32xf32>) -> tensor<?x8x?x32xf32>
  %1 = bathy.attention %hq, %hk, %hk, %m {scale = 1.0 : f32, softcap = 50.0 : f32, causal = "lower_right"} : (tensor<1x8x4x64xf16>, tensor<1x8x9x64xf16>, tensor<1x8x9x64xf16>, tensor<4x9xf16>) -> tensor<1x8x4x64xf16>
  return %0, %1 : tensor<?x8x?x32xf32>, tensor<1x8x4x64xf16>
}

// CHECK-LABEL: func.func @fusion_group
// CHECK: %[[G:.+]]:2 = bathy.fusion_group "elementwise" attributes {rejected = ["n (Op): reason"]} -> tensor<4xf32>, tensor<4xf32> {
// CHECK-NEXT: %[[E:.+]] = bathy.exp %{{.+}}
// CHECK-NEXT: %[[N:.+]] = bathy.neg %[[E]]
// CHECK-NEXT: bathy.yield %[[E]], %[[N]] : tensor<4xf32>, tensor<4xf32>
// CHECK: bathy.fusion_group "empty" {
// CHECK-NEXT: bathy.yield
func.func @fusion_group(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %g:2 = bathy.fusion_group "elementwise" attributes {rejected = ["n (Op): reason"]} -> tensor<4xf32>, tensor<4xf32> {
    %e = bathy.exp %x : (tensor<4xf32>) -> tensor<4xf32>
    %n = bathy.neg %e : (tensor<4xf32>) -> tensor<4xf32>
    bathy.yield %e, %n : tensor<4xf32>, tensor<4xf32>
  }
  bathy.fusion_group "empty" {
    bathy.yield
  }
  return %g#0, %g#1 : tensor<4xf32>, tensor<4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      blob: "0x040000000000803F00000040"
    }
  }
#-}
