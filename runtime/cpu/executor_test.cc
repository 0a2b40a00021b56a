//===- executor_test.cc - The CPU executor on hand-written kernels --------===//
#include "runtime/cpu/executor.h"

#include <atomic>

#include <cstdlib>
#include <cstring>
#include <random>

#include "runtime/cpu/kernels.h"
#include "runtime/cpu/run_context.h"
#include "runtime/cpu/thread_pool.h"
#include "runtime/memory.h"
#include "gtest/gtest.h"

namespace bathy::rt {
namespace {

/// A rank-1 f32 memref descriptor as kernels see it.
struct Desc1 {
  float *allocated, *aligned;
  int64_t offset, size, stride;
};

Desc1 *Arg(void **args, int i) { return *static_cast<Desc1 **>(args[i]); }

Desc1 Fresh(int64_t n) {
  // Like MLIR's lowering: an aligned pointer inside the allocation, which
  // comes from the runtime's allocator.
  auto *base = static_cast<float *>(bathy_rt_alloc(sizeof(float) * (n + 4)));
  return {base, base + 2, 0, n, 1};
}

/// out = a + b (same sizes; reads through strides and offsets).
void AddKernel(void **args) {
  Desc1 *a = Arg(args, 1), *b = Arg(args, 2);
  Desc1 out = Fresh(a->size);
  for (int64_t i = 0; i < a->size; ++i)
    out.aligned[i] = a->aligned[a->offset + i * a->stride] +
                     b->aligned[b->offset + i * b->stride];
  *Arg(args, 0) = out;
}

/// Returns one fresh buffer as both of its results, doubled.
void TwiceKernel(void **args) {
  Desc1 *a = Arg(args, 1);
  Desc1 out = Fresh(a->size);
  for (int64_t i = 0; i < a->size; ++i)
    out.aligned[i] = 2 * a->aligned[a->offset + i * a->stride];
  Desc1 *results = Arg(args, 0);
  results[0] = out;
  results[1] = out;
}

/// Returns its argument reversed, as a view (no copy, not its buffer).
void ReverseViewKernel(void **args) {
  Desc1 *a = Arg(args, 1);
  Desc1 view = *a;
  view.offset = a->offset + (a->size - 1) * a->stride;
  view.stride = -a->stride;
  *Arg(args, 0) = view;
}

using Kind = Plan::Value::Kind;

Plan::Value Val(Kind kind, int64_t index, int64_t size = -1) {
  Plan::Value v;
  v.kind = kind;
  v.dtype = DType::kF32;
  v.shape = {size};
  v.index = index;
  return v;
}

/// With destinations: writes a + 1 into the buffer after its argument.
void IncrementInto(void **args) {
  Desc1 *a = Arg(args, 0), *out = Arg(args, 1);
  for (int64_t i = 0; i < a->size; ++i)
    out->aligned[out->offset + i * out->stride] =
        a->aligned[a->offset + i * a->stride] + 1;
}

Plan::Step S(int64_t kernel, std::vector<int64_t> args,
             std::vector<int64_t> results, bool destinations = false) {
  Plan::Step step;
  step.kernel = kernel;
  step.args = std::move(args);
  step.results = std::move(results);
  step.destinations = destinations;
  return step;
}

TensorSpec Spec(const std::string &name) {
  TensorSpec s;
  s.name = name;
  s.shape = {-1};
  s.dim_params = {"n"};
  return s;
}

/// x (input), c = [10, 20, 30] (constant);
/// t = x + c; (u, w) = twice(t); r = reverse(u); y = r + w.
Plan SamplePlan() {
  Plan p;
  p.values = {Val(Kind::kInput, 0),  Val(Kind::kConstant, 0, 3),
              Val(Kind::kResult, 0), Val(Kind::kResult, 1),
              Val(Kind::kResult, 1), Val(Kind::kResult, 2),
              Val(Kind::kResult, 3)};
  p.input_specs = {Spec("x")};
  p.output_specs = {Spec("y"), Spec("t")};
  p.inputs = {0};
  Plan::Constant c;
  c.value = 1;
  c.shape = {3};
  c.bytes = AlignedBytes::Allocate(3 * sizeof(float));
  float k[3] = {10, 20, 30};
  std::memcpy(c.bytes.data.get(), k, sizeof(k));
  p.constants.push_back(std::move(c));
  p.kernels = {"add", "twice", "reverse"};
  p.steps = {S(0, {0, 1}, {2}), S(1, {2}, {3, 4}), S(2, {3}, {5}),
             S(0, {5, 4}, {6})};
  p.outputs = {6, 2};
  return p;
}

std::vector<KernelEntry> Entries() {
  return {&AddKernel, &TwiceKernel, &ReverseViewKernel};
}

TEST(CpuExecutor, RunsLaunchesInOrder) {
  auto executor = CpuExecutor::Create(SamplePlan(), Entries());
  ASSERT_TRUE(executor.ok()) << executor.status();
  auto x = HostTensor::Create(DType::kF32, {3});
  ASSERT_TRUE(x.ok());
  float in[3] = {1, 2, 3};
  std::memcpy(x->data(), in, sizeof(in));
  // Twice, so buffers released during the first run are not reused wrongly.
  for (int run = 0; run < 2; ++run) {
    auto out = (*executor)->Run({&*x});
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_EQ(out->size(), 2u);
    // t = [11, 22, 33]; u = w = 2t; y = reverse(2t) + 2t.
    const float *y = (*out)[0].data_as<float>();
    EXPECT_EQ((*out)[0].shape(), std::vector<int64_t>{3});
    EXPECT_FLOAT_EQ(y[0], 66 + 22);
    EXPECT_FLOAT_EQ(y[1], 44 + 44);
    EXPECT_FLOAT_EQ(y[2], 22 + 66);
    const float *t = (*out)[1].data_as<float>();
    EXPECT_FLOAT_EQ(t[0], 11);
    EXPECT_FLOAT_EQ(t[2], 33);
  }
}

TEST(CpuExecutor, ReleasesAfterLastReader) {
  auto executor = CpuExecutor::Create(SamplePlan(), Entries());
  ASSERT_TRUE(executor.ok()) << executor.status();
  const Plan &plan = (*executor)->plan();
  // u (3) is last read by reverse (step 2); r (5) and w (4) by the final
  // add; t (2) and y (6) are outputs and stay.
  EXPECT_EQ(plan.steps[2].release, std::vector<int64_t>{3});
  EXPECT_EQ(plan.steps[3].release, (std::vector<int64_t>{4, 5}));
  EXPECT_TRUE(plan.steps[0].release.empty());
  EXPECT_NE(plan.ToString().find("launch twice(%2) -> %3: f32[-1], %4: "
                                 "f32[-1]"),
            std::string::npos)
      << plan.ToString();
}

TEST(CpuExecutor, RejectsInputsNotInTheContract) {
  auto executor = CpuExecutor::Create(SamplePlan(), Entries());
  ASSERT_TRUE(executor.ok());
  auto wrongType = HostTensor::Create(DType::kF64, {3});
  auto out = (*executor)->Run({&*wrongType});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("input 'x' must be f32, got f64"),
            std::string::npos)
      << out.status();
  auto rank2 = HostTensor::Create(DType::kF32, {3, 1});
  out = (*executor)->Run({&*rank2});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("input 'x' must have rank 1"),
            std::string::npos)
      << out.status();
  out = (*executor)->Run({});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("takes 1 inputs, got 0"),
            std::string::npos);
}

TEST(CpuExecutor, RejectsMalformedPlans) {
  auto expectBad = [](Plan p, const std::string &what) {
    auto e = CpuExecutor::Create(std::move(p), Entries());
    ASSERT_FALSE(e.ok()) << what;
    EXPECT_NE(e.status().message().find(what), std::string::npos) << e.status();
  };
  Plan p = SamplePlan();
  p.steps[0].args = {0, 6};
  expectBad(std::move(p), "step 0 (add) reads value 6 before it is defined");
  p = SamplePlan();
  p.steps[1].kernel = 7;
  expectBad(std::move(p), "step 1 launches kernel 7 of 3");
  p = SamplePlan();
  p.steps[2].results = {4};
  expectBad(std::move(p), "defines value 4, which is not its own result");
  p = SamplePlan();
  p.outputs = {99, 2};
  expectBad(std::move(p), "output 0 is value 99");
  p = SamplePlan();
  p.constants[0].shape = {4};
  expectBad(std::move(p), "constant 0 of shape [4] holds 12 bytes");
  p = SamplePlan();
  p.output_specs[0].dtype = DType::kI64;
  expectBad(std::move(p), "output 'y' is i64[-1] but its value is f32[-1]");
  p = SamplePlan();
  p.steps[0].destinations = true;
  expectBad(std::move(p), "writes value 2 of shape [-1] into a destination, "
                          "which needs a static size");
  p = SamplePlan();
  auto e = CpuExecutor::Create(std::move(p), {&AddKernel, &TwiceKernel});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("launches 3 kernels but 2 were bound"),
            std::string::npos);
}

/// A chain x -> a -> b -> c -> d of increments into the arena; a and d are
/// outputs, so they live to the end.
Plan ChainPlan() {
  Plan p;
  p.input_specs = {TensorSpec{"x", DType::kF32, {16}, {""}}};
  p.output_specs = {TensorSpec{"d", DType::kF32, {16}, {""}},
                    TensorSpec{"a", DType::kF32, {16}, {""}}};
  p.values = {Val(Kind::kInput, 0, 16), Val(Kind::kResult, 0, 16),
              Val(Kind::kResult, 1, 16), Val(Kind::kResult, 2, 16),
              Val(Kind::kResult, 3, 16)};
  p.inputs = {0};
  p.kernels = {"increment"};
  for (int64_t s = 0; s < 4; ++s)
    p.steps.push_back(S(0, {s}, {s + 1}, true));
  p.outputs = {4, 1};
  return p;
}

TEST(CpuExecutor, PlansDestinationsInOneArena) {
  auto executor = CpuExecutor::Create(ChainPlan(), {&IncrementInto});
  ASSERT_TRUE(executor.ok()) << executor.status();
  const Plan &plan = (*executor)->plan();
  const auto &v = plan.values;
  // 16 floats = 64 bytes each. a (1) lives to the end; b (2) is read by the
  // step defining c (3), so they overlap; d (4) can take b's place.
  EXPECT_NE(v[1].offset, v[2].offset);
  EXPECT_NE(v[2].offset, v[3].offset);
  EXPECT_NE(v[1].offset, v[3].offset);
  EXPECT_EQ(v[4].offset, v[2].offset);
  EXPECT_EQ(plan.arena_bytes, 3 * 64);
  EXPECT_NE(plan.ToString().find("launch increment(%0) -> %1: f32[16] at "),
            std::string::npos)
      << plan.ToString();
  EXPECT_NE(plan.ToString().find("(into the arena)"), std::string::npos);

  auto x = HostTensor::Create(DType::kF32, {16});
  for (int i = 0; i < 16; ++i)
    x->data_as<float>()[i] = static_cast<float>(i);
  auto out = (*executor)->Run({&*x});
  ASSERT_TRUE(out.ok()) << out.status();
  for (int i = 0; i < 16; ++i) {
    EXPECT_FLOAT_EQ((*out)[0].data_as<float>()[i], i + 4.0f);
    EXPECT_FLOAT_EQ((*out)[1].data_as<float>()[i], i + 1.0f);
  }
}

/// Disjoint lifetimes share memory; overlapping ones never do, whatever
/// the sizes (a brute-force check over a random plan).
TEST(CpuExecutor, PlannedBuffersNeverOverlapWhileAlive) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    Plan p;
    p.input_specs = {TensorSpec{"x", DType::kF32, {4}, {""}}};
    p.values = {Val(Kind::kInput, 0, 4)};
    p.inputs = {0};
    p.kernels = {"k"};
    int steps = 12;
    for (int s = 0; s < steps; ++s) {
      std::uniform_int_distribution<int64_t> pick(0, p.values.size() - 1);
      int64_t a = pick(rng), b = pick(rng);
      p.steps.push_back(
          S(0, {a, b}, {static_cast<int64_t>(p.values.size())}, true));
      p.values.push_back(Val(Kind::kResult, s, 1 + rng() % 300));
    }
    p.output_specs = {
        TensorSpec{"y", DType::kF32, p.values.back().shape, {""}}};
    p.outputs = {static_cast<int64_t>(p.values.size()) - 1};
    ASSERT_TRUE(p.Validate().ok()) << p.Validate();
    p.ComputeReleases();
    p.PlanMemory();
    std::vector<int64_t> last(p.values.size(), -1);
    for (int s = 0; s < steps; ++s)
      for (int64_t r : p.steps[s].release)
        last[r] = s;
    last[p.outputs[0]] = steps;
    for (size_t a = 1; a < p.values.size(); ++a)
      for (size_t b = a + 1; b < p.values.size(); ++b) {
        int64_t da = p.values[a].index, db = p.values[b].index;
        bool alive = da <= std::max(last[b], db) && db <= std::max(last[a], da);
        int64_t ea = p.values[a].offset + p.values[a].shape[0] * 4;
        int64_t eb = p.values[b].offset + p.values[b].shape[0] * 4;
        bool overlap = p.values[a].offset < eb && p.values[b].offset < ea;
        EXPECT_FALSE(alive && overlap) << "values " << a << " and " << b;
        EXPECT_LE(ea, p.arena_bytes);
      }
  }
}

/// Allocates a buffer, then fails a check when x[0] is negative: the run
/// must stop with the message, and nothing it allocated may stay behind.
void CheckedKernel(void **args) {
  Desc1 *a = Arg(args, 1);
  Desc1 out = Fresh(a->size);
  if (a->aligned[a->offset] < 0)
    bathy_rt_fail("node 'check' (Test): x[0] is {0}, sizes {1} and {2}",
                  static_cast<int64_t>(a->aligned[a->offset]), a->size, 7);
  for (int64_t i = 0; i < a->size; ++i)
    out.aligned[i] = a->aligned[a->offset + i * a->stride];
  *Arg(args, 0) = out;
}

/// The same check, failing inside a task of a parallel loop.
void ParallelCheckedKernel(void **args) {
  Desc1 *a = Arg(args, 1);
  Desc1 out = Fresh(a->size);
  struct Ctx {
    Desc1 *a;
    Desc1 out;
  } ctx{a, out};
  bathy_rt_parallel_for(
      a->size, 1,
      [](void *p, int64_t begin, int64_t end) {
        auto *c = static_cast<Ctx *>(p);
        for (int64_t i = begin; i < end; ++i) {
          float v = c->a->aligned[c->a->offset + i * c->a->stride];
          if (v < 0)
            bathy_rt_fail("element {0} is negative", i, 0, 0);
          c->out.aligned[i] = v;
        }
      },
      &ctx);
  *Arg(args, 0) = out;
}

/// Asks for more memory than any limit allows.
void HugeKernel(void **args) {
  Desc1 *a = Arg(args, 1);
  *Arg(args, 0) = Fresh(int64_t{1} << 60);
  (void)a;
}

Plan OneStepPlan() {
  Plan p;
  p.values = {Val(Kind::kInput, 0), Val(Kind::kResult, 0)};
  p.input_specs = {Spec("x")};
  p.output_specs = {Spec("y")};
  p.inputs = {0};
  p.kernels = {"checked"};
  p.steps = {S(0, {0}, {1})};
  p.steps[0].nodes = "check";
  p.outputs = {1};
  return p;
}

TEST(CpuExecutor, AFailingCheckStopsTheRunAndFreesItsBuffers) {
  for (KernelEntry entry : {&CheckedKernel, &ParallelCheckedKernel}) {
    auto executor = CpuExecutor::Create(OneStepPlan(), {entry});
    ASSERT_TRUE(executor.ok()) << executor.status();
    auto x = HostTensor::Create(DType::kF32, {64});
    for (int i = 0; i < 64; ++i)
      x->data_as<float>()[i] = static_cast<float>(i);
    int64_t before = MemoryInUse();
    auto out = (*executor)->Run({&*x});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_FLOAT_EQ((*out)[0].data_as<float>()[63], 63);
    // A negative element fails the check, on this thread or a worker.
    x->data_as<float>()[0] = -5;
    x->data_as<float>()[40] = -1;
    out = (*executor)->Run({&*x});
    ASSERT_FALSE(out.ok());
    std::string message(out.status().message());
    if (entry == &CheckedKernel)
      EXPECT_EQ(message, "node 'check' (Test): x[0] is -5, sizes 64 and 7");
    else
      EXPECT_NE(message.find("kernel 'checked' (ONNX nodes check): element "),
                std::string::npos)
          << message;
    EXPECT_EQ(MemoryInUse(), before);
    // The executor is still usable.
    x->data_as<float>()[0] = 1;
    x->data_as<float>()[40] = 1;
    out = (*executor)->Run({&*x});
    ASSERT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(MemoryInUse(), before);
  }
}

TEST(CpuExecutor, AllocationsBeyondTheLimitFailTheRun) {
  auto executor = CpuExecutor::Create(OneStepPlan(), {&HugeKernel});
  ASSERT_TRUE(executor.ok()) << executor.status();
  auto x = HostTensor::Create(DType::kF32, {4});
  auto out = (*executor)->Run({&*x});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("cannot allocate a buffer of 4.0 EiB"),
            std::string::npos)
      << out.status();
  // A plan whose arena exceeds the limit is refused when loaded.
  SetMemoryLimit(1 << 20);
  Plan p = ChainPlan();
  for (Plan::Value &v : p.values)
    v.shape = {1 << 20};
  for (TensorSpec *s :
       {&p.input_specs[0], &p.output_specs[0], &p.output_specs[1]})
    s->shape = {1 << 20};
  auto big = CpuExecutor::Create(std::move(p), {&IncrementInto});
  SetMemoryLimit(0);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find(
                "the arena of the plan's intermediate tensors needs 12.0 MiB, "
                "more than the "
                "memory limit of 1.0 MiB"),
            std::string::npos)
      << big.status();
}

/// A plan from a file may size its values so that their offsets in the
/// arena overflow int64: the memory plan saturates and the plan is refused,
/// instead of an arena that wrapped around to a small size.
TEST(CpuExecutor, ArenaOffsetsThatOverflowAreRefused) {
  Plan p;
  const int64_t huge = int64_t{1} << 59; // floats: 2^61 bytes each
  p.input_specs = {TensorSpec{"x", DType::kF32, {16}, {""}}};
  p.values = {Val(Kind::kInput, 0, 16)};
  p.inputs = {0};
  p.kernels = {"increment"};
  // Eight results that all live to the end: 2^64 bytes in all.
  for (int64_t s = 0; s < 8; ++s) {
    p.values.push_back(Val(Kind::kResult, s, huge));
    p.steps.push_back(S(0, {0}, {s + 1}, true));
    p.outputs.push_back(s + 1);
    p.output_specs.push_back(TensorSpec{"y", DType::kF32, {huge}, {""}});
  }
  auto executor = CpuExecutor::Create(std::move(p), {&IncrementInto});
  ASSERT_FALSE(executor.ok());
  EXPECT_NE(executor.status().message().find("the arena"), std::string::npos)
      << executor.status();
}

TEST(RunContext, ChecksOutsideTasksAndInside) {
  RunContext context;
  struct Args {
    int64_t fail_at;
  } args{3};
  void *argv[] = {&args};
  auto kernel = [](void **a) {
    auto *p = static_cast<Args *>(a[0]);
    void *kept = bathy_rt_alloc(100);
    (void)kept; // left live: the context frees it
    if (p->fail_at >= 0)
      bathy_rt_fail("failed at {0}", p->fail_at, 0, 0);
  };
  absl::Status s = context.CallKernel(kernel, argv);
  EXPECT_EQ(s.message(), "failed at 3");
  EXPECT_EQ(context.live_buffers(), 1);
  EXPECT_EQ(context.live_bytes(), 100);
}

TEST(ThreadPool, TaskExceptionsReachTheCaller) {
  bathy_rt_set_num_threads(3);
  std::atomic<int> ran{0};
  EXPECT_THROW(ThreadPool::Default().ParallelFor(8,
                                                 [&](int64_t i) {
                                                   ++ran;
                                                   if (i == 5)
                                                     throw std::bad_alloc();
                                                 }),
               std::bad_alloc);
  EXPECT_EQ(ran.load(), 8);
  // The pool keeps working.
  ran = 0;
  ThreadPool::Default().ParallelFor(8, [&](int64_t) { ++ran; });
  EXPECT_EQ(ran.load(), 8);
  bathy_rt_set_num_threads(0);
}

} // namespace
} // namespace bathy::rt
