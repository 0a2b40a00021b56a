//===- Passes.h - bathy kernels to linalg ---------------------------------===//
//
// The target-neutral conversion of bathy kernels to linalg on tensors
// (Passes.td beside this header).
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_CODEGEN_TOLINALG_PASSES_H
#define BATHY_CODEGEN_TOLINALG_PASSES_H

#include "bathy/Dialect/Bathy/BathyOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace bathy {

#define GEN_PASS_DECL
#include "bathy/Codegen/ToLinalg/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "bathy/Codegen/ToLinalg/Passes.h.inc"

} // namespace bathy

#endif // BATHY_CODEGEN_TOLINALG_PASSES_H
