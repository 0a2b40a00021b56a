//===- Importer.cpp - ONNX graphs into bathy functions --------------------===//
//
// The driver: validates the graph (unique names, every use defined, no
// cycles), checks that every node has a handler (reporting all that do not
// at once), then converts nodes in topological order into one func.func
// @main. Graph inputs become arguments carrying their ONNX names and
// dim_params; initializers become constants on first use.
//
//===----------------------------------------------------------------------===//
#include "bathy/Importer/OnnxImporter.h"

#include <set>
#include <queue>

#include "ModelLoader.h"
#include "OpRegistry.h"
#include "Tensors.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "onnx/defs/schema.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace bathy::onnx_import;

namespace bathy {
namespace {

/// Largest static dim accepted on a graph input.
constexpr int64_t kMaxDim = int64_t(1) << 40;

struct Unsupported {
  std::string name, opType, reason;
};

class GraphImporter {
public:
  GraphImporter(LoadedModel &model, MLIRContext *context,
                const OnnxImportOptions &options)
      : model_(model), graph_(model.model.graph()), context_(context),
        options_(options), source_{model.directory, &options},
        fileLoc_(FileLineColLoc::get(context, model.path, 0, 0)) {}

  /// Checks names, uses and order; fills nodeNames_ and order_.
  LogicalResult analyze();
  /// Nodes without a handler at the model's opset.
  std::vector<Unsupported> findUnsupported() const;
  OwningOpRef<ModuleOp> build();

  const std::vector<std::string> &nodeNames() const { return nodeNames_; }
  int64_t opsetFor(StringRef domain) const {
    return getOpsetVersion(model_.model, domain);
  }

private:
  Location nodeLoc(int index) const;
  /// What ONNX's checker would refuse in one node: attributes given twice or
  /// without a type, and, against the op's ONNX schema where libonnx knows
  /// it, the number of inputs and outputs and the attributes' names and
  /// types.
  LogicalResult validateNode(int index) const;
  FailureOr<Type> convertValueInfo(const onnx::ValueInfoProto &info,
                                   SmallVector<std::string> &dimParams);
  FailureOr<Value> lookup(StringRef name, OpBuilder &builder, int nodeIndex);

  LoadedModel &model_;
  const onnx::GraphProto &graph_;
  MLIRContext *context_;
  const OnnxImportOptions &options_;
  TensorSource source_;
  Location fileLoc_;
  std::vector<std::string> nodeNames_;
  std::vector<int> order_;
  llvm::StringMap<const onnx::TensorProto *> initializers_;
  llvm::StringSet<> graphInputs_;
  llvm::StringSet<> usedNames_;
  llvm::StringMap<Value> values_;
};

} // namespace
} // namespace bathy

using namespace bathy;

Location GraphImporter::nodeLoc(int index) const {
  const onnx::NodeProto &node = graph_.node(index);
  return NameLoc::get(StringAttr::get(context_, nodeNames_[index]),
                      NameLoc::get(StringAttr::get(context_, node.op_type())));
}

/// Ops whose inputs, outputs or attributes changed after opset 17 (the
/// newest opset libonnx 1.12's schemas describe), or that are newer: at a
/// later opset their 1.12 schema is not the one that applies, and only the
/// op's handler checks them. From onnx 1.22's schemas
/// (onnx.defs.get_all_schemas_with_history: arity or attribute set of the
/// version in force differs from the last one at or before 17).
static bool changedAfterOpset17(StringRef op) {
  static const llvm::StringSet<> changed = {"AffineGrid",
                                            "Attention",
                                            "AveragePool",
                                            "BitCast",
                                            "BitwiseAnd",
                                            "BitwiseNot",
                                            "BitwiseOr",
                                            "BitwiseXor",
                                            "Cast",
                                            "CastLike",
                                            "CausalConvWithState",
                                            "CenterCropPad",
                                            "Col2Im",
                                            "CumProd",
                                            "DFT",
                                            "DeformConv",
                                            "DequantizeLinear",
                                            "Gelu",
                                            "GroupNormalization",
                                            "ImageDecoder",
                                            "LinearAttention",
                                            "LpPool",
                                            "Mish",
                                            "OptionalHasElement",
                                            "Pad",
                                            "QuantizeLinear",
                                            "RMSNormalization",
                                            "ReduceL1",
                                            "ReduceL2",
                                            "ReduceLogSum",
                                            "ReduceLogSumExp",
                                            "ReduceMax",
                                            "ReduceMean",
                                            "ReduceMin",
                                            "ReduceProd",
                                            "ReduceSumSquare",
                                            "RegexFullMatch",
                                            "Resize",
                                            "RotaryEmbedding",
                                            "Split",
                                            "StringConcat",
                                            "StringSplit",
                                            "Swish",
                                            "TensorScatter"};
  return changed.contains(op);
}

static const char *attributeTypeName(int type) {
  if (onnx::AttributeProto_AttributeType_IsValid(type))
    return onnx::AttributeProto_AttributeType_Name(
               static_cast<onnx::AttributeProto_AttributeType>(type))
        .c_str();
  return "an unknown type";
}

LogicalResult GraphImporter::validateNode(int index) const {
  const onnx::NodeProto &node = graph_.node(index);
  auto error = [&]() {
    return emitError(nodeLoc(index))
           << "node '" << nodeNames_[index] << "' (" << node.op_type() << "): ";
  };
  llvm::StringSet<> seen;
  for (const onnx::AttributeProto &a : node.attribute()) {
    if (a.name().empty())
      return error() << "an attribute has no name";
    if (!seen.insert(a.name()).second)
      return error() << "attribute '" << a.name() << "' is given twice";
    if (a.type() == onnx::AttributeProto::UNDEFINED &&
        a.ref_attr_name().empty())
      return error() << "attribute '" << a.name() << "' has no type";
  }
  std::string domain = canonicalDomain(node.domain());
  int64_t opset = opsetFor(node.domain());
  // Past the newest opset libonnx knows for the domain, its schemas hold
  // only for default-domain ops that have not changed since.
  const auto &ranges =
      onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto range = ranges.find(domain);
  if (opset <= 0 || range == ranges.end())
    return success();
  if (opset > range->second.second &&
      (!domain.empty() || changedAfterOpset17(node.op_type())))
    return success();
  const onnx::OpSchema *schema = onnx::OpSchemaRegistry::Schema(
      node.op_type(), static_cast<int>(std::min<int64_t>(opset, INT32_MAX)),
      domain);
  if (!schema || schema->Deprecated())
    return success();
  std::string op =
      node.op_type() + "-" + std::to_string(schema->SinceVersion());
  // Trailing empty names are optional inputs left out.
  int inputs = node.input_size();
  while (inputs > 0 && node.input(inputs - 1).empty())
    --inputs;
  if (inputs < schema->min_input() || inputs > schema->max_input())
    return error() << "has " << inputs << " inputs; " << op << " takes "
                   << (schema->min_input() == schema->max_input()
                           ? std::to_string(schema->min_input())
                           : std::to_string(schema->min_input()) + " to " +
                                 (schema->max_input() == INT32_MAX
                                      ? std::string("any number")
                                      : std::to_string(schema->max_input())));
  int outputs = node.output_size();
  if (outputs < schema->min_output() || outputs > schema->max_output())
    return error() << "has " << outputs << " outputs; " << op << " has "
                   << (schema->min_output() == schema->max_output()
                           ? std::to_string(schema->min_output())
                           : std::to_string(schema->min_output()) + " to " +
                                 std::to_string(schema->max_output()));
  const auto &known = schema->attributes();
  for (const onnx::AttributeProto &a : node.attribute()) {
    auto it = known.find(a.name());
    if (it == known.end()) {
      std::string names;
      for (const auto &[name, attr] : known)
        names += (names.empty() ? "" : ", ") + name;
      return error() << "attribute '" << a.name() << "' is not one " << op
                     << " takes ("
                     << (names.empty() ? std::string("it takes none") : names)
                     << ")";
    }
    if (a.ref_attr_name().empty() && a.type() != it->second.type)
      return error() << "attribute '" << a.name() << "' must be "
                     << attributeTypeName(it->second.type) << ", not "
                     << attributeTypeName(a.type());
  }
  for (const auto &[name, attr] : known)
    if (attr.required && !seen.contains(name))
      return error() << "missing required attribute '" << name << "' (of " << op
                     << ")";
  return success();
}

LogicalResult GraphImporter::analyze() {
  // Names of graph inputs and initializers.
  for (const onnx::TensorProto &init : graph_.initializer()) {
    if (init.name().empty())
      return emitError(fileLoc_) << "an initializer has no name";
    if (!initializers_.try_emplace(init.name(), &init).second)
      return emitError(fileLoc_)
             << "initializer '" << init.name() << "' is defined twice";
  }
  for (const onnx::ValueInfoProto &in : graph_.input()) {
    if (in.name().empty())
      return emitError(fileLoc_) << "a graph input has no name";
    if (!graphInputs_.insert(in.name()).second)
      return emitError(fileLoc_)
             << "graph input '" << in.name() << "' is declared twice";
  }

  // Node names (synthesized where missing) and producers.
  int numNodes = graph_.node_size();
  llvm::StringMap<int> producer;
  llvm::StringMap<int> seenNames;
  for (int i = 0; i < numNodes; ++i) {
    const onnx::NodeProto &node = graph_.node(i);
    std::string name = node.name().empty()
                           ? node.op_type() + "_" + std::to_string(i)
                           : node.name();
    nodeNames_.push_back(name);
    auto [it, fresh] = seenNames.try_emplace(name, i);
    if (!fresh)
      return emitError(nodeLoc(i))
             << "node name '" << name << "' is used by two nodes ("
             << it->second << " and " << i << ")";
    for (const std::string &out : node.output()) {
      if (out.empty())
        continue;
      if (graphInputs_.contains(out) || initializers_.count(out))
        return emitError(nodeLoc(i))
               << "node '" << name << "' (" << node.op_type() << ") writes '"
               << out << "', which is already a graph input or initializer";
      auto [p, isNew] = producer.try_emplace(out, i);
      if (!isNew)
        return emitError(nodeLoc(i))
               << "value '" << out << "' is produced by both node '"
               << nodeNames_[p->second] << "' and node '" << name << "'";
    }
  }

  for (int i = 0; i < numNodes; ++i)
    if (failed(validateNode(i)))
      return failure();
  // An initializer that is also a graph input (a default the caller may
  // override, as IR < 4 wrote every weight) must agree with its declaration.
  for (const onnx::ValueInfoProto &in : graph_.input()) {
    auto it = initializers_.find(in.name());
    if (it == initializers_.end() || !in.has_type() ||
        !in.type().has_tensor_type())
      continue;
    const onnx::TypeProto::Tensor &tt = in.type().tensor_type();
    const onnx::TensorProto &init = *it->second;
    if (tt.elem_type() != 0 && tt.elem_type() != init.data_type())
      return emitError(fileLoc_)
             << "graph input '" << in.name() << "' is declared "
             << onnxTypeName(tt.elem_type()) << " but its initializer is "
             << onnxTypeName(init.data_type());
    if (tt.has_shape()) {
      bool same = tt.shape().dim_size() == init.dims_size();
      for (int d = 0; same && d < init.dims_size(); ++d)
        if (tt.shape().dim(d).has_dim_value() &&
            tt.shape().dim(d).dim_value() != init.dims(d))
          same = false;
      if (!same)
        return emitError(fileLoc_) << "graph input '" << in.name()
                                   << "' is declared with a shape its "
                                      "initializer does not have";
    }
  }

  // Kahn's algorithm over value dependencies.
  std::vector<int> pending(numNodes, 0);
  std::vector<std::vector<int>> consumers(numNodes);
  for (int i = 0; i < numNodes; ++i) {
    const onnx::NodeProto &node = graph_.node(i);
    for (const std::string &in : node.input()) {
      if (in.empty())
        continue;
      usedNames_.insert(in);
      auto p = producer.find(in);
      if (p != producer.end()) {
        ++pending[i];
        consumers[p->second].push_back(i);
        continue;
      }
      if (!graphInputs_.contains(in) && !initializers_.count(in))
        return emitError(nodeLoc(i))
               << "node '" << nodeNames_[i] << "' (" << node.op_type()
               << ") uses '" << in
               << "', which no node, graph input or initializer defines";
    }
  }
  for (const onnx::ValueInfoProto &out : graph_.output()) {
    usedNames_.insert(out.name());
    if (!producer.count(out.name()) && !graphInputs_.contains(out.name()) &&
        !initializers_.count(out.name()))
      return emitError(fileLoc_) << "graph output '" << out.name()
                                 << "' is not produced by any node";
  }
  // Ready nodes are taken lowest index first, so a graph that is already
  // sorted (as ONNX requires) keeps its order.
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < numNodes; ++i)
    if (pending[i] == 0)
      ready.push(i);
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order_.push_back(i);
    for (int c : consumers[i])
      if (--pending[c] == 0)
        ready.push(c);
  }
  if (static_cast<int>(order_.size()) != numNodes) {
    for (int i = 0; i < numNodes; ++i)
      if (pending[i] > 0)
        return emitError(nodeLoc(i))
               << "the graph has a cycle through node '" << nodeNames_[i]
               << "' (" << graph_.node(i).op_type() << ")";
  }
  return success();
}

std::vector<Unsupported> GraphImporter::findUnsupported() const {
  const OpRegistry &registry = OpRegistry::get();
  std::vector<Unsupported> result;
  for (int i = 0; i < graph_.node_size(); ++i) {
    const onnx::NodeProto &node = graph_.node(i);
    int64_t opset = opsetFor(node.domain());
    if (registry.lookup(node.domain(), node.op_type(), opset))
      continue;
    std::string domain =
        node.domain().empty() ? std::string("ai.onnx") : node.domain();
    std::string reason;
    if (int64_t lowest = registry.lowestVersion(node.domain(), node.op_type()))
      reason = "supported from opset " + std::to_string(lowest) +
               ", the model uses " + std::to_string(opset);
    else if (opset == 0)
      reason = "the model imports no opset for domain " + domain;
    else
      reason = "no handler for " + domain + "." + node.op_type();
    result.push_back({nodeNames_[i], node.op_type(), reason});
  }
  return result;
}

FailureOr<Type>
GraphImporter::convertValueInfo(const onnx::ValueInfoProto &info,
                                SmallVector<std::string> &dimParams) {
  if (!info.has_type() || !info.type().has_tensor_type())
    return emitError(fileLoc_) << "graph input or output '" << info.name()
                               << "' is not a tensor (sequences, maps and "
                                  "optionals are not supported)";
  const onnx::TypeProto::Tensor &tt = info.type().tensor_type();
  FailureOr<Type> element =
      convertElementType(tt.elem_type(), fileLoc_, "'" + info.name() + "'");
  if (failed(element))
    return failure();
  if (!tt.has_shape())
    return Type(UnrankedTensorType::get(*element));
  SmallVector<int64_t> shape;
  for (const onnx::TensorShapeProto::Dimension &d : tt.shape().dim()) {
    if (d.has_dim_value()) {
      if (d.dim_value() < 0 || d.dim_value() > kMaxDim)
        return emitError(fileLoc_)
               << "'" << info.name() << "' has invalid dim " << d.dim_value()
               << " at position " << shape.size();
      shape.push_back(d.dim_value());
      dimParams.push_back("");
    } else {
      shape.push_back(ShapedType::kDynamic);
      dimParams.push_back(d.has_dim_param() ? d.dim_param() : "");
    }
  }
  return Type(RankedTensorType::get(shape, *element));
}

FailureOr<Value> GraphImporter::lookup(StringRef name, OpBuilder &builder,
                                       int nodeIndex) {
  auto it = values_.find(name);
  if (it != values_.end())
    return it->second;
  auto init = initializers_.find(name);
  if (init == initializers_.end())
    return emitError(nodeLoc(nodeIndex))
           << "value '" << name << "' is undefined";
  // Initializers are materialized at the top of the function, once.
  OpBuilder::InsertionGuard guard(builder);
  Block *entry = builder.getInsertionBlock();
  builder.setInsertionPointToStart(entry);
  Location loc = NameLoc::get(StringAttr::get(context_, name));
  FailureOr<ElementsAttr> attr = convertTensor(*init->second, source_, loc);
  if (failed(attr))
    return failure();
  Value v = ConstantOp::create(builder, loc, *attr);
  values_[name] = v;
  return v;
}

OwningOpRef<ModuleOp> GraphImporter::build() {
  OpBuilder builder(context_);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc_);
  builder.setInsertionPointToEnd(module->getBody());
  // Who made the model ("pytorch 2.5"), for an artifact's manifest.
  std::string producer = model_.model.producer_name();
  if (!model_.model.producer_version().empty())
    producer += (producer.empty() ? "" : " ") + model_.model.producer_version();
  if (!producer.empty())
    (*module)->setAttr("bathy.producer", builder.getStringAttr(producer));

  // Arguments: graph inputs that are not initializers.
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  SmallVector<std::string> argNames;
  for (const onnx::ValueInfoProto &in : graph_.input()) {
    if (initializers_.count(in.name()))
      continue;
    SmallVector<std::string> dimParams;
    FailureOr<Type> type = convertValueInfo(in, dimParams);
    if (failed(type))
      return nullptr;
    argTypes.push_back(*type);
    argNames.push_back(in.name());
    SmallVector<NamedAttribute> attrs = {
        builder.getNamedAttr("bathy.name", builder.getStringAttr(in.name()))};
    if (llvm::any_of(dimParams,
                     [](const std::string &s) { return !s.empty(); }))
      attrs.push_back(builder.getNamedAttr(
          "bathy.dim_params", builder.getStrArrayAttr(SmallVector<StringRef>(
                                  dimParams.begin(), dimParams.end()))));
    argAttrs.push_back(builder.getDictionaryAttr(attrs));
  }

  auto func = func::FuncOp::create(builder, fileLoc_, "main",
                                   builder.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  for (auto [name, arg] : llvm::zip(argNames, entry->getArguments()))
    values_[name] = arg;
  builder.setInsertionPointToEnd(entry);

  const OpRegistry &registry = OpRegistry::get();
  for (int index : order_) {
    const onnx::NodeProto &node = graph_.node(index);
    SmallVector<Value> inputs;
    for (const std::string &in : node.input()) {
      if (in.empty()) {
        inputs.push_back(Value());
        continue;
      }
      FailureOr<Value> v = lookup(in, builder, index);
      if (failed(v))
        return nullptr;
      inputs.push_back(*v);
    }
    SmallVector<bool> used;
    for (const std::string &out : node.output())
      used.push_back(!out.empty() && usedNames_.contains(out));
    int64_t opset = opsetFor(node.domain());
    const OpHandlerEntry *entryHandler =
        registry.lookup(node.domain(), node.op_type(), opset);
    NodeContext ctx(node, nodeNames_[index], opset, std::move(inputs),
                    std::move(used), builder, nodeLoc(index), source_);
    if (failed(entryHandler->handler(ctx)))
      return nullptr;
    for (auto [i, v] : llvm::enumerate(ctx.results()))
      if (!node.output(i).empty())
        values_[node.output(i)] = v;
  }

  // Results: graph outputs, checked against their declared element types.
  SmallVector<Value> results;
  SmallVector<DictionaryAttr> resultAttrs;
  for (const onnx::ValueInfoProto &out : graph_.output()) {
    FailureOr<Value> v = lookup(out.name(), builder, 0);
    if (failed(v))
      return nullptr;
    SmallVector<std::string> dimParams;
    if (out.has_type() && out.type().has_tensor_type() &&
        out.type().tensor_type().elem_type() != 0) {
      FailureOr<Type> declared = convertValueInfo(out, dimParams);
      if (failed(declared))
        return nullptr;
      if (cast<TensorType>(*declared).getElementType() !=
          cast<TensorType>(v->getType()).getElementType())
        return emitError(v->getLoc())
                   << "graph output '" << out.name() << "' is declared as "
                   << *declared << " but computes " << v->getType(),
               nullptr;
    }
    results.push_back(*v);
    SmallVector<NamedAttribute> attrs = {
        builder.getNamedAttr("bathy.name", builder.getStringAttr(out.name()))};
    // The names the model gives its outputs' dynamic dims (where the
    // computed type agrees the dim is dynamic): what a padded run cuts
    // back (rt::Session).
    auto ranked = dyn_cast<RankedTensorType>(v->getType());
    if (ranked && dimParams.size() == static_cast<size_t>(ranked.getRank()) &&
        llvm::any_of(dimParams, [](const std::string &p) { return !p.empty(); })) {
      SmallVector<StringRef> names;
      for (auto [d, p] : llvm::enumerate(dimParams))
        names.push_back(ranked.isDynamicDim(d) ? StringRef(p) : StringRef());
      attrs.push_back(builder.getNamedAttr("bathy.dim_params",
                                           builder.getStrArrayAttr(names)));
    }
    resultAttrs.push_back(builder.getDictionaryAttr(attrs));
  }
  func::ReturnOp::create(builder, fileLoc_, results);
  // Drop what no output needs (unused Constant nodes, folded-away values);
  // every bathy op is pure.
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(*entry)))
    if (isa<BathyDialect>(op.getDialect()) && op.use_empty())
      op.erase();
  func.setType(
      builder.getFunctionType(argTypes, TypeRange(ValueRange(results))));
  func.setAllArgAttrs(argAttrs);
  func.setAllResultAttrs(resultAttrs);
  if (failed(verify(*module)))
    return nullptr;
  return module;
}

static OwningOpRef<ModuleOp> importLoaded(FailureOr<LoadedModel> model,
                                          MLIRContext *context,
                                          const OnnxImportOptions &options) {
  if (failed(model))
    return nullptr;
  StringRef path = model->path;
  GraphImporter importer(*model, context, options);
  if (failed(importer.analyze()))
    return nullptr;
  std::vector<Unsupported> unsupported = importer.findUnsupported();
  if (!unsupported.empty()) {
    InFlightDiagnostic diag =
        emitError(FileLineColLoc::get(context, path, 0, 0))
        << unsupported.size() << " node(s) use ops bathy cannot import:";
    for (const Unsupported &u : unsupported)
      diag.attachNote() << "node '" << u.name << "' (" << u.opType
                        << "): " << u.reason;
    return nullptr;
  }
  return importer.build();
}

OwningOpRef<ModuleOp> bathy::importOnnxFile(StringRef path,
                                            MLIRContext *context,
                                            const OnnxImportOptions &options) {
  context->loadDialect<BathyDialect, func::FuncDialect>();
  return importLoaded(loadModel(path, context), context, options);
}

OwningOpRef<ModuleOp>
bathy::importOnnxBuffer(StringRef contents, StringRef name, bool text,
                        MLIRContext *context,
                        const OnnxImportOptions &options) {
  context->loadDialect<BathyDialect, func::FuncDialect>();
  return importLoaded(parseModel(contents, name, text, context), context,
                      options);
}

/// Every external-data file the tensors of `graph` (and of its subgraphs)
/// name, relative to the model's folder.
static void collectExternalFiles(const onnx::GraphProto &graph,
                                 std::set<std::string> &out) {
  auto add = [&](const onnx::TensorProto &t) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL)
      return;
    for (const onnx::StringStringEntryProto &kv : t.external_data())
      if (kv.key() == "location")
        out.insert(kv.value());
  };
  for (const onnx::TensorProto &t : graph.initializer())
    add(t);
  for (const onnx::NodeProto &node : graph.node())
    for (const onnx::AttributeProto &a : node.attribute()) {
      if (a.has_t())
        add(a.t());
      for (const onnx::TensorProto &t : a.tensors())
        add(t);
      if (a.has_g())
        collectExternalFiles(a.g(), out);
      for (const onnx::GraphProto &g : a.graphs())
        collectExternalFiles(g, out);
    }
}

FailureOr<std::vector<std::string>>
bathy::externalDataFiles(StringRef path, MLIRContext *context) {
  FailureOr<LoadedModel> model = loadModel(path, context);
  if (failed(model))
    return failure();
  std::set<std::string> files;
  collectExternalFiles(model->model.graph(), files);
  std::vector<std::string> out;
  for (const std::string &f : files)
    out.push_back(model->directory + "/" + f);
  return out;
}

LogicalResult bathy::checkOnnxFile(StringRef path, MLIRContext *context,
                                   llvm::raw_ostream &os) {
  FailureOr<LoadedModel> model = loadModel(path, context);
  if (failed(model))
    return failure();
  OnnxImportOptions options;
  GraphImporter importer(*model, context, options);
  if (failed(importer.analyze()))
    return failure();
  std::vector<Unsupported> unsupported = importer.findUnsupported();
  llvm::StringSet<> bad;
  for (const Unsupported &u : unsupported)
    bad.insert(u.opType);

  // One line per (domain, op type), in order of first appearance.
  struct Row {
    std::string domain, opType;
    int count = 0;
  };
  std::vector<Row> rows;
  const onnx::GraphProto &graph = model->model.graph();
  for (const onnx::NodeProto &node : graph.node()) {
    std::string domain = node.domain().empty() ? "ai.onnx" : node.domain();
    auto it = llvm::find_if(rows, [&](const Row &r) {
      return r.domain == domain && r.opType == node.op_type();
    });
    if (it == rows.end())
      rows.push_back({domain, node.op_type(), 1});
    else
      ++it->count;
  }
  const OpRegistry &registry = OpRegistry::get();
  os << llvm::format("%-28s %6s  %-11s %s\n", "op", "count", "status",
                     "handler");
  for (const Row &r : rows) {
    std::string domainKey = r.domain == "ai.onnx" ? "" : r.domain;
    int64_t opset = importer.opsetFor(domainKey);
    const OpHandlerEntry *e = registry.lookup(domainKey, r.opType, opset);
    std::string label =
        (r.domain == "ai.onnx" ? "" : r.domain + ".") + r.opType;
    std::string handler = e ? "since opset " + std::to_string(e->sinceVersion) +
                                  " (model opset " + std::to_string(opset) + ")"
                            : "-";
    os << llvm::format("%-28s %6d  %-11s %s\n", label.c_str(), r.count,
                       e ? "supported" : "UNSUPPORTED", handler.c_str());
  }
  os << "nodes: " << graph.node_size() << ", op types: " << rows.size()
     << ", unsupported nodes: " << unsupported.size() << "\n";
  for (const Unsupported &u : unsupported)
    os << "unsupported: node '" << u.name << "' (" << u.opType
       << "): " << u.reason << "\n";
  return success(unsupported.empty());
}

void bathy::printSupportedOps(llvm::raw_ostream &os) {
  const OpRegistry &registry = OpRegistry::get();
  os << "# Supported ONNX operators\n\n"
     << "Generated from the importer's handler table by `ninja bathy-op-list`\n"
     << "(`bathy-import --list-ops`); a lit test fails when this file is out "
        "of\n"
     << "date. bathy reads models of default-domain (ai.onnx) opsets 1 to "
     << kMaxSupportedOpset << ".\n\n"
     << "An op imports at every opset from its first handler's on; a new "
        "handler\n"
     << "starts where ONNX changed the op's semantics. Importing is not yet\n"
     << "compiling: `bathy-import --check model.onnx` lists a model's ops and\n"
     << "then lowers its kernels for the CPU, reporting any that do not "
        "compile.\n\n";
  size_t ops = 0;
  for (const auto &[key, handlers] : registry.entries())
    ops += !handlers.empty();
  os << ops << " operators.\n\n";
  os << "| operator | domain | opsets | handlers from opset |\n"
     << "|---|---|---|---|\n";
  for (const auto &[key, handlers] : registry.entries()) {
    if (handlers.empty())
      continue;
    const auto &[domain, op] = key;
    std::string since;
    for (const OpHandlerEntry &e : handlers)
      since += (since.empty() ? "" : ", ") + std::to_string(e.sinceVersion);
    std::string range = std::to_string(handlers.front().sinceVersion) + "-";
    range += domain.empty() ? std::to_string(kMaxSupportedOpset) : "";
    os << "| " << op << " | " << (domain.empty() ? "ai.onnx" : domain) << " | "
       << range << " | " << since << " |\n";
  }
}
