//===- ExecutionPlan.cpp - A host function as the runtime's execution plan ===//
#include "bathy/Codegen/CPU/ExecutionPlan.h"

#include <cstring>

#include "bathy/Dialect/Bathy/BathyOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "runtime/memory.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace bathy {
namespace {

std::optional<rt::DType> toDType(Type t) {
  if (t.isF32())
    return rt::DType::kF32;
  if (t.isF16())
    return rt::DType::kF16;
  if (t.isBF16())
    return rt::DType::kBF16;
  if (t.isF64())
    return rt::DType::kF64;
  if (auto i = dyn_cast<IntegerType>(t)) {
    bool u = i.isUnsigned();
    switch (i.getWidth()) {
    case 1:
      return rt::DType::kBool;
    case 8:
      return u ? rt::DType::kU8 : rt::DType::kI8;
    case 16:
      return u ? rt::DType::kU16 : rt::DType::kI16;
    case 32:
      return u ? rt::DType::kU32 : rt::DType::kI32;
    case 64:
      return u ? rt::DType::kU64 : rt::DType::kI64;
    }
  }
  return std::nullopt;
}

/// Element type and rank of a value the plan holds.
FailureOr<rt::Plan::Value> valueOf(Value v, StringRef what) {
  auto ranked = dyn_cast<RankedTensorType>(v.getType());
  Location loc = v.getLoc();
  if (!ranked)
    return emitError(loc) << what << " must be a ranked tensor to run, got "
                          << v.getType();
  std::optional<rt::DType> dtype = toDType(ranked.getElementType());
  if (!dtype)
    return emitError(loc) << what << " has element type "
                          << ranked.getElementType()
                          << ", which the runtime does not support";
  rt::Plan::Value value;
  value.dtype = *dtype;
  for (int64_t d : ranked.getShape())
    value.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
  return value;
}

rt::TensorSpec specFor(Type type, DictionaryAttr attrs, StringRef fallback) {
  auto ranked = cast<RankedTensorType>(type);
  rt::TensorSpec spec;
  spec.name = fallback.str();
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("bathy.name"))
      spec.name = name.str();
  spec.dtype = *toDType(ranked.getElementType());
  for (int64_t d : ranked.getShape())
    spec.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
  spec.dim_params.assign(spec.shape.size(), "");
  if (attrs)
    if (auto params = attrs.getAs<ArrayAttr>("bathy.dim_params"))
      for (auto [i, p] : llvm::enumerate(params))
        if (i < spec.dim_params.size())
          if (auto s = dyn_cast<StringAttr>(p))
            spec.dim_params[i] = s.str();
  return spec;
}

/// The dense row-major bytes of a constant (booleans one byte each).
FailureOr<rt::AlignedBytes> bytesOf(ConstantOp op, size_t elementBytes,
                                    int64_t count) {
  Attribute value = op.getValue();
  size_t size = static_cast<size_t>(count) * elementBytes;
  rt::AlignedBytes out = rt::AlignedBytes::Allocate(size);
  if (!out.data)
    return op.emitError("out of memory copying a constant of ")
           << rt::FormatBytes(static_cast<int64_t>(size));
  uint8_t *dst = out.data.get();
  // Bytes already in the plan's layout.
  auto copyAll = [&](ArrayRef<char> data,
                     StringRef what) -> FailureOr<rt::AlignedBytes> {
    if (data.size() != size)
      return op.emitError(what)
             << " holds " << data.size() << " bytes, its type needs " << size;
    if (size)
      std::memcpy(dst, data.data(), size);
    return std::move(out);
  };
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return op.emitError("the weights of this constant (resource '")
             << resource.getRawHandle().getKey()
             << "') are not in the IR: text IR elides weights over 1 KiB "
                "unless printed with --keep-weights (bathy-import "
                "--keep-weights, or --emit-bytecode)";
    return copyAll(blob->getData(), "constant's resource");
  }
  auto dense = dyn_cast<DenseElementsAttr>(value);
  if (!dense)
    return op.emitError("constant of kind ")
           << value << " cannot be placed in an execution plan";
  if (dense.getElementType().isInteger(1)) {
    int64_t i = 0;
    for (bool b : dense.getValues<bool>())
      dst[i++] = b;
    return out;
  }
  ArrayRef<char> raw = dense.getRawData();
  if (dense.isSplat()) {
    if (raw.size() != elementBytes)
      return op.emitError("splat constant holds ")
             << raw.size() << " bytes per element, expected " << elementBytes;
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(dst + i * elementBytes, raw.data(), elementBytes);
    return out;
  }
  return copyAll(raw, "constant");
}

} // namespace

FailureOr<std::vector<rt::TensorSpec>> inputSpecsOf(func::FuncOp host) {
  std::vector<rt::TensorSpec> specs;
  FunctionType type = host.getFunctionType();
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    std::string what = ("input " + Twine(i)).str();
    if (failed(valueOf(host.getArgument(i), what)))
      return failure();
    specs.push_back(specFor(type.getInput(i), host.getArgAttrDict(i), what));
  }
  return specs;
}

FailureOr<rt::Plan> buildExecutionPlan(func::FuncOp host,
                                       bool releaseWeightBlobs) {
  rt::Plan plan;
  llvm::DenseMap<Value, int64_t> ids;
  auto define = [&](Value v, rt::Plan::Value value) {
    ids[v] = static_cast<int64_t>(plan.values.size());
    plan.values.push_back(value);
    return ids[v];
  };
  if (!host.getBody().hasOneBlock())
    return host.emitError("a host function must be one block to run");
  Block &body = host.getBody().front();
  FunctionType type = host.getFunctionType();
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    std::string what = ("input " + Twine(i)).str();
    FailureOr<rt::Plan::Value> value = valueOf(body.getArgument(i), what);
    if (failed(value))
      return failure();
    value->kind = rt::Plan::Value::Kind::kInput;
    value->index = i;
    plan.inputs.push_back(define(body.getArgument(i), *value));
    plan.input_specs.push_back(specFor(type.getInput(i), host.getArgAttrDict(i),
                                       ("input" + Twine(i)).str()));
  }

  // Blobs whose every constant has been copied can be emptied.
  llvm::DenseMap<DialectResourceBlobManager::BlobEntry *, int> blobUsers;
  for (auto constant : body.getOps<ConstantOp>())
    if (auto r = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
      ++blobUsers[r.getRawHandle().getResource()];

  llvm::StringMap<int64_t> kernels;
  for (Operation &op : body) {
    if (auto constant = dyn_cast<ConstantOp>(op)) {
      if (constant->use_empty())
        continue;
      FailureOr<rt::Plan::Value> value =
          valueOf(constant.getResult(), "constant");
      if (failed(value))
        return failure();
      auto shaped = cast<RankedTensorType>(constant.getType());
      if (!shaped.hasStaticShape())
        return constant.emitError("constant of dynamic shape ") << shaped;
      rt::Plan::Constant c;
      c.shape.assign(shaped.getShape().begin(), shaped.getShape().end());
      FailureOr<rt::AlignedBytes> bytes = bytesOf(
          constant, rt::DTypeSize(value->dtype), shaped.getNumElements());
      if (failed(bytes))
        return failure();
      c.bytes = std::move(*bytes);
      value->kind = rt::Plan::Value::Kind::kConstant;
      value->index = static_cast<int64_t>(plan.constants.size());
      c.value = define(constant.getResult(), *value);
      plan.constants.push_back(std::move(c));
      if (auto r = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
        if (releaseWeightBlobs &&
            --blobUsers[r.getRawHandle().getResource()] == 0)
          r.getRawHandle().getResource()->setBlob(AsmResourceBlob());
      continue;
    }
    if (auto launch = dyn_cast<LaunchOp>(op)) {
      auto [it, fresh] = kernels.try_emplace(
          launch.getKernel(), static_cast<int64_t>(plan.kernels.size()));
      if (fresh)
        plan.kernels.push_back(launch.getKernel().str());
      rt::Plan::Step step;
      step.kernel = it->second;
      // The launch's own nodes (kernels shared by identical launches carry
      // them on the launch), else its kernel's.
      ArrayAttr nodes = launch->getAttrOfType<ArrayAttr>(kKernelNodesAttrName);
      if (!nodes)
        if (auto kernel = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
                launch, launch.getKernelAttr()))
          nodes = kernel->getAttrOfType<ArrayAttr>(kKernelNodesAttrName);
      if (nodes)
        for (auto name : nodes.getAsRange<StringAttr>())
          step.nodes += (step.nodes.empty() ? "" : ", ") + name.str();
      for (Value arg : launch.getArgs())
        step.args.push_back(ids.lookup(arg));
      int64_t stepIndex = static_cast<int64_t>(plan.steps.size());
      for (auto [i, result] : llvm::enumerate(launch.getResults())) {
        FailureOr<rt::Plan::Value> value =
            valueOf(result, ("result " + Twine(i) + " of a launch of @" +
                             launch.getKernel())
                                .str());
        if (failed(value))
          return failure();
        value->kind = rt::Plan::Value::Kind::kResult;
        value->index = stepIndex;
        step.results.push_back(define(result, *value));
      }
      if (step.results.empty())
        return launch.emitError("a launch without results computes nothing "
                                "the plan can keep");
      // The same rule as bathy-cpu-kernel-destinations: static-size results
      // go into the arena.
      step.destinations = llvm::all_of(launch.getResultTypes(), [](Type t) {
        return cast<RankedTensorType>(t).hasStaticShape();
      });
      plan.steps.push_back(std::move(step));
      continue;
    }
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        plan.outputs.push_back(ids.lookup(v));
        plan.output_specs.push_back(specFor(type.getResult(i),
                                            host.getResultAttrDict(i),
                                            ("output" + Twine(i)).str()));
      }
      continue;
    }
    return op.emitError("'")
           << op.getName()
           << "' is left in the host function; an execution plan holds only "
              "constants and kernel launches";
  }
  if (plan.outputs.empty())
    return host.emitError("@") << host.getSymName() << " has no results";
  return plan;
}

} // namespace bathy
