// RUN: bathy-opt %s -bathy-cpu-approximate-math | FileCheck %s

// f32 exp, tanh and erf become arithmetic (no call left for libm); f64 and
// functions outside the list (sin) are left for the library.
// CHECK-LABEL: func.func @activations
// CHECK-NOT:     math.exp {{.*}} : f32
// CHECK-NOT:     math.tanh
// CHECK-NOT:     math.erf
// CHECK:         math.fma
// CHECK:         math.exp %{{.+}} : f64
// CHECK:         math.sin %{{.+}} : f32
func.func @activations(%x: f32, %y: f64) -> (f32, f32, f32, f64, f32) {
  %e = math.exp %x : f32
  %t = math.tanh %x : f32
  %r = math.erf %x : f32
  %d = math.exp %y : f64
  %s = math.sin %x : f32
  return %e, %t, %r, %d, %s : f32, f32, f32, f64, f32
}
