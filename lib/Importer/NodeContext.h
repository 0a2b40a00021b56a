//===- NodeContext.h - What an ONNX op handler sees of its node -----------===//
//
// A handler converts one ONNX node: it reads inputs and attributes through
// the NodeContext (which checks attribute types and reports errors naming the
// node), builds bathy ops at the node's location, and sets the results.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_IMPORTER_NODECONTEXT_H
#define BATHY_IMPORTER_NODECONTEXT_H

#include <optional>
#include <string>

#include "Tensors.h"
#include "bathy/Dialect/Bathy/BathyOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "onnx/onnx_pb.h"

namespace bathy::onnx_import {

class NodeContext {
public:
  NodeContext(const onnx::NodeProto &node, llvm::StringRef name, int64_t opset,
              llvm::SmallVector<mlir::Value> inputs,
              llvm::SmallVector<bool> outputUsed, mlir::OpBuilder &builder,
              mlir::Location loc, const TensorSource &source)
      : node_(node), name_(name.str()), opset_(opset),
        inputs_(std::move(inputs)), outputUsed_(std::move(outputUsed)),
        builder_(builder), loc_(loc), source_(source) {}

  const onnx::NodeProto &node() const { return node_; }
  llvm::StringRef name() const { return name_; }
  llvm::StringRef opType() const { return node_.op_type(); }
  int64_t opset() const { return opset_; }
  mlir::OpBuilder &builder() { return builder_; }
  mlir::Location loc() const { return loc_; }
  mlir::MLIRContext *context() const { return loc_.getContext(); }

  /// An error at the node: "node 'name' (OpType): ...".
  mlir::InFlightDiagnostic emitError();

  //===--- Inputs ---------------------------------------------------------===//
  unsigned numInputs() const { return inputs_.size(); }
  /// Input `i`, or null if the node does not give it (optional inputs).
  mlir::Value input(unsigned i) const {
    return i < inputs_.size() ? inputs_[i] : mlir::Value();
  }
  /// Input `i`, with an error if it is missing.
  mlir::FailureOr<mlir::Value> requiredInput(unsigned i, llvm::StringRef what);
  /// The values of a constant integer input, if it is one.
  std::optional<llvm::SmallVector<int64_t>> constantInts(unsigned i) const;
  /// The value of a constant scalar (or one-element) input as a double.
  std::optional<double> constantScalar(unsigned i) const;

  //===--- Attributes -----------------------------------------------------===//
  bool hasAttr(llvm::StringRef name) const { return findAttr(name); }
  mlir::FailureOr<int64_t> attrInt(llvm::StringRef name,
                                   std::optional<int64_t> dflt);
  mlir::FailureOr<float> attrFloat(llvm::StringRef name,
                                   std::optional<float> dflt);
  mlir::FailureOr<std::string> attrString(llvm::StringRef name,
                                          std::optional<std::string> dflt);
  mlir::FailureOr<llvm::SmallVector<int64_t>>
  attrInts(llvm::StringRef name,
           std::optional<llvm::SmallVector<int64_t>> dflt);
  mlir::FailureOr<llvm::SmallVector<float>>
  attrFloats(llvm::StringRef name,
             std::optional<llvm::SmallVector<float>> dflt);
  /// A TENSOR attribute converted to an inline constant attribute.
  mlir::FailureOr<mlir::ElementsAttr> attrTensor(llvm::StringRef name);

  //===--- Outputs --------------------------------------------------------===//
  unsigned numOutputs() const { return outputUsed_.size(); }
  bool outputUsed(unsigned i) const {
    return i < outputUsed_.size() && outputUsed_[i];
  }
  /// Sets the node's results; extra values (optional outputs the node does
  /// not declare) are dropped, and outputs past `values` must be unused.
  mlir::LogicalResult setResults(mlir::ValueRange values);
  llvm::ArrayRef<mlir::Value> results() const { return results_; }

  //===--- Helpers for handlers -------------------------------------------===//
  /// Rank of a value if ranked.
  /// The window attributes of a Conv or pooling node over `input` with
  /// `kernel` spatial sizes: strides and dilations (default 1), explicit pads
  /// with auto_pad resolved (SAME_* needs static spatial dims).
  mlir::FailureOr<infer::Window> readWindow(mlir::Value input,
                                            llvm::ArrayRef<int64_t> kernel);

  static std::optional<int64_t> rankOf(mlir::Value v);
  static mlir::Type elementOf(mlir::Value v);
  /// Normalizes an ONNX axis (negative counts from the end) for `rank`.
  mlir::FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank,
                                         llvm::StringRef what = "axis");
  /// Reads the axis attribute `name` (default `dflt`) and normalizes it for
  /// the rank of `of`, which must be known.
  mlir::FailureOr<int64_t> attrAxis(llvm::StringRef name, int64_t dflt,
                                    mlir::Value of);
  /// Needs the rank of input `i` to be known.
  mlir::FailureOr<int64_t> requireRank(mlir::Value v, llvm::StringRef what);
  /// A constant i64 tensor (1-D, or a scalar when `scalar`).
  mlir::Value constantI64(llvm::ArrayRef<int64_t> values, bool scalar = false);
  /// A scalar constant of `element` type holding `value`.
  mlir::Value constantScalarOf(mlir::Type element, double value);

  /// Builds a single-result op whose result type is inferred from its
  /// operands and attributes, and folds it where possible. If inference
  /// fails (the model is inconsistent), the error is reported at the node and
  /// nothing is built.
  template <typename OpTy, typename... Args>
  mlir::FailureOr<mlir::Value> build(Args &&...args) {
    auto op = OpTy::create(builder_, loc_, placeholderType(),
                           std::forward<Args>(args)...);
    llvm::SmallVector<mlir::Value> results;
    if (mlir::failed(finishInferred(op.getOperation(), results)))
      return mlir::failure();
    return results.front();
  }
  /// Like build, for ops with `numResults` results.
  template <typename OpTy, typename... Args>
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  buildMulti(unsigned numResults, Args &&...args) {
    llvm::SmallVector<mlir::Type> types(numResults, placeholderType());
    auto op = OpTy::create(builder_, loc_, types, std::forward<Args>(args)...);
    llvm::SmallVector<mlir::Value> results;
    if (mlir::failed(finishInferred(op.getOperation(), results)))
      return mlir::failure();
    return results;
  }
  /// Builds an op with explicit result types (cast, reshape) and folds it.
  template <typename OpTy, typename... Args>
  mlir::Value buildTyped(Args &&...args) {
    return builder_.createOrFold<OpTy>(loc_, std::forward<Args>(args)...);
  }

private:
  mlir::Type placeholderType() {
    return mlir::UnrankedTensorType::get(builder_.getF32Type());
  }
  mlir::LogicalResult finishInferred(mlir::Operation *op,
                                     llvm::SmallVectorImpl<mlir::Value> &out);
  const onnx::AttributeProto *findAttr(llvm::StringRef name) const;
  mlir::LogicalResult checkAttrType(const onnx::AttributeProto &attr,
                                    onnx::AttributeProto::AttributeType want);

  const onnx::NodeProto &node_;
  std::string name_;
  int64_t opset_;
  llvm::SmallVector<mlir::Value> inputs_;
  llvm::SmallVector<bool> outputUsed_;
  llvm::SmallVector<mlir::Value> results_;
  mlir::OpBuilder &builder_;
  mlir::Location loc_;
  const TensorSource &source_;
};

} // namespace bathy::onnx_import

#endif // BATHY_IMPORTER_NODECONTEXT_H
