// RUN: bathy-opt %s -bathy-cpu-safe-integer-division | FileCheck %s

// x / d: a divisor of 0 or -1 is replaced by 1, then 0 - x for -1 and 0
// for 0 are selected.
// CHECK-LABEL: func.func @divsi(
// CHECK-SAME:      %[[X:.+]]: i64, %[[D:.+]]: i64)
// CHECK-DAG:     %[[Z:.+]] = arith.constant 0 : i64
// CHECK-DAG:     %[[ONE:.+]] = arith.constant 1 : i64
// CHECK:         %[[ISZ:.+]] = arith.cmpi eq, %[[D]], %[[Z]]
// CHECK:         %[[M1:.+]] = arith.constant -1 : i64
// CHECK:         %[[ISM:.+]] = arith.cmpi eq, %[[D]], %[[M1]]
// CHECK:         %[[BAD:.+]] = arith.ori %[[ISZ]], %[[ISM]]
// CHECK:         %[[SAFE:.+]] = arith.select %[[BAD]], %[[ONE]], %[[D]]
// CHECK:         %[[Q:.+]] = arith.divsi %[[X]], %[[SAFE]]
// CHECK:         %[[NEG:.+]] = arith.subi %[[Z]], %[[X]]
// CHECK:         %[[R1:.+]] = arith.select %[[ISM]], %[[NEG]], %[[Q]]
// CHECK:         %[[R:.+]] = arith.select %[[ISZ]], %[[Z]], %[[R1]]
// CHECK:         return %[[R]]
func.func @divsi(%x: i64, %d: i64) -> i64 {
  %q = arith.divsi %x, %d : i64
  return %q : i64
}

// x % d is 0 for d = 0 and d = -1.
// CHECK-LABEL: func.func @remsi(
// CHECK:         %[[SAFE:.+]] = arith.select %[[BAD:.+]], %{{.+}}, %{{.+}}
// CHECK:         %[[R:.+]] = arith.remsi %{{.+}}, %[[SAFE]]
// CHECK:         arith.select %[[BAD]], %{{.+}}, %[[R]]
func.func @remsi(%x: i32, %d: i32) -> i32 {
  %r = arith.remsi %x, %d : i32
  return %r : i32
}

// Unsigned: only 0 is guarded; vectors too.
// CHECK-LABEL: func.func @divui_vector(
// CHECK:         %[[Z:.+]] = arith.constant dense<0> : vector<4xi32>
// CHECK:         %[[ISZ:.+]] = arith.cmpi eq, %{{.+}}, %[[Z]] : vector<4xi32>
// CHECK-NOT:     dense<-1>
// CHECK:         arith.divui
func.func @divui_vector(%x: vector<4xi32>, %d: vector<4xi32>) -> vector<4xi32> {
  %q = arith.divui %x, %d : vector<4xi32>
  return %q : vector<4xi32>
}

// Constant divisors other than 0 and -1 cannot trap: left alone.
// CHECK-LABEL: func.func @constant(
// CHECK-NEXT:    %[[C:.+]] = arith.constant 7 : index
// CHECK-NEXT:    %[[Q:.+]] = arith.divsi %{{.+}}, %[[C]] : index
// CHECK-NEXT:    return %[[Q]]
func.func @constant(%x: index) -> index {
  %c = arith.constant 7 : index
  %q = arith.divsi %x, %c : index
  return %q : index
}
