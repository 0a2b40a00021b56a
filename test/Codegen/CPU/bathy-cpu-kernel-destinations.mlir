// RUN: bathy-opt %s -bathy-cpu-kernel-destinations | FileCheck %s

// A static-size result: its allocation becomes a buffer passed after the
// arguments, which the kernel writes in place.
// CHECK-LABEL: func.func @relu_0(
// CHECK-SAME: %[[X:.*]]: memref<4xf32>, %[[OUT:.*]]: memref<4xf32>)
// CHECK-SAME: bathy.destinations
// CHECK-NOT: memref.alloc
// CHECK: linalg.generic {{.*}} ins(%[[X]] : memref<4xf32>) outs(%[[OUT]] : memref<4xf32>)
// CHECK: return{{$}}
func.func @relu_0(%x: memref<4xf32>) -> memref<4xf32> attributes {bathy.kernel} {
  %c0 = arith.constant 0.0 : f32
  %out = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                  iterator_types = ["parallel"]}
      ins(%x : memref<4xf32>) outs(%out : memref<4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %m = arith.maximumf %a, %c0 : f32
    linalg.yield %m : f32
  }
  return %out : memref<4xf32>
}

// A result that is not its own allocation (here the argument) is copied
// into the destination.
// CHECK-LABEL: func.func @identity_1(
// CHECK-SAME: %[[X:.*]]: memref<2x3xf32>, %[[OUT:.*]]: memref<2x3xf32>)
// CHECK: memref.copy %[[X]], %[[OUT]]
func.func @identity_1(%x: memref<2x3xf32>) -> memref<2x3xf32> attributes {bathy.kernel} {
  return %x : memref<2x3xf32>
}

// A dynamic size keeps the result returned (the kernel allocates it).
// CHECK-LABEL: func.func @dynamic_2(
// CHECK-SAME: -> memref<?xf32>
// CHECK-NOT: bathy.destinations
func.func @dynamic_2(%x: memref<?xf32>) -> memref<?xf32> attributes {bathy.kernel} {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?xf32>
  %out = memref.alloc(%n) : memref<?xf32>
  memref.copy %x, %out : memref<?xf32> to memref<?xf32>
  return %out : memref<?xf32>
}

// Functions that are not kernels are left alone.
// CHECK-LABEL: func.func @helper(
// CHECK-SAME: -> memref<4xf32>
func.func @helper() -> memref<4xf32> {
  %out = memref.alloc() : memref<4xf32>
  return %out : memref<4xf32>
}

// One buffer returned twice gets two destinations: the second is a copy.
// CHECK-LABEL: func.func @twice_3(
// CHECK-SAME: %[[X:.*]]: memref<2xi64>, %[[D0:.*]]: memref<2xi64>, %[[D1:.*]]: memref<2xi64>)
// CHECK: linalg.generic {{.*}} outs(%[[D0]] : memref<2xi64>)
// CHECK: memref.copy %[[D0]], %[[D1]]
// CHECK: return{{$}}
func.func @twice_3(%x: memref<2xi64>) -> (memref<2xi64>, memref<2xi64>) attributes {bathy.kernel} {
  %out = memref.alloc() : memref<2xi64>
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                  iterator_types = ["parallel"]}
      ins(%x : memref<2xi64>) outs(%out : memref<2xi64>) {
  ^bb0(%a: i64, %b: i64):
    linalg.yield %a : i64
  }
  return %out, %out : memref<2xi64>, memref<2xi64>
}
