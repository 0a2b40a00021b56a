//===- JitModel.cpp - Compile a bathy module in process and run it --------===//
#include "bathy/Codegen/JitModel.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "bathy/Codegen/Pipelines.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/PassManager.h"
#include "runtime/cpu/kernels.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;

namespace bathy {

JitModel::~JitModel() {
  for (const Weight &w : weights_)
    bathy_rt_unregister_constant(w.data.get());
}

static std::optional<rt::DType> toDType(Type t) {
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

static FailureOr<TensorSpec> specFor(Type type, DictionaryAttr attrs,
                                     StringRef fallbackName, Location loc) {
  auto ranked = dyn_cast<RankedTensorType>(type);
  if (!ranked)
    return emitError(loc) << "'" << fallbackName
                          << "' must be a ranked tensor to run, got " << type;
  std::optional<rt::DType> dtype = toDType(ranked.getElementType());
  if (!dtype)
    return emitError(loc) << "'" << fallbackName << "' has element type "
                          << ranked.getElementType()
                          << ", which the runtime does not support";
  TensorSpec spec;
  spec.name = fallbackName.str();
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("bathy.name"))
      spec.name = name.str();
  spec.dtype = *dtype;
  for (int64_t d : ranked.getShape())
    spec.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
  spec.dimParams.assign(spec.shape.size(), "");
  if (attrs)
    if (auto params = attrs.getAs<ArrayAttr>("bathy.dim_params"))
      for (auto [i, p] : llvm::enumerate(params))
        if (i < spec.dimParams.size())
          if (auto s = dyn_cast<StringAttr>(p))
            spec.dimParams[i] = s.str();
  return spec;
}

/// Constants at least this large stay out of the LLVM module.
static constexpr int64_t kExternalWeightBytes = 4096;

void JitModel::externalizeWeights(ModuleOp module, bool releaseBlobs) {
  // LLVM would otherwise copy every weight into an IR constant, run its
  // passes over them and emit them into the object: for ResNet-50 that was
  // most of a 50 s compile. Instead each large memref.global becomes an
  // external declaration whose symbol resolves to a copy owned here.
  // Globals initialized from each blob, so a blob can be emptied (when the
  // caller allows it) as soon as its last global was copied: the peak then
  // holds each weight about once, not twice.
  llvm::DenseMap<DialectResourceBlobManager::BlobEntry *, int> users;
  for (auto global : module.getOps<memref::GlobalOp>())
    if (auto blob = dyn_cast_or_null<DenseResourceElementsAttr>(
            global.getInitialValueAttr()))
      ++users[blob.getRawHandle().getResource()];
  for (auto global : module.getOps<memref::GlobalOp>()) {
    auto blob = dyn_cast_or_null<DenseResourceElementsAttr>(
        global.getInitialValueAttr());
    if (!blob || !blob.getRawHandle().getBlob())
      continue;
    ArrayRef<char> bytes = blob.getRawHandle().getBlob()->getData();
    if (static_cast<int64_t>(bytes.size()) < kExternalWeightBytes)
      continue;
    Weight w;
    w.symbol =
        ("bathy_weight_" + Twine(weights_.size()) + "_" + global.getSymName())
            .str();
    size_t size = (bytes.size() + 63) / 64 * 64;
    w.data = {static_cast<char *>(std::aligned_alloc(64, size)), std::free};
    std::memcpy(w.data.get(), bytes.data(), bytes.size());
    if (failed(SymbolTable::replaceAllSymbolUses(
            global, StringAttr::get(module.getContext(), w.symbol), module)))
      continue;
    bathy_rt_register_constant(w.data.get(),
                               static_cast<int64_t>(bytes.size()));
    auto *entry = blob.getRawHandle().getResource();
    global.setSymName(w.symbol);
    global.removeInitialValueAttr();
    global.setPublic();
    weights_.push_back(std::move(w));
    if (releaseBlobs && --users[entry] == 0)
      entry->setBlob(AsmResourceBlob());
  }
}

FailureOr<std::unique_ptr<JitModel>> JitModel::compile(ModuleOp module,
                                                       const JitOptions &opts) {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return module.emitError("the module has no @main to run");
  std::unique_ptr<JitModel> model(new JitModel());
  FunctionType type = main.getFunctionType();
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    FailureOr<TensorSpec> spec =
        specFor(type.getInput(i), main.getArgAttrDict(i),
                ("input" + Twine(i)).str(), main.getLoc());
    if (failed(spec))
      return failure();
    model->inputs_.push_back(*spec);
  }
  for (unsigned i = 0; i < type.getNumResults(); ++i) {
    FailureOr<TensorSpec> spec =
        specFor(type.getResult(i), main.getResultAttrDict(i),
                ("output" + Twine(i)).str(), main.getLoc());
    if (failed(spec))
      return failure();
    model->outputs_.push_back(*spec);
  }
  if (model->outputs_.empty())
    return main.emitError("@main has no results");
  main->setAttr("llvm.emit_c_interface", UnitAttr::get(module.getContext()));
  // The contract is recorded above; LLVM has no use for bathy's names.
  main.removeArgAttrsAttr();
  main.removeResAttrsAttr();

  PassManager pm(module.getContext());
  buildCpuJitPipeline(pm, Phase::Bufferized, opts.pipeline);
  if (failed(pm.run(module)))
    return failure();
  model->externalizeWeights(module, opts.releaseWeightBlobs);
  PassManager toLLVM(module.getContext());
  buildCpuToLLVMPipeline(toLLVM);
  if (failed(toLLVM.run(module)))
    return failure();

  static bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;
  ExecutionEngineOptions engineOptions;
  // The optimizer needs the host's target machine: without it LLVM's cost
  // models know no vector registers and the loop vectorizer does nothing.
  auto hostBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!hostBuilder)
    return module.emitError("cannot describe the host CPU: ")
           << llvm::toString(hostBuilder.takeError());
  auto hostMachine = hostBuilder->createTargetMachine();
  if (!hostMachine)
    return module.emitError("cannot create a target machine for the host: ")
           << llvm::toString(hostMachine.takeError());
  // The options hold a function_ref: the transformer must outlive create().
  std::function<llvm::Error(llvm::Module *)> transformer =
      makeOptimizingTransformer(opts.optLevel, /*sizeLevel=*/0,
                                hostMachine->get());
  engineOptions.transformer = transformer;
  // memrefCopy and friends for strided copies.
  static const std::string runnerUtils =
      std::string(BATHY_MLIR_LIB_DIR) + "/libmlir_c_runner_utils.so";
  SmallVector<StringRef> libs = {runnerUtils};
  engineOptions.sharedLibPaths = libs;
  auto engine = ExecutionEngine::create(module, engineOptions);
  if (!engine) {
    std::string message = llvm::toString(engine.takeError());
    return module.emitError("JIT compilation failed: ") << message;
  }
  model->engine_ = std::move(*engine);
  // Microkernel calls resolve to the runtime linked into this process.
  const std::vector<Weight> &weights = model->weights_;
  model->engine_->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    int count = 0;
    const rt::KernelSymbol *symbols = rt::KernelSymbols(&count);
    for (int i = 0; i < count; ++i)
      map[interner(symbols[i].name)] = {
          llvm::orc::ExecutorAddr::fromPtr(symbols[i].address),
          llvm::JITSymbolFlags::Exported};
    for (const Weight &w : weights)
      map[interner(w.symbol)] = {llvm::orc::ExecutorAddr::fromPtr(w.data.get()),
                                 llvm::JITSymbolFlags::Exported};
    return map;
  });
  return model;
}

absl::Status checkInputs(const std::vector<TensorSpec> &specs,
                         const std::vector<rt::HostTensor> &inputs) {
  if (inputs.size() != specs.size())
    return absl::InvalidArgumentError(absl::StrCat(
        "the model takes ", specs.size(), " inputs, got ", inputs.size()));
  std::map<std::string, std::pair<int64_t, std::string>> params;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec &spec = specs[i];
    const rt::HostTensor &t = inputs[i];
    if (t.dtype() != spec.dtype)
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", spec.name, "' must be ", rt::DTypeName(spec.dtype),
          ", got ", rt::DTypeName(t.dtype())));
    if (t.rank() != static_cast<int64_t>(spec.shape.size()))
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", spec.name, "' must have rank ", spec.shape.size(),
          ", got shape ", rt::ShapeToString(t.shape())));
    for (size_t d = 0; d < spec.shape.size(); ++d) {
      int64_t got = t.shape()[d];
      if (spec.shape[d] >= 0 && got != spec.shape[d])
        return absl::InvalidArgumentError(
            absl::StrCat("input '", spec.name, "' dim ", d, " must be ",
                         spec.shape[d], ", got ", got));
      const std::string &param = spec.dimParams[d];
      if (param.empty())
        continue;
      auto [it, fresh] = params.try_emplace(param, got, spec.name);
      if (!fresh && it->second.first != got)
        return absl::InvalidArgumentError(
            absl::StrCat("input '", spec.name, "' dim ", d, " ('", param,
                         "') is ", got, " but input '", it->second.second,
                         "' has ", param, " = ", it->second.first));
    }
  }
  return absl::OkStatus();
}

namespace {
/// A memref descriptor for rank N: allocated and aligned pointers, offset,
/// sizes[N], strides[N], as 64-bit words.
size_t descriptorWords(size_t rank) { return 3 + 2 * rank; }

void fillDescriptor(int64_t *words, const void *data,
                    const std::vector<int64_t> &shape) {
  void *ptr = const_cast<void *>(data);
  std::memcpy(&words[0], &ptr, sizeof(void *));
  std::memcpy(&words[1], &ptr, sizeof(void *));
  words[2] = 0;
  size_t rank = shape.size();
  int64_t stride = 1;
  for (size_t d = rank; d-- > 0;) {
    words[3 + d] = shape[d];
    words[3 + rank + d] = stride;
    stride *= shape[d];
  }
}
} // namespace

absl::StatusOr<std::vector<rt::HostTensor>>
JitModel::run(const std::vector<rt::HostTensor> &inputs) const {
  if (absl::Status s = checkInputs(inputs_, inputs); !s.ok())
    return s;
  // Inputs: one descriptor each; a zero-size tensor still needs a pointer.
  static const int64_t dummy = 0;
  std::vector<std::vector<int64_t>> inDesc;
  std::set<const void *> inputPointers;
  for (const rt::HostTensor &t : inputs) {
    std::vector<int64_t> words(descriptorWords(t.shape().size()));
    const void *data = t.size_bytes() ? static_cast<const void *>(t.data())
                                      : static_cast<const void *>(&dummy);
    inputPointers.insert(data);
    fillDescriptor(words.data(), data, t.shape());
    inDesc.push_back(std::move(words));
  }
  size_t outWords = 0;
  for (const TensorSpec &s : outputs_)
    outWords += descriptorWords(s.shape.size());
  std::vector<int64_t> outDesc(outWords, 0);

  std::vector<void *> pointers;
  pointers.push_back(outDesc.data());
  for (auto &d : inDesc)
    pointers.push_back(d.data());
  std::vector<void *> args;
  for (void *&p : pointers)
    args.push_back(&p);
  if (llvm::Error err = engine_->invokePacked("_mlir_ciface_main", args))
    return absl::InternalError(absl::StrCat("running the model failed: ",
                                            llvm::toString(std::move(err))));

  std::vector<rt::HostTensor> results;
  std::set<void *> freed;
  size_t at = 0;
  for (const TensorSpec &spec : outputs_) {
    size_t rank = spec.shape.size();
    const int64_t *w = outDesc.data() + at;
    at += descriptorWords(rank);
    void *allocated, *aligned;
    std::memcpy(&allocated, &w[0], sizeof(void *));
    std::memcpy(&aligned, &w[1], sizeof(void *));
    std::vector<int64_t> shape(w + 3, w + 3 + rank);
    absl::StatusOr<rt::HostTensor> out =
        rt::HostTensor::Create(spec.dtype, shape);
    if (!out.ok())
      return out.status();
    size_t elem = rt::DTypeSize(spec.dtype);
    const char *base = static_cast<const char *>(aligned) + w[2] * elem;
    // Results are usually contiguous (one copy); views of inputs or
    // constants need not be (element by element, following the strides).
    bool contiguous = true;
    for (int64_t d = static_cast<int64_t>(rank) - 1, expected = 1; d >= 0;
         expected *= shape[d], --d)
      if (shape[d] != 1 && w[3 + rank + d] != expected)
        contiguous = false;
    if (contiguous && out->num_elements() > 0)
      std::memcpy(out->data(), base, out->num_elements() * elem);
    std::vector<int64_t> index(rank, 0);
    for (int64_t n = 0; !contiguous && n < out->num_elements(); ++n) {
      int64_t offset = 0;
      for (size_t d = 0; d < rank; ++d)
        offset += index[d] * w[3 + rank + d];
      std::memcpy(out->data() + n * elem, base + offset * elem, elem);
      for (size_t d = rank; d-- > 0;) {
        if (++index[d] < shape[d])
          break;
        index[d] = 0;
      }
    }
    // Buffers the model allocated are ours to free; constants (MLIR marks
    // them 0xdeadbeef) and views of inputs are not.
    if (allocated && allocated != reinterpret_cast<void *>(0xdeadbeef) &&
        !inputPointers.count(allocated) && freed.insert(allocated).second)
      std::free(allocated);
    results.push_back(std::move(*out));
  }
  return results;
}

} // namespace bathy
