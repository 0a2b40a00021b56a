//===- executor.cc - Runs an execution plan on the CPU --------------------===//
#include "runtime/cpu/executor.h"

#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/run_context.h"
#include "runtime/memory.h"

namespace bathy::rt {
namespace {

/// Constants at least this large are registered as immutable with the GEMM
/// operand cache (smaller ones are never GEMM operands worth packing once).
constexpr size_t kRegisteredConstantBytes = 4096;

size_t DescriptorWords(int64_t rank) { return 3 + 2 * rank; }

void *PointerAt(const int64_t *words, int i) {
  void *p;
  std::memcpy(&p, &words[i], sizeof(void *));
  return p;
}

void FillDescriptor(int64_t *words, const void *data,
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

/// Copies the strided tensor a descriptor describes into a dense one.
absl::StatusOr<HostTensor> CopyOut(const int64_t *w, DType dtype,
                                   int64_t rank) {
  std::vector<int64_t> shape(w + 3, w + 3 + rank);
  absl::StatusOr<HostTensor> out = HostTensor::Create(dtype, shape);
  if (!out.ok())
    return out.status();
  size_t elem = DTypeSize(dtype);
  const int64_t *strides = w + 3 + rank;
  const char *base = static_cast<const char *>(PointerAt(w, 1)) +
                     w[2] * static_cast<int64_t>(elem);
  bool contiguous = true;
  for (int64_t d = rank - 1, expected = 1; d >= 0; expected *= shape[d], --d)
    if (shape[d] != 1 && strides[d] != expected)
      contiguous = false;
  if (out->num_elements() == 0)
    return out;
  if (contiguous) {
    std::memcpy(out->data(), base, out->num_elements() * elem);
    return out;
  }
  std::vector<int64_t> index(rank, 0);
  for (int64_t n = 0; n < out->num_elements(); ++n) {
    int64_t offset = 0;
    for (int64_t d = 0; d < rank; ++d)
      offset += index[d] * strides[d];
    std::memcpy(out->data() + n * elem, base + offset * elem, elem);
    for (int64_t d = rank; d-- > 0;) {
      if (++index[d] < shape[d])
        break;
      index[d] = 0;
    }
  }
  return out;
}

/// Buffers kernels returned during one run, counted by allocation: a kernel
/// may hand back one buffer as two results, or a view of a buffer another
/// value holds. Freed when the last value holding them is released; what is
/// left at the end of the run (outputs, or everything after a failed check)
/// goes with the run's context.
class Buffers {
public:
  explicit Buffers(std::unordered_set<const void *> external)
      : external_(std::move(external)) {}
  /// Takes a reference for a value whose buffer starts at `allocated`;
  /// returns what to release later (null: not ours to free).
  void *Retain(void *allocated) {
    // MLIR marks buffers of constant globals 0xdeadbeef; inputs and the
    // plan's constants belong to the caller and the plan.
    if (!allocated || allocated == reinterpret_cast<void *>(0xdeadbeef) ||
        external_.count(allocated))
      return nullptr;
    ++count_[allocated];
    return allocated;
  }
  void Release(void *allocated) {
    if (!allocated)
      return;
    auto it = count_.find(allocated);
    if (it != count_.end() && --it->second == 0) {
      bathy_rt_free(allocated);
      count_.erase(it);
    }
  }

private:
  std::unordered_set<const void *> external_;
  std::unordered_map<void *, int> count_;
};

/// The launch a failing check ran in, when its message does not say.
std::string KernelContext(const Plan &plan, const Plan::Step &step) {
  std::string where = absl::StrCat("kernel '", plan.kernels[step.kernel], "'");
  if (!step.nodes.empty())
    absl::StrAppend(&where, " (ONNX nodes ", step.nodes, ")");
  return where;
}

} // namespace

absl::StatusOr<std::unique_ptr<CpuExecutor>>
CpuExecutor::Create(Plan plan, std::vector<KernelEntry> entries) {
  if (absl::Status s = plan.Validate(); !s.ok())
    return s;
  if (entries.size() != plan.kernels.size())
    return absl::InvalidArgumentError(
        absl::StrCat("the plan launches ", plan.kernels.size(), " kernels but ",
                     entries.size(), " were bound"));
  for (size_t i = 0; i < entries.size(); ++i)
    if (!entries[i])
      return absl::InvalidArgumentError(
          absl::StrCat("kernel '", plan.kernels[i], "' has no code"));
  plan.ComputeReleases();
  plan.PlanMemory();
  if (absl::Status s = CheckAllocationSize(
          plan.arena_bytes, "the arena of the plan's intermediate tensors");
      !s.ok())
    return s;
  std::unique_ptr<CpuExecutor> executor(
      new CpuExecutor(std::move(plan), std::move(entries)));
  for (const Plan::Constant &c : executor->plan_.constants)
    if (c.bytes.size >= kRegisteredConstantBytes) {
      bathy_rt_register_constant(c.bytes.data.get(),
                                 static_cast<int64_t>(c.bytes.size));
      executor->registered_.push_back(c.bytes.data.get());
    }
  return executor;
}

CpuExecutor::CpuExecutor(Plan plan, std::vector<KernelEntry> entries)
    : plan_(std::move(plan)), entries_(std::move(entries)) {
  for (const Plan::Value &v : plan_.values) {
    descriptor_at_.push_back(descriptor_words_);
    descriptor_words_ += DescriptorWords(v.rank());
  }
}

CpuExecutor::~CpuExecutor() {
  for (const void *p : registered_)
    bathy_rt_unregister_constant(p);
}

absl::StatusOr<std::vector<HostTensor>>
CpuExecutor::Run(const std::vector<const HostTensor *> &inputs) const {
  if (absl::Status s = CheckInputs(plan_.input_specs, inputs); !s.ok())
    return s;
  const std::vector<Plan::Value> &values = plan_.values;
  const std::vector<size_t> &at = descriptor_at_;
  std::vector<int64_t> desc(descriptor_words_, 0);
  std::unordered_set<const void *> external;
  // A zero-size tensor still needs an address.
  static const int64_t dummy = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const HostTensor &t = *inputs[i];
    const void *data = t.size_bytes() ? static_cast<const void *>(t.data())
                                      : static_cast<const void *>(&dummy);
    external.insert(data);
    FillDescriptor(&desc[at[plan_.inputs[i]]], data, t.shape());
  }
  for (const Plan::Constant &c : plan_.constants) {
    external.insert(c.bytes.data.get());
    FillDescriptor(&desc[at[c.value]], c.bytes.data.get(), c.shape);
  }

  // The planned buffers: one allocation per run, so runs may overlap.
  if (!ReserveMemory(plan_.arena_bytes))
    return absl::ResourceExhaustedError(absl::StrCat(
        "the run's intermediate tensors need ", FormatBytes(plan_.arena_bytes),
        ", which does not fit the memory limit of ", FormatBytes(MemoryLimit()),
        " (--max-memory; ", FormatBytes(MemoryInUse()), " in use)"));
  struct Reservation {
    int64_t bytes;
    ~Reservation() { ReleaseMemory(bytes); }
  } reservation{plan_.arena_bytes};
  AlignedBytes arena = AlignedBytes::Allocate(plan_.arena_bytes);
  if (!arena.data)
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory allocating the run's intermediate "
                     "tensors (",
                     FormatBytes(plan_.arena_bytes), ")"));
  uint8_t *arenaBegin = arena.data.get();
  for (const Plan::Step &step : plan_.steps)
    if (step.destinations)
      for (int64_t r : step.results)
        FillDescriptor(&desc[at[r]], arenaBegin + values[r].offset,
                       values[r].shape);

  // Every buffer a kernel allocates is recorded here and freed with it, also
  // when a check stops the run half way.
  RunContext context;
  Buffers buffers(std::move(external));
  std::vector<void *> owner(values.size(), nullptr);
  std::vector<int64_t> resultWords;
  std::vector<void *> pointers, argv;
  for (const Plan::Step &step : plan_.steps) {
    pointers.clear();
    if (!step.destinations) {
      size_t n = 0;
      for (int64_t r : step.results)
        n += DescriptorWords(values[r].rank());
      resultWords.assign(n, 0);
      pointers.push_back(resultWords.data());
    }
    for (int64_t a : step.args)
      pointers.push_back(&desc[at[a]]);
    if (step.destinations)
      for (int64_t r : step.results)
        pointers.push_back(&desc[at[r]]);
    argv.clear();
    for (void *&p : pointers)
      argv.push_back(&p);
    if (absl::Status s = context.CallKernel(entries_[step.kernel], argv.data());
        !s.ok()) {
      std::string message(s.message());
      if (message.rfind("node '", 0) != 0)
        message = KernelContext(plan_, step) + ": " + message;
      return absl::Status(s.code(), message);
    }
    if (step.destinations)
      continue; // Nothing to take over or release: the arena holds them.
    size_t offset = 0;
    for (int64_t r : step.results) {
      size_t count = DescriptorWords(values[r].rank());
      const int64_t *words = &resultWords[offset];
      // A view into the arena would outlive its slot's next tenant.
      auto *allocated = static_cast<uint8_t *>(PointerAt(words, 0));
      if (allocated >= arenaBegin && allocated < arenaBegin + plan_.arena_bytes)
        return absl::InternalError(absl::StrCat(
            "kernel '", plan_.kernels[step.kernel],
            "' returned a view of a planned buffer instead of its own"));
      std::memcpy(&desc[at[r]], words, count * sizeof(int64_t));
      owner[r] = buffers.Retain(allocated);
      offset += count;
    }
    for (int64_t r : step.release) {
      buffers.Release(owner[r]);
      owner[r] = nullptr;
    }
  }

  std::vector<HostTensor> results;
  for (int64_t o : plan_.outputs) {
    absl::StatusOr<HostTensor> out =
        CopyOut(&desc[at[o]], values[o].dtype, values[o].rank());
    if (!out.ok())
      return out.status();
    results.push_back(std::move(*out));
  }
  // Outputs' buffers (never released by a step) go with `context`.
  return results;
}

} // namespace bathy::rt
