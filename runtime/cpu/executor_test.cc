//===- executor_test.cc - The CPU executor on hand-written kernels --------===//
#include "runtime/cpu/executor.h"

#include <cstdlib>
#include <cstring>

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
  // Like MLIR's lowering: an aligned pointer inside the allocation.
  auto *base = static_cast<float *>(std::malloc(sizeof(float) * (n + 4)));
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

Plan::Value Val(Kind kind, int64_t index) {
  Plan::Value v;
  v.kind = kind;
  v.dtype = DType::kF32;
  v.rank = 1;
  v.index = index;
  return v;
}

TensorSpec Spec(const std::string &name) {
  TensorSpec s;
  s.name = name;
  s.shape = {-1};
  s.dimParams = {"n"};
  return s;
}

/// x (input), c = [10, 20, 30] (constant);
/// t = x + c; (u, w) = twice(t); r = reverse(u); y = r + w.
Plan SamplePlan() {
  Plan p;
  p.values = {Val(Kind::kInput, 0),  Val(Kind::kConstant, 0),
              Val(Kind::kResult, 0), Val(Kind::kResult, 1),
              Val(Kind::kResult, 1), Val(Kind::kResult, 2),
              Val(Kind::kResult, 3)};
  p.inputSpecs = {Spec("x")};
  p.outputSpecs = {Spec("y"), Spec("t")};
  p.inputs = {0};
  Plan::Constant c;
  c.value = 1;
  c.shape = {3};
  c.bytes = AlignedBytes::Allocate(3 * sizeof(float));
  float k[3] = {10, 20, 30};
  std::memcpy(c.bytes.data.get(), k, sizeof(k));
  p.constants.push_back(std::move(c));
  p.kernels = {"add", "twice", "reverse"};
  p.steps = {{0, {0, 1}, {2}, {}},
             {1, {2}, {3, 4}, {}},
             {2, {3}, {5}, {}},
             {0, {5, 4}, {6}, {}}};
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
  EXPECT_NE(plan.ToString().find("launch twice(%2) -> %3: f32 rank 1, %4: "
                                 "f32 rank 1"),
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
    EXPECT_NE(e.status().message().find(what), std::string::npos)
        << e.status();
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
  p.outputSpecs[0].dtype = DType::kI64;
  expectBad(std::move(p), "output 'y' is i64 of rank 1 but its value is f32");
  p = SamplePlan();
  auto e = CpuExecutor::Create(std::move(p), {&AddKernel, &TwiceKernel});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("launches 3 kernels but 2 were bound"),
            std::string::npos);
}

} // namespace
} // namespace bathy::rt
