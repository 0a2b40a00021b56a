//===- BathyBase.td - The bathy dialect, type constraints, op families ----===//
//
// The `bathy` dialect is the graph-level IR that ONNX models are imported into.
// Its ops work on builtin tensors with NumPy-style broadcasting. This file
// holds the dialect itself and the op family base classes; BathyOps.td holds
// the ops.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_DIALECT_BATHY_BATHYBASE_TD
#define BATHY_DIALECT_BATHY_BATHYBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

def Bathy_Dialect : Dialect {
  let name = "bathy";
  let cppNamespace = "::bathy";
  let summary = "Graph-level tensor operations for ONNX models.";
  let description = [{
    The `bathy` dialect expresses the inference graphs of deep-learning models
    (convolutional networks, vision and language transformers) as pure
    operations on builtin tensors. Elementwise operations broadcast their
    operands NumPy style, shapes may be partly or wholly dynamic (`?`), and
    every op's location carries the ONNX node it came from.

    Results are inferred from operands and attributes; an op's declared result
    type may be less precise than the inferred one (a dynamic dim where the
    inference knows a static size) but never contradict it. The
    `bathy-graph-infer-shapes` pass refines declared types to the inferred ones.
  }];
  let hasConstantMaterializer = 1;
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Bathy_Tensor : AnyTypeOf<[AnyRankedTensor, AnyUnrankedTensor]>;
def Bathy_FloatTensor : TensorOf<[AnyFloat]>;
def Bathy_BoolTensor : TensorOf<[I1]>;
def Bathy_IndexTensor : TensorOf<[I32, I64]>;
def Bathy_I64Tensor : TensorOf<[I64]>;
def Bathy_ShapeTensor : 1DTensorOf<[I64]>;

//===----------------------------------------------------------------------===//
// Traits
//===----------------------------------------------------------------------===//

// An op's role, declared once here and read by the passes that treat ops by
// kind (bathy-fusion-form-groups, bathy-graph-symbolic-dims, the linalg
// lowering) instead of lists of ops.

// Elementwise ops (with broadcasting); fusion groups them into chains.
def Bathy_ElementwiseTrait : NativeOpTrait<"BathyElementwise"> {
  let cppNamespace = "::bathy::OpTrait";
}
// Ops that only re-index elements (transpose, reshapes, squeeze/unsqueeze):
// fusion folds them into the GEMM or attention that reads them.
def Bathy_ReindexingTrait : NativeOpTrait<"BathyReindexing"> {
  let cppNamespace = "::bathy::OpTrait";
}
// Matrix contractions (GEMM-class kernels with epilogues).
def Bathy_ContractionTrait : NativeOpTrait<"BathyContraction"> {
  let cppNamespace = "::bathy::OpTrait";
}
// Convolutions (conv kernels with epilogues).
def Bathy_ConvolutionTrait : NativeOpTrait<"BathyConvolution"> {
  let cppNamespace = "::bathy::OpTrait";
}
// Ops that reduce along axes, alone (reduce_*) or to normalise
// (softmax, norms): fusion gives them prologues and epilogues.
def Bathy_ReductionTrait : NativeOpTrait<"BathyReduction"> {
  let cppNamespace = "::bathy::OpTrait";
}
// The result has the shape of the first operand (softmax, norms, trilu):
// symbolic sizes carry over unchanged.
def Bathy_ShapeOfFirstOperandTrait : NativeOpTrait<"BathyShapeOfFirstOperand"> {
  let cppNamespace = "::bathy::OpTrait";
}

// Result types are inferred from operands and attributes through the op's
// Adaptor; a declared result may be less static than the inferred one.
def Bathy_InferTypes : InferTypeOpAdaptorBase<[{
    static bool isCompatibleReturnTypes(::mlir::TypeRange inferred,
                                        ::mlir::TypeRange actual) {
      return ::bathy::areRefinableTypes(inferred, actual);
    }
  }]>;

//===----------------------------------------------------------------------===//
// Op families
//===----------------------------------------------------------------------===//

// Every bathy op is pure: the graph has no side effects until the runtime.
class Bathy_Op<string mnemonic, list<Trait> traits = []>
    : Op<Bathy_Dialect, mnemonic, !listconcat(traits, [Pure])>;

// One operand, one result of the same element type and shape.
class Bathy_UnaryOp<string mnemonic, Type operandType = Bathy_Tensor,
                    list<Trait> traits = []>
    : Bathy_Op<mnemonic, !listconcat(traits, [Bathy_ElementwiseTrait,
                                              Bathy_InferTypes])> {
  let arguments = (ins operandType:$input);
  let results = (outs operandType:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *, std::optional<::mlir::Location>,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &inferred) {
      inferred.push_back(adaptor.getInput().getType());
      return ::mlir::success();
    }
  }];
}

// Two operands of one element type, broadcast NumPy style.
class Bathy_BinaryOp<string mnemonic, Type operandType = Bathy_Tensor,
                     list<Trait> traits = []>
    : Bathy_Op<mnemonic, !listconcat(traits, [Bathy_ElementwiseTrait,
                                              Bathy_InferTypes])> {
  let arguments = (ins operandType:$lhs, operandType:$rhs);
  let results = (outs operandType:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *, std::optional<::mlir::Location> location,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &inferred) {
      return ::bathy::infer::inferBroadcast(
          location, getOperationName(),
          {adaptor.getLhs().getType(), adaptor.getRhs().getType()},
          /*resultElementType=*/nullptr, inferred);
    }
  }];
}

// A binary comparison: broadcast like Bathy_BinaryOp, result of type i1.
class Bathy_CompareOp<string mnemonic, list<Trait> traits = []>
    : Bathy_Op<mnemonic, !listconcat(traits, [Bathy_ElementwiseTrait,
                                              Bathy_InferTypes])> {
  let arguments = (ins Bathy_Tensor:$lhs, Bathy_Tensor:$rhs);
  let results = (outs Bathy_BoolTensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *context, std::optional<::mlir::Location> location,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &inferred) {
      return ::bathy::infer::inferBroadcast(
          location, getOperationName(),
          {adaptor.getLhs().getType(), adaptor.getRhs().getType()},
          ::mlir::IntegerType::get(context, 1), inferred);
    }
  }];
}

// Reduces `axes` (sorted, unique, non-negative; empty means all) of the input.
class Bathy_ReductionOp<string mnemonic, list<Trait> traits = []>
    : Bathy_Op<mnemonic, !listconcat(traits, [Bathy_InferTypes])> {
  let arguments = (ins Bathy_Tensor:$input,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$axes,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *, std::optional<::mlir::Location> location,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &inferred) {
      return ::bathy::infer::inferReduction(
          location, getOperationName(), adaptor.getInput().getType(),
          adaptor.getAxes(), adaptor.getKeepdims(),
          /*resultElementType=*/nullptr, inferred);
    }
  }];
}

// Windowed pooling over the spatial dims of an NC... input.
class Bathy_PoolOp<string mnemonic, list<Trait> traits = []>
    : Bathy_Op<mnemonic, !listconcat(traits, [Bathy_InferTypes])> {
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

#endif // BATHY_DIALECT_BATHY_BATHYBASE_TD
