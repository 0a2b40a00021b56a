// RUN: bathy-opt %s -split-input-file -bathy-linalg-from-bathy | FileCheck %s

// The elementwise family (codegen/ToLinalg/Elementwise.cpp): one generic per
// op, operands read through broadcasting maps.
// CHECK-LABEL: func.func private @cast_int_to_float
// CHECK: linalg.generic {{.*}} ins(%{{.+}} : tensor<4xi64>) outs(%{{.+}} : tensor<4xf32>)
// CHECK: arith.sitofp %{{.+}} : i64 to f32
func.func private @cast_int_to_float(%x: tensor<4xi64>) -> tensor<4xf32> attributes {bathy.kernel} {
  %0 = bathy.cast %x : (tensor<4xi64>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func private @cast_float_to_int
// CHECK: arith.fptosi %{{.+}} : f32 to i32
func.func private @cast_float_to_int(%x: tensor<4xf32>) -> tensor<4xi32> attributes {bathy.kernel} {
  %0 = bathy.cast %x : (tensor<4xf32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// where broadcasts all three operands: the condition's size-1 dim reads
// index 0, the missing leading dim of %y is dropped from its map.
// CHECK-DAG: #[[$COND:.+]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG: #[[$ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func private @where
// CHECK: linalg.generic {indexing_maps = [#[[$COND]], #[[$ID]], #[[$ROW]], #[[$ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK: arith.select %{{.+}}, %{{.+}}, %{{.+}} : f32
func.func private @where(%m: tensor<4x1xi1>, %x: tensor<4x8xf32>, %y: tensor<8xf32>) -> tensor<4x8xf32> attributes {bathy.kernel} {
  %0 = bathy.where %m, %x, %y : (tensor<4x1xi1>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
