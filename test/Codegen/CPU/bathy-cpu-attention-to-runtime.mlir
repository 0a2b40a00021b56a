// RUN: bathy-opt %s -split-input-file -bathy-cpu-attention-to-runtime -bathy-linalg-from-bathy | FileCheck %s

// Attention becomes a call of the runtime's fused kernel on buffers: inputs
// through read-only to_buffer (any layout), the result a fresh buffer whose
// batch dim is the broadcast of the operands'. A mask head, query or key
// dim the types do not prove to fit is asserted at run time (a static 1 or
// a matching static size is not; leading dims broadcast). masked_score is
// passed last (-inf when absent).
// CHECK-LABEL: func.func private @attention_kernel
// CHECK-SAME: (%[[Q:.+]]: tensor<?x4x8x16xf32>, %[[K:.+]]: tensor<?x2x9x16xf32>, %[[V:.+]]: tensor<?x2x9x8xf32>, %[[M:.+]]: tensor<?x1x8x?xf32>)
// CHECK: %[[FILL:.+]] = arith.constant -1.000000e+04 : f32
// CHECK-NOT: mask dim 0
// CHECK-NOT: mask dim 1
// CHECK-NOT: mask dim 2
// CHECK: cf.assert %{{.+}}, "{{.*}}mask dim 3 is neither 1 nor the size of score dim 3"
// CHECK: %[[QB:.+]] = bufferization.to_buffer %[[Q]] read_only : tensor<?x4x8x16xf32> to memref<?x4x8x16xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK: %[[QU:.+]] = memref.cast %[[QB]] {{.*}} to memref<*xf32>
// CHECK: %[[OUT:.+]] = memref.alloc(%{{.+}}) {alignment = 64 : i64} : memref<?x4x8x8xf32>
// CHECK: %[[OU:.+]] = memref.cast %[[OUT]]
// CHECK: call @bathy_rt_attention_masked_f32(%[[QU]], %{{.+}}, %{{.+}}, %{{.+}}, %[[OU]], %{{.+}}, %{{.+}}, %{{.+}}, %[[FILL]]) : (memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, f32, f32, i64, f32) -> ()
// CHECK: %[[R:.+]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[R]]
// CHECK: func.func private @bathy_rt_attention_masked_f32(memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, f32, f32, i64, f32)
func.func private @attention_kernel(%q: tensor<?x4x8x16xf32>, %k: tensor<?x2x9x16xf32>, %v: tensor<?x2x9x8xf32>, %m: tensor<?x1x8x?xf32>) -> tensor<?x4x8x8xf32> attributes {bathy.kernel} {
  %0 = bathy.attention %q, %k, %v, %m {scale = 0.25 : f32, causal = "upper_left", masked_score = -1.0e4 : f32} : (tensor<?x4x8x16xf32>, tensor<?x2x9x16xf32>, tensor<?x2x9x8xf32>, tensor<?x1x8x?xf32>) -> tensor<?x4x8x8xf32>
  return %0 : tensor<?x4x8x8xf32>
}

// -----

// Other float types run the f32 kernel between conversions; no mask: the
// unmasked entry point. Scale, softcap and the causal mode (lower_right = 2)
// are passed as scalars.
// CHECK-LABEL: func.func private @attention_f16
// CHECK-DAG: %[[CAUSAL:.+]] = arith.constant 2 : i64
// CHECK-DAG: %[[CAP:.+]] = arith.constant 3.000000e+01 : f32
// CHECK-DAG: %[[SCALE:.+]] = arith.constant 5.000000e-01 : f32
// CHECK: arith.extf
// CHECK: call @bathy_rt_attention_f32(%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[SCALE]], %[[CAP]], %[[CAUSAL]]) : (memref<*xf32>, memref<*xf32>, memref<*xf32>, memref<*xf32>, f32, f32, i64) -> ()
// CHECK: arith.truncf
// CHECK: return %{{.+}} : tensor<1x2x3x4xf16>
func.func private @attention_f16(%q: tensor<1x2x3x4xf16>) -> tensor<1x2x3x4xf16> attributes {bathy.kernel} {
  %0 = bathy.attention %q, %q, %q {scale = 0.5 : f32, softcap = 30.0 : f32, causal = "lower_right"} : (tensor<1x2x3x4xf16>, tensor<1x2x3x4xf16>, tensor<1x2x3x4xf16>) -> tensor<1x2x3x4xf16>
  return %0 : tensor<1x2x3x4xf16>
}

// -----

// Head counts the types leave open are checked at run time.
// CHECK-LABEL: func.func private @attention_dynamic_heads
// CHECK: arith.remui
// CHECK: cf.assert %{{.+}}, "{{.*}}k and v head counts differ, or q's is not a multiple"
// CHECK: call @bathy_rt_attention_f32
func.func private @attention_dynamic_heads(%q: tensor<1x?x8x16xf32>, %k: tensor<1x?x8x16xf32>) -> tensor<1x?x8x16xf32> attributes {bathy.kernel} {
  %0 = bathy.attention %q, %k, %k {scale = 0.25 : f32} : (tensor<1x?x8x16xf32>, tensor<1x?x8x16xf32>, tensor<1x?x8x16xf32>) -> tensor<1x?x8x16xf32>
  return %0 : tensor<1x?x8x16xf32>
}
