//===- BathyOps.h - The bathy dialect and its operations ------------------===//
#ifndef BATHY_DIALECT_BATHY_BATHYOPS_H
#define BATHY_DIALECT_BATHY_BATHYOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "bathy/Dialect/Bathy/ShapeUtils.h"

namespace bathy::OpTrait {
/// Op roles, declared in ODS (BathyBase.td, "Traits") and read by passes.
#define BATHY_ROLE_TRAIT(Name)                                                 \
  template <typename ConcreteType>                                             \
  class Name : public mlir::OpTrait::TraitBase<ConcreteType, Name> {};
/// Elementwise ops, which broadcast their operands NumPy style.
BATHY_ROLE_TRAIT(BathyElementwise)
/// Ops that only re-index elements.
BATHY_ROLE_TRAIT(BathyReindexing)
/// Matrix contractions.
BATHY_ROLE_TRAIT(BathyContraction)
/// Convolutions.
BATHY_ROLE_TRAIT(BathyConvolution)
/// Reductions along axes (alone or to normalise).
BATHY_ROLE_TRAIT(BathyReduction)
/// Ops whose result has the shape of their first operand.
BATHY_ROLE_TRAIT(BathyShapeOfFirstOperand)
#undef BATHY_ROLE_TRAIT
} // namespace bathy::OpTrait

namespace bathy {
/// Unit attribute marking a func.func as a kernel launched by bathy.launch.
constexpr llvm::StringLiteral kKernelAttrName = "bathy.kernel";
/// Array of the ONNX node names a kernel implements, in program order.
constexpr llvm::StringLiteral kKernelNodesAttrName = "bathy.nodes";
/// On kernels from fusion groups: the group's kind, and why inputs from other
/// kernels were not fused (see bathy.fusion_group).
constexpr llvm::StringLiteral kKernelKindAttrName = "bathy.fusion_kind";
constexpr llvm::StringLiteral kKernelRejectedAttrName = "bathy.fusion_rejected";
/// On broadcasting ops (n-ary elementwise, expand, matmul batch dims): the
/// result dims along which every operand size that is not a static 1 is
/// known to be the same (bathy-graph-symbolic-dims). Lowerings read those
/// with identity maps; other dynamic operand dims are checked at run time
/// for broadcasting. Without the attribute nothing is known.
constexpr llvm::StringLiteral kEqualDimsAttr = "bathy.equal_dims";
} // namespace bathy

#include "bathy/Dialect/Bathy/BathyOpsDialect.h.inc"

#define GET_OP_CLASSES
#include "bathy/Dialect/Bathy/BathyOps.h.inc"

#endif // BATHY_DIALECT_BATHY_BATHYOPS_H
