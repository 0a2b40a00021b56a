//===- NodeContext.cpp - What an ONNX op handler sees of its node ---------===//
#include "NodeContext.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace bathy::onnx_import {

LogicalResult NodeContext::finishInferred(Operation *op,
                                          SmallVectorImpl<Value> &out) {
  auto infer = cast<InferTypeOpInterface>(op);
  SmallVector<Type> types;
  if (failed(infer.inferReturnTypes(
          context(), loc_, op->getOperands(), op->getAttrDictionary(),
          op->getPropertiesStorage(), op->getRegions(), types)) ||
      types.size() != op->getNumResults()) {
    op->erase();
    return emitError() << "cannot convert the node (see the error above)";
  }
  for (auto [result, type] : llvm::zip(op->getResults(), types))
    result.setType(type);
  if (succeeded(builder_.tryFold(op, out)) && !out.empty()) {
    op->erase();
    return success();
  }
  out.assign(op->result_begin(), op->result_end());
  return success();
}

InFlightDiagnostic NodeContext::emitError() {
  return mlir::emitError(loc_)
         << "node '" << name_ << "' (" << opType() << "): ";
}

FailureOr<Value> NodeContext::requiredInput(unsigned i, StringRef what) {
  if (Value v = input(i))
    return v;
  return emitError() << "missing required input " << i << " (" << what << ")";
}

std::optional<SmallVector<int64_t>>
NodeContext::constantInts(unsigned i) const {
  Value v = input(i);
  if (!v)
    return std::nullopt;
  DenseIntElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  SmallVector<int64_t> out;
  for (const APInt &x : attr.getValues<APInt>())
    out.push_back(x.getSExtValue());
  return out;
}

std::optional<double> NodeContext::constantScalar(unsigned i) const {
  Value v = input(i);
  if (!v)
    return std::nullopt;
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || attr.getNumElements() != 1)
    return std::nullopt;
  if (isa<FloatType>(attr.getElementType()))
    return (*attr.getValues<APFloat>().begin()).convertToDouble();
  if (auto it = dyn_cast<IntegerType>(attr.getElementType())) {
    APInt x = *attr.getValues<APInt>().begin();
    return it.isUnsigned() || it.getWidth() == 1
               ? static_cast<double>(x.getZExtValue())
               : static_cast<double>(x.getSExtValue());
  }
  return std::nullopt;
}

const onnx::AttributeProto *NodeContext::findAttr(StringRef name) const {
  for (const onnx::AttributeProto &a : node_.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

LogicalResult
NodeContext::checkAttrType(const onnx::AttributeProto &attr,
                           onnx::AttributeProto::AttributeType want) {
  if (!attr.ref_attr_name().empty())
    return emitError() << "attribute '" << attr.name()
                       << "' refers to a function attribute, which is only "
                          "valid inside functions";
  onnx::AttributeProto::AttributeType got = attr.type();
  if (got == onnx::AttributeProto::UNDEFINED) {
    // Old models leave the type unset; infer it from the filled field.
    if (attr.has_i())
      got = onnx::AttributeProto::INT;
    else if (attr.has_f())
      got = onnx::AttributeProto::FLOAT;
    else if (attr.has_s())
      got = onnx::AttributeProto::STRING;
    else if (attr.has_t())
      got = onnx::AttributeProto::TENSOR;
    else if (attr.ints_size())
      got = onnx::AttributeProto::INTS;
    else if (attr.floats_size())
      got = onnx::AttributeProto::FLOATS;
  }
  if (got == want)
    return success();
  return emitError() << "attribute '" << attr.name() << "' must be "
                     << onnx::AttributeProto::AttributeType_Name(want)
                     << ", not "
                     << onnx::AttributeProto::AttributeType_Name(got);
}

FailureOr<int64_t> NodeContext::attrInt(StringRef name,
                                        std::optional<int64_t> dflt) {
  const onnx::AttributeProto *a = findAttr(name);
  if (!a) {
    if (dflt)
      return *dflt;
    return emitError() << "missing required attribute '" << name << "'";
  }
  if (failed(checkAttrType(*a, onnx::AttributeProto::INT)))
    return failure();
  return a->i();
}

FailureOr<float> NodeContext::attrFloat(StringRef name,
                                        std::optional<float> dflt) {
  const onnx::AttributeProto *a = findAttr(name);
  if (!a) {
    if (dflt)
      return *dflt;
    return emitError() << "missing required attribute '" << name << "'";
  }
  if (failed(checkAttrType(*a, onnx::AttributeProto::FLOAT)))
    return failure();
  return a->f();
}

FailureOr<std::string>
NodeContext::attrString(StringRef name, std::optional<std::string> dflt) {
  const onnx::AttributeProto *a = findAttr(name);
  if (!a) {
    if (dflt)
      return *dflt;
    return emitError() << "missing required attribute '" << name << "'";
  }
  if (failed(checkAttrType(*a, onnx::AttributeProto::STRING)))
    return failure();
  return a->s();
}

FailureOr<SmallVector<int64_t>>
NodeContext::attrInts(StringRef name,
                      std::optional<SmallVector<int64_t>> dflt) {
  const onnx::AttributeProto *a = findAttr(name);
  if (!a) {
    if (dflt)
      return *dflt;
    return emitError() << "missing required attribute '" << name << "'";
  }
  if (failed(checkAttrType(*a, onnx::AttributeProto::INTS)))
    return failure();
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

FailureOr<SmallVector<float>>
NodeContext::attrFloats(StringRef name,
                        std::optional<SmallVector<float>> dflt) {
  const onnx::AttributeProto *a = findAttr(name);
  if (!a) {
    if (dflt)
      return *dflt;
    return emitError() << "missing required attribute '" << name << "'";
  }
  if (failed(checkAttrType(*a, onnx::AttributeProto::FLOATS)))
    return failure();
  return SmallVector<float>(a->floats().begin(), a->floats().end());
}

FailureOr<ElementsAttr> NodeContext::attrTensor(StringRef name) {
  const onnx::AttributeProto *a = findAttr(name);
  if (!a)
    return emitError() << "missing required attribute '" << name << "'";
  if (failed(checkAttrType(*a, onnx::AttributeProto::TENSOR)))
    return failure();
  return convertTensor(a->t(), source_, loc_);
}

LogicalResult NodeContext::setResults(ValueRange values) {
  // Handlers may compute optional outputs the node does not declare.
  if (values.size() > outputUsed_.size())
    values = values.take_front(outputUsed_.size());
  for (unsigned i = values.size(); i < outputUsed_.size(); ++i)
    if (outputUsed_[i])
      return emitError() << "output " << i << " ('" << node_.output(i)
                         << "') is used, but bathy only supports the first "
                         << values.size() << " output(s) of " << opType();
  results_.assign(values.begin(), values.end());
  return success();
}

std::optional<int64_t> NodeContext::rankOf(Value v) {
  return infer::rankOf(v.getType());
}

Type NodeContext::elementOf(Value v) { return infer::elementOf(v.getType()); }

FailureOr<int64_t> NodeContext::normalizeAxis(int64_t axis, int64_t rank,
                                              StringRef what) {
  int64_t n = axis < 0 ? axis + rank : axis;
  if (n < 0 || n >= rank)
    return emitError() << what << " " << axis << " is out of range for rank "
                       << rank;
  return n;
}

FailureOr<int64_t> NodeContext::attrAxis(StringRef name, int64_t dflt,
                                         Value of) {
  FailureOr<int64_t> axis = attrInt(name, dflt);
  if (failed(axis))
    return failure();
  FailureOr<int64_t> rank = requireRank(of, "the input");
  if (failed(rank))
    return failure();
  return normalizeAxis(*axis, *rank, name);
}

FailureOr<int64_t> NodeContext::requireRank(Value v, StringRef what) {
  if (std::optional<int64_t> r = rankOf(v))
    return *r;
  return emitError() << "the rank of " << what
                     << " must be known; give the model's inputs shapes";
}

Value NodeContext::constantI64(ArrayRef<int64_t> values, bool scalar) {
  auto type = RankedTensorType::get(
      scalar ? ArrayRef<int64_t>{} : ArrayRef<int64_t>{(int64_t)values.size()},
      builder_.getI64Type());
  return ConstantOp::create(builder_, loc_,
                            DenseElementsAttr::get(type, values));
}

Value NodeContext::constantScalarOf(Type element, double value) {
  auto type = RankedTensorType::get({}, element);
  Attribute attr;
  if (auto ft = dyn_cast<FloatType>(element)) {
    APFloat f(value);
    bool lost;
    f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    attr = DenseElementsAttr::get(type, f);
  } else {
    auto it = cast<IntegerType>(element);
    attr = DenseElementsAttr::get(type, APInt(it.getWidth(),
                                              static_cast<int64_t>(value),
                                              /*isSigned=*/!it.isUnsigned()));
  }
  return ConstantOp::create(builder_, loc_, cast<ElementsAttr>(attr));
}

/// Strides, dilations and explicit pads of a windowed op (Conv, pooling),
/// with auto_pad resolved (SAME_* needs static spatial dims).
FailureOr<infer::Window> NodeContext::readWindow(Value input,
                                  ArrayRef<int64_t> kernel) {
  FailureOr<int64_t> rank = requireRank(input, "the input");
  if (failed(rank))
    return failure();
  if (*rank < 3)
    return emitError() << "input must have rank >= 3, got " << *rank;
  int64_t spatial = *rank - 2;
  if (static_cast<int64_t>(kernel.size()) != spatial)
    return emitError() << "kernel has " << kernel.size()
                           << " spatial dims but the input has " << spatial;
  infer::Window w;
  FailureOr<SmallVector<int64_t>> strides =
      attrInts("strides", SmallVector<int64_t>(spatial, 1));
  FailureOr<SmallVector<int64_t>> dilations =
      attrInts("dilations", SmallVector<int64_t>(spatial, 1));
  FailureOr<SmallVector<int64_t>> pads =
      attrInts("pads", SmallVector<int64_t>(2 * spatial, 0));
  FailureOr<std::string> autoPad = attrString("auto_pad", "NOTSET");
  if (failed(strides) || failed(dilations) || failed(pads) || failed(autoPad))
    return failure();
  w.strides = *strides;
  w.dilations = *dilations;
  w.pads = *pads;
  if (*autoPad == "NOTSET")
    return w;
  if (*autoPad == "VALID") {
    w.pads.assign(2 * spatial, 0);
    return w;
  }
  if (*autoPad != "SAME_UPPER" && *autoPad != "SAME_LOWER")
    return emitError() << "unknown auto_pad '" << *autoPad << "'";
  if (static_cast<int64_t>(w.strides.size()) != spatial ||
      static_cast<int64_t>(w.dilations.size()) != spatial)
    return emitError() << "strides and dilations need " << spatial
                           << " entries";
  auto type = cast<RankedTensorType>(input.getType());
  w.pads.assign(2 * spatial, 0);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t in = type.getDimSize(i + 2);
    if (ShapedType::isDynamic(in))
      return emitError()
             << "auto_pad=" << *autoPad << " needs static spatial dims";
    if (w.strides[i] < 1)
      return emitError() << "strides must be >= 1";
    int64_t out = (in + w.strides[i] - 1) / w.strides[i];
    int64_t total = std::max<int64_t>(
        (out - 1) * w.strides[i] + (kernel[i] - 1) * w.dilations[i] + 1 - in,
        0);
    int64_t small = total / 2, large = total - small;
    w.pads[i] = *autoPad == "SAME_UPPER" ? small : large;
    w.pads[i + spatial] = *autoPad == "SAME_UPPER" ? large : small;
  }
  return w;
}

} // namespace bathy::onnx_import
