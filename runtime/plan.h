//===- plan.h - The execution plan a compiled model runs as ---------------===//
//
// What the compiler leaves of a model's host function: values (graph inputs,
// constants, kernel results), launches of kernels in order, and the graph
// outputs. Sizes stay open where the model's are dynamic: every value carries
// its element type and rank, and its sizes arrive at run time in the memref
// descriptors kernels return. The plan names kernels; a device binds names to
// code (the CPU executor to JIT-compiled function pointers).
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_PLAN_H
#define BATHY_RUNTIME_PLAN_H

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "runtime/tensor.h"

namespace bathy::rt {

/// One graph input or output: name, element type and shape (-1 for a dynamic
/// dim, with its ONNX dim_param name when it has one).
struct TensorSpec {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<std::string> dim_params;
};

/// "f32[batch, 3, 224, 224]": dynamic dims by their dim_param ("?" when
/// unnamed).
std::string SpecToString(const TensorSpec &spec);

/// The dim_params of the dynamic dims of `specs` (what --dim, buckets,
/// padding rules and traces name).
std::set<std::string> DynamicDimNames(const std::vector<TensorSpec> &specs);

/// Checks `inputs` against `specs`: count, element type, rank, static dims,
/// and one size per dim_param. The error names the input and the dim.
absl::Status CheckInputs(const std::vector<TensorSpec> &specs,
                         const std::vector<const HostTensor *> &inputs);

/// Bytes aligned to 64, freed with the plan.
struct AlignedBytes {
  std::unique_ptr<uint8_t, void (*)(void *)> data{nullptr, nullptr};
  size_t size = 0;
  /// `size` bytes; `data` is null when the allocation failed.
  static AlignedBytes Allocate(size_t size);
  /// Bytes someone else owns (a mapped artifact's weights), not freed here;
  /// they must outlive the plan. Read-only: kernels never write constants.
  static AlignedBytes View(const uint8_t *data, size_t size);
};

struct Plan {
  /// A tensor the plan computes with; kind says where it comes from.
  struct Value {
    enum class Kind : uint8_t { kInput, kConstant, kResult };
    Kind kind = Kind::kResult;
    DType dtype = DType::kF32;
    /// For results: the step defining it; for inputs and constants: their
    /// index in `inputs` / `constants`.
    int64_t index = 0;
    /// Sizes known when compiling (-1 where dynamic); its size is the rank.
    std::vector<int64_t> shape;
    int64_t rank() const { return static_cast<int64_t>(shape.size()); }
    /// Where the memory planner placed it in the run's arena (results of
    /// steps with destinations only; -1 elsewhere).
    int64_t offset = -1;
  };
  /// A tensor whose bytes the plan holds (dense, row-major).
  struct Constant {
    int64_t value = 0;
    std::vector<int64_t> shape;
    AlignedBytes bytes;
  };
  /// One kernel launch: argument and result values, and the values whose
  /// last reader this step is (their buffers are released after it).
  struct Step {
    int64_t kernel = 0;
    std::vector<int64_t> args, results, release;
    /// The kernel writes its results into buffers the executor passes after
    /// the arguments (every result's shape is static, so the memory planner
    /// places them in the arena); otherwise the kernel allocates and returns
    /// them.
    bool destinations = false;
    /// The ONNX nodes the launch computes ("a, b, c"; may be empty), for
    /// errors raised while it runs (one kernel may serve several launches).
    std::string nodes;
  };

  std::vector<Value> values;
  std::vector<TensorSpec> input_specs, output_specs;
  /// Value of each graph input, in order.
  std::vector<int64_t> inputs;
  std::vector<Constant> constants;
  /// Kernel names; steps refer to them by index.
  std::vector<std::string> kernels;
  std::vector<Step> steps;
  /// Value of each graph output, in order.
  std::vector<int64_t> outputs;

  /// Checks the plan is well formed: every reference in range, every result
  /// defined by exactly the step that lists it, kinds and indices agree,
  /// constants' byte counts match their shapes, outputs and inputs agree
  /// with their specs.
  absl::Status Validate() const;
  /// Fills each step's `release` list: the step result values a later step
  /// or output no longer reads (outputs are never released by a step).
  void ComputeReleases();
  /// Places the results of steps with destinations in one arena: each gets
  /// a 64-byte aligned offset not shared with any value alive at the same
  /// time (from its step to its last reader, or to the end for outputs);
  /// larger values are placed first, each at the lowest offset that fits.
  /// Needs the release lists (ComputeReleases). Sets `offset` and
  /// `arena_bytes`.
  void PlanMemory();
  /// Bytes of the arena a run needs (PlanMemory).
  int64_t arena_bytes = 0;
  /// A readable listing, one line per value and step.
  std::string ToString() const;
};

/// The constants of one plan by their bytes, so that another plan of the
/// same model (a specialisation) uses them instead of holding a second copy.
class ConstantPool {
public:
  /// Hashes every constant of `base`, which must outlive the pool and every
  /// plan that shares with it.
  explicit ConstantPool(const Plan &base);
  /// Makes each constant of `plan` whose bytes equal one of the base's a
  /// view of the base's; returns the bytes no longer held twice.
  uint64_t Share(Plan &plan) const;

private:
  std::unordered_multimap<uint64_t, const AlignedBytes *> by_hash_;
};

} // namespace bathy::rt

#endif // BATHY_RUNTIME_PLAN_H
