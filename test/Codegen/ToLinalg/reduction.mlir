// RUN: bathy-opt %s -split-input-file -bathy-linalg-from-bathy | FileCheck %s

// The reduction family (codegen/ToLinalg/Reduction.cpp): reductions fill the
// accumulator with the combine's identity and reduce in one generic;
// keepdims re-expands the result.
// CHECK-DAG: #[[$IN3:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$OUT1:.+]] = affine_map<(d0, d1, d2) -> (d0)>
// CHECK-LABEL: func.func private @reduce_sum_keepdims
// CHECK: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[ACC:.+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.+}} : tensor<4xf32>)
// CHECK: %[[SUM:.+]] = linalg.generic {indexing_maps = [#[[$IN3]], #[[$OUT1]]], iterator_types = ["parallel", "reduction", "reduction"]} ins(%{{.+}} : tensor<4x?x8xf32>) outs(%[[ACC]] : tensor<4xf32>)
// CHECK: arith.addf
// CHECK: tensor.expand_shape %[[SUM]] {{\[\[}}0, 1, 2]] output_shape [4, 1, 1]
func.func private @reduce_sum_keepdims(%x: tensor<4x?x8xf32>) -> tensor<4x1x1xf32> attributes {bathy.kernel} {
  %0 = bathy.reduce_sum %x {axes = array<i64: 1, 2>, keepdims = true} : (tensor<4x?x8xf32>) -> tensor<4x1x1xf32>
  return %0 : tensor<4x1x1xf32>
}

// -----

// Integer max starts from the type's lowest value and combines with maxsi.
// CHECK-LABEL: func.func private @reduce_max_i32
// CHECK: %[[LOW:.+]] = arith.constant -2147483648 : i32
// CHECK: linalg.fill ins(%[[LOW]] : i32)
// CHECK: arith.maxsi
// CHECK-NOT: tensor.expand_shape
func.func private @reduce_max_i32(%x: tensor<4x8xi32>) -> tensor<4xi32> attributes {bathy.kernel} {
  %0 = bathy.reduce_max %x {axes = array<i64: 1>, keepdims = false} : (tensor<4x8xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// argmax carries the running maximum and its index; the first index wins
// ties (ONNX's default select_last_index = 0).
// CHECK-LABEL: func.func private @argmax
// CHECK: %[[NEGINF:.+]] = arith.constant 0xFF800000 : f32
// CHECK: %{{.+}}:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: linalg.index 1
// CHECK: arith.cmpf ogt
// CHECK: linalg.yield %{{.+}}, %{{.+}} : f32, i64
// CHECK: tensor.expand_shape {{.*}} into tensor<4x1xi64>
func.func private @argmax(%x: tensor<4x8xf32>) -> tensor<4x1xi64> attributes {bathy.kernel} {
  %0 = bathy.argmax %x {axis = 1 : i64, keepdims = true} : (tensor<4x8xf32>) -> tensor<4x1xi64>
  return %0 : tensor<4x1xi64>
}

// -----

// softmax: row max, subtract, exp, row sum, divide (the stable form).
// CHECK-LABEL: func.func private @softmax
// CHECK: arith.maximumf
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
// CHECK: return
func.func private @softmax(%x: tensor<2x16xf32>) -> tensor<2x16xf32> attributes {bathy.kernel} {
  %0 = bathy.softmax %x {axis = 1 : i64} : (tensor<2x16xf32>) -> tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

// layer_norm: mean (sum / 16), centre, mean of squares, rsqrt(var + eps),
// then scale and bias broadcast along the normalised dim.
// CHECK-DAG: #[[$PARAM:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func private @layer_norm
// CHECK-DAG: %[[N:.+]] = arith.constant 1.600000e+01 : f32
// CHECK-DAG: %[[EPS:.+]] = arith.constant 9.99999974E-6 : f32
// CHECK: arith.divf %{{.+}}, %[[N]]
// CHECK: arith.subf
// CHECK: math.rsqrt
// CHECK: linalg.generic {indexing_maps = [#{{.+}}, #[[$PARAM]], #[[$PARAM]], #{{.+}}]
// CHECK: arith.mulf
// CHECK: arith.addf
func.func private @layer_norm(%x: tensor<2x16xf32>, %s: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<2x16xf32> attributes {bathy.kernel} {
  %0 = bathy.layer_norm %x, %s, %b {axis = 1 : i64, epsilon = 1.0e-5 : f32} : (tensor<2x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

// softmax: max, exp of the shifted input, sum, divide.
// CHECK-LABEL: func.func private @softmax_kernel
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.maximumf
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.addf
// CHECK: arith.divf
func.func private @softmax_kernel(%a: tensor<2x8xf32>) -> tensor<2x8xf32> attributes {bathy.kernel} {
  %0 = bathy.softmax %a {axis = 1 : i64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// hardmax: the first maximum's index (an argmax reduction), then 1 where
// the index along the axis matches it, 0 elsewhere.
// CHECK-LABEL: func.func private @hardmax
// CHECK: %[[ARG:.+]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.cmpf ogt
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]{{.*}} ins(%{{.+}}, %[[ARG]]#1 : tensor<3x5xf32>, tensor<3xi64>)
// CHECK: %[[AT:.+]] = linalg.index 1 : index
// CHECK: %[[AT64:.+]] = arith.index_cast %[[AT]] : index to i64
// CHECK: %[[HIT:.+]] = arith.cmpi eq, %[[AT64]], %{{.+}} : i64
// CHECK: arith.select %[[HIT]], %{{.+}}, %{{.+}} : f32
func.func private @hardmax(%x: tensor<3x5xf32>) -> tensor<3x5xf32> attributes {bathy.kernel} {
  %0 = bathy.hardmax %x {axis = 1 : i64} : (tensor<3x5xf32>) -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}
