//===- artifact_test.cc - The .bathy format: round trip and bad files -----===//
#include "runtime/artifact/artifact.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "runtime/artifact/describe.h"

namespace bathy::rt {
namespace {

using Kind = Plan::Value::Kind;

Plan::Value Val(Kind kind, int64_t index, std::vector<int64_t> shape) {
  Plan::Value v;
  v.kind = kind;
  v.dtype = DType::kF32;
  v.shape = std::move(shape);
  v.index = index;
  return v;
}

/// y = add(x, c), c a constant of 5 floats.
Plan SamplePlan() {
  Plan p;
  p.values = {Val(Kind::kInput, 0, {-1}), Val(Kind::kConstant, 0, {5}),
              Val(Kind::kResult, 0, {-1})};
  TensorSpec x{"x", DType::kF32, {-1}, {"n"}};
  TensorSpec y{"y", DType::kF32, {-1}, {"n"}};
  p.input_specs = {x};
  p.output_specs = {y};
  p.inputs = {0};
  Plan::Constant c;
  c.value = 1;
  c.shape = {5};
  c.bytes = AlignedBytes::Allocate(5 * sizeof(float));
  for (int i = 0; i < 5; ++i)
    reinterpret_cast<float *>(c.bytes.data.get())[i] = 1.5f * i;
  p.constants.push_back(std::move(c));
  p.kernels = {"add"};
  Plan::Step s;
  s.kernel = 0;
  s.args = {0, 1};
  s.results = {2};
  s.nodes = "Add_0";
  p.steps = {s};
  p.outputs = {2};
  return p;
}

std::string SampleArtifact(const Plan &plan) {
  ArtifactContents c;
  c.manifest.compiler_version = "bathy test";
  c.manifest.target = "cpu";
  c.manifest.cpu = "x86-64-v3";
  c.manifest.cpu_features = {"avx2", "fma"};
  c.manifest.inputs = plan.input_specs;
  c.manifest.outputs = plan.output_specs;
  c.manifest.model_sha256 = Sha256Hex("model bytes");
  c.manifest.model_producer = "test";
  c.manifest.options = {{"--no-fusion", "false"}};
  c.manifest.kernels = {{"add", {"Add_0"}}};
  c.plans = {&plan};
  c.code = {std::string(3000, 'c')};
  absl::StatusOr<std::string> bytes = SerializeArtifact(c);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

TEST(Artifact, RoundTripsThePlanAndManifest) {
  Plan plan = SamplePlan();
  std::string bytes = SampleArtifact(plan);
  // Deterministic.
  EXPECT_EQ(bytes, SampleArtifact(plan));
  auto a = Artifact::FromBytes(bytes, "sample.bathy");
  ASSERT_TRUE(a.ok()) << a.status();
  const Manifest &m = (*a)->manifest();
  EXPECT_EQ(m.cpu, "x86-64-v3");
  EXPECT_EQ(m.cpu_features, (std::vector<std::string>{"avx2", "fma"}));
  EXPECT_EQ(m.model_sha256, Sha256Hex("model bytes"));
  ASSERT_EQ(m.inputs.size(), 1u);
  EXPECT_EQ(m.inputs[0].dim_params, std::vector<std::string>{"n"});
  ASSERT_EQ(m.kernels.size(), 1u);
  EXPECT_EQ(m.kernels[0].nodes, std::vector<std::string>{"Add_0"});
  EXPECT_EQ((*a)->code(), std::string(3000, 'c'));
  ASSERT_EQ((*a)->num_plans(), 1u);
  Plan loaded = (*a)->plan(0);
  plan.ComputeReleases();
  plan.PlanMemory();
  EXPECT_EQ(loaded.ToString(), plan.ToString());
  ASSERT_EQ(loaded.constants.size(), 1u);
  // A view of the mapped weights, 64-byte aligned, with the same bytes.
  const uint8_t *w = loaded.constants[0].bytes.data.get();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w) % 64, 0u);
  EXPECT_EQ(std::memcmp(w, plan.constants[0].bytes.data.get(), 20), 0);
}

/// Every byte flip inside a section is refused, naming that section.
TEST(Artifact, RefusesAFlippedByteInEverySection) {
  Plan plan = SamplePlan();
  std::string bytes = SampleArtifact(plan);
  auto a = Artifact::FromBytes(bytes, "sample.bathy");
  ASSERT_TRUE(a.ok()) << a.status();
  for (const Artifact::Section &s : (*a)->sections()) {
    std::string name = SectionName(s.kind);
    for (uint64_t at :
         {s.offset, s.offset + s.size / 2, s.offset + s.size - 1}) {
      std::string bad = bytes;
      bad[at] ^= 0x40;
      auto r = Artifact::FromBytes(bad, "bad.bathy");
      ASSERT_FALSE(r.ok()) << name << " byte " << at;
      EXPECT_NE(r.status().message().find(name), std::string::npos)
          << r.status();
    }
  }
}

TEST(Artifact, RefusesEveryTruncation) {
  Plan plan = SamplePlan();
  std::string bytes = SampleArtifact(plan);
  for (size_t size = 0; size < bytes.size(); size += 97) {
    auto r = Artifact::FromBytes(bytes.substr(0, size), "short.bathy");
    EXPECT_FALSE(r.ok()) << size;
  }
  auto r = Artifact::FromBytes(bytes + "x", "long.bathy");
  EXPECT_FALSE(r.ok());
}

TEST(Artifact, RefusesAnotherMajorVersionAndBadMagic) {
  Plan plan = SamplePlan();
  std::string bytes = SampleArtifact(plan);
  std::string v2 = bytes;
  v2[8] = 2;
  auto r = Artifact::FromBytes(v2, "v2.bathy");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("format version 2.1"), std::string::npos)
      << r.status();
  std::string magic = bytes;
  magic[0] = 'X';
  r = Artifact::FromBytes(magic, "x.bathy");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a bathy artifact"),
            std::string::npos);
}

/// Sections swapped in from another artifact fail their checksums.
TEST(Artifact, RefusesASectionFromAnotherArtifact) {
  Plan plan = SamplePlan();
  std::string a = SampleArtifact(plan);
  Plan other = SamplePlan();
  reinterpret_cast<float *>(other.constants[0].bytes.data.get())[0] = 7;
  std::string b = SampleArtifact(other);
  ASSERT_EQ(a.size(), b.size());
  auto parsed = Artifact::FromBytes(a, "a.bathy");
  ASSERT_TRUE(parsed.ok());
  for (const Artifact::Section &s : (*parsed)->sections()) {
    std::string mixed = a;
    std::memcpy(mixed.data() + s.offset, b.data() + s.offset, s.size);
    if (mixed == a)
      continue;
    auto r = Artifact::FromBytes(mixed, "mixed.bathy");
    ASSERT_FALSE(r.ok()) << SectionName(s.kind);
    EXPECT_NE(r.status().message().find("checksum"), std::string::npos)
        << r.status();
  }
}

/// Inputs the loader's fuzzer found a crash or undefined behaviour with
/// (test/fuzz/regressions/*.bathy): read with and without checksums, then
/// everything accepted is read back, as the fuzzer does. Under the
/// sanitizer build a regression aborts the test.
TEST(Artifact, FuzzRegressionsAreRefusedOrRead) {
  std::filesystem::path dir =
      std::filesystem::path(BATHY_SOURCE_DIR) / "test" / "fuzz" / "regressions";
  int seen = 0;
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".bathy")
      continue;
    ++seen;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    for (bool checked : {true, false}) {
      auto a = checked ? Artifact::FromBytes(bytes.str(), "regression")
                       : Artifact::FromBytesIgnoringChecksums(bytes.str(),
                                                              "regression");
      if (!a.ok())
        continue;
      for (size_t i = 0; i < (*a)->num_plans(); ++i)
        (void)(*a)->plan(i);
      (void)DescribeArtifact(**a, /*json=*/true);
    }
  }
  EXPECT_GT(seen, 0) << "no regressions in " << dir;
}

} // namespace
} // namespace bathy::rt

namespace bathy::rt {
namespace {

/// SamplePlan specialised for n = `n` (a bucket's plan).
Plan BucketPlan(int64_t n) {
  Plan p = SamplePlan();
  p.values[0].shape = {n};
  p.values[2].shape = {n};
  p.input_specs[0].shape = {n};
  p.output_specs[0].shape = {n};
  return p;
}

absl::StatusOr<std::unique_ptr<Artifact>>
WithBuckets(const std::vector<const Plan *> &plans,
            std::vector<Manifest::Bucket> buckets, std::vector<PadRule> pad) {
  ArtifactContents c;
  const Plan &generic = *plans[0];
  c.manifest.target = "cpu";
  c.manifest.inputs = generic.input_specs;
  c.manifest.outputs = generic.output_specs;
  c.manifest.buckets = std::move(buckets);
  c.manifest.pad = std::move(pad);
  c.plans = plans;
  for (size_t i = 0; i < plans.size(); ++i)
    c.code.push_back(std::string(100 + i, static_cast<char>('a' + i)));
  absl::StatusOr<std::string> bytes = SerializeArtifact(c);
  if (!bytes.ok())
    return bytes.status();
  return Artifact::FromBytes(*bytes, "b.bathy");
}

TEST(Artifact, BucketsRoundTripWithOneCopyOfTheWeights) {
  Plan generic = SamplePlan(), b4 = BucketPlan(4), b8 = BucketPlan(8);
  auto a = WithBuckets({&generic, &b4, &b8}, {{1, {{"n", 4}}}, {2, {{"n", 8}}}},
                       {{"n", 0, "", 0}});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ((*a)->num_plans(), 3u);
  EXPECT_EQ((*a)->manifest().buckets.size(), 2u);
  EXPECT_EQ((*a)->manifest().buckets[1].dims,
            (std::vector<std::pair<std::string, int64_t>>{{"n", 8}}));
  ASSERT_EQ((*a)->manifest().pad.size(), 1u);
  EXPECT_EQ((*a)->manifest().pad[0].dim, "n");
  // Each plan its own code; one copy of the constant for all three.
  EXPECT_EQ((*a)->code(0), std::string(100, 'a'));
  EXPECT_EQ((*a)->code(2), std::string(102, 'c'));
  EXPECT_EQ((*a)->plan(0).constants[0].bytes.data.get(),
            (*a)->plan(2).constants[0].bytes.data.get());
  // A bucket's plan takes its bucket's sizes only.
  EXPECT_EQ((*a)->plan(1).input_specs[0].shape, std::vector<int64_t>{4});
  EXPECT_EQ((*a)->plan(0).input_specs[0].shape, std::vector<int64_t>{-1});
}

TEST(Artifact, RefusesBucketsThatDoNotFitThePlans) {
  Plan generic = SamplePlan(), b4 = BucketPlan(4);
  struct Case {
    std::vector<Manifest::Bucket> buckets;
    std::vector<PadRule> pad;
    const char *why;
  } cases[] = {
      {{{0, {{"n", 4}}}}, {}, "bucket 0 names plan 0"},
      {{{7, {{"n", 4}}}}, {}, "names plan 7"},
      {{{1, {{"n", 4}}}, {1, {{"n", 4}}}}, {}, "bucket 1 names plan 1"},
      {{{1, {{"m", 4}}}}, {}, "sizes dim 'm'"},
      {{{1, {{"n", -1}}}}, {}, "sizes dim 'n' as -1"},
      {{{1, {{"n", 4}, {"n", 4}}}}, {}, "given twice"},
      {{{1, {{"n", 5}}}}, {}, "plan 1 takes input 'x' with n = 4, but its "
                              "bucket says 5"},
      {{{1, {{"n", 4}}}}, {{"m", 0, "", 0}}, "padding rule for 'm'"},
      {{{1, {{"n", 4}}}}, {{"n", 0, "mask", 0}}, "padding rule for 'n'"},
      {{{1, {{"n", 4}}}},
       {{"n", std::numeric_limits<double>::infinity(), "", 0}},
       "not finite"},
  };
  for (const Case &c : cases) {
    auto a = WithBuckets({&generic, &b4}, c.buckets, c.pad);
    ASSERT_FALSE(a.ok()) << c.why;
    EXPECT_NE(a.status().message().find(c.why), std::string::npos)
        << a.status().message();
  }
}

TEST(ConstantPool, SharesEqualBytesOnly) {
  Plan base = SamplePlan(), other = SamplePlan(), changed = SamplePlan();
  reinterpret_cast<float *>(changed.constants[0].bytes.data.get())[4] = 7;
  ConstantPool pool(base);
  EXPECT_EQ(pool.Share(other), 20u);
  EXPECT_EQ(other.constants[0].bytes.data.get(),
            base.constants[0].bytes.data.get());
  EXPECT_EQ(pool.Share(changed), 0u);
  EXPECT_NE(changed.constants[0].bytes.data.get(),
            base.constants[0].bytes.data.get());
}

} // namespace
} // namespace bathy::rt
