//===- artifact.cc - The .bathy file: written once, verified when loaded --===//
#include "runtime/artifact/artifact.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <set>
#include <unordered_map>
#include <cstring>
#include <limits>
#include <memory>

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "runtime/artifact/artifact_generated.h"
#include "runtime/file.h"

namespace bathy::rt {

namespace fb = bathy::artifact::fb;

namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the header is written in the host's byte order");

// The header: magic, version, sizes, the manifest's SHA-256, then the
// section table (docs/artifact.md, "Header").
constexpr char kMagic[8] = {'B', 'A', 'T', 'H', 'Y', 'A', 'R', 'T'};
constexpr size_t kFixedHeaderBytes = 64;
constexpr size_t kSectionEntryBytes = 24;
constexpr uint32_t kMaxSections = 64;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kConstantAlignment = 64;
/// The largest dim size a bucket may name (far above any real one).
constexpr int64_t kMaxBucketDim = int64_t{1} << 40;
/// Section flag: a reader that does not know the kind may skip it.
constexpr uint32_t kSectionOptional = 1;

template <typename T> T Load(const uint8_t *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
template <typename T> void Store(std::string &out, size_t at, T v) {
  std::memcpy(out.data() + at, &v, sizeof(T));
}

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

std::string Digest(const uint8_t *data, size_t size) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data, size, md, &len, EVP_sha256(), nullptr) != 1)
    return std::string();
  return std::string(reinterpret_cast<char *>(md), len);
}

/// The digest of a page-aligned range of a read-only file mapping, read in
/// chunks that are given back to the kernel once hashed: verifying a large
/// weights section does not make it resident (a later touch reads the
/// clean pages again from the page cache).
std::string DigestMapped(const uint8_t *data, size_t size) {
  constexpr size_t kChunk = size_t{8} << 20;
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX *)> ctx(EVP_MD_CTX_new(),
                                                          EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return std::string();
  for (size_t at = 0; at < size; at += kChunk) {
    size_t n = std::min(kChunk, size - at);
    if (EVP_DigestUpdate(ctx.get(), data + at, n) != 1)
      return std::string();
    madvise(const_cast<uint8_t *>(data) + at, n, MADV_DONTNEED);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1)
    return std::string();
  return std::string(reinterpret_cast<char *>(md), len);
}

/// An Ed25519 signature of `message` with the PEM private key `pem`.
using Key = std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY *)>;

/// The Ed25519 key in `pem` (private or public), or null.
Key ReadEd25519Key(const std::string &pem, bool isPublic) {
  std::unique_ptr<BIO, int (*)(BIO *)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  Key key(!bio ? nullptr
          : isPublic
              ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr)
              : PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr),
          EVP_PKEY_free);
  if (key && EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519)
    key.reset();
  return key;
}

absl::StatusOr<std::string> Sign(const std::string &pem,
                                 absl::string_view message) {
  Key key = ReadEd25519Key(pem, /*isPublic=*/false);
  if (!key)
    return absl::InvalidArgumentError(
        "the signing key is not a PEM Ed25519 private key");
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX *)> ctx(EVP_MD_CTX_new(),
                                                          EVP_MD_CTX_free);
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (!ctx ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) !=
          1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char *>(sig.data()),
                     &len,
                     reinterpret_cast<const unsigned char *>(message.data()),
                     message.size()) != 1 ||
      len != 64)
    return absl::InternalError("signing the artifact failed (libcrypto)");
  return sig;
}

/// Whether `sig` is `pem`'s (a PEM Ed25519 public key) signature of
/// `message`; an error when the key cannot be read.
absl::StatusOr<bool> VerifySignature(const std::string &pem,
                                     absl::string_view message,
                                     absl::string_view sig) {
  Key key = ReadEd25519Key(pem, /*isPublic=*/true);
  if (!key)
    return absl::InvalidArgumentError(
        "the trusted key is not a PEM Ed25519 public key");
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX *)> ctx(EVP_MD_CTX_new(),
                                                          EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr,
                                   key.get()) != 1)
    return absl::InternalError("verifying a signature failed (libcrypto)");
  return EVP_DigestVerify(
             ctx.get(), reinterpret_cast<const unsigned char *>(sig.data()),
             sig.size(),
             reinterpret_cast<const unsigned char *>(message.data()),
             message.size()) == 1;
}

bool KnownKind(uint32_t kind) { return kind >= 1 && kind <= 5; }

absl::Status Refuse(const std::string &name, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(name, ": ", what));
}

//===----------------------------------------------------------------------===//
// Writing
//===----------------------------------------------------------------------===//

fb::DType ToFb(DType d) { return static_cast<fb::DType>(d); }

flatbuffers::Offset<fb::TensorSpec> WriteSpec(flatbuffers::FlatBufferBuilder &b,
                                              const TensorSpec &s) {
  return fb::CreateTensorSpec(b, b.CreateString(s.name), ToFb(s.dtype),
                              b.CreateVector(s.shape),
                              b.CreateVectorOfStrings(s.dim_params));
}

std::vector<flatbuffers::Offset<fb::TensorSpec>>
WriteSpecs(flatbuffers::FlatBufferBuilder &b,
           const std::vector<TensorSpec> &specs) {
  std::vector<flatbuffers::Offset<fb::TensorSpec>> out;
  for (const TensorSpec &s : specs)
    out.push_back(WriteSpec(b, s));
  return out;
}

std::string Finish(flatbuffers::FlatBufferBuilder &b) {
  return std::string(reinterpret_cast<const char *>(b.GetBufferPointer()),
                     b.GetSize());
}

std::string WriteManifest(const Manifest &m) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::Option>> options;
  for (const auto &[k, v] : m.options)
    options.push_back(
        fb::CreateOption(b, b.CreateString(k), b.CreateString(v)));
  std::vector<flatbuffers::Offset<fb::KernelInfo>> kernels;
  for (const Manifest::Kernel &k : m.kernels)
    kernels.push_back(fb::CreateKernelInfo(b, b.CreateString(k.name),
                                           b.CreateVectorOfStrings(k.nodes)));
  std::vector<flatbuffers::Offset<fb::SectionDigest>> digests;
  for (const auto &[kind, hex] : m.section_sha256) {
    std::string raw = absl::HexStringToBytes(hex);
    digests.push_back(fb::CreateSectionDigest(
        b, kind,
        b.CreateVector(reinterpret_cast<const uint8_t *>(raw.data()),
                       raw.size())));
  }
  std::vector<flatbuffers::Offset<fb::Bucket>> buckets;
  for (const Manifest::Bucket &bucket : m.buckets) {
    std::vector<flatbuffers::Offset<fb::DimSize>> dims;
    for (const auto &[name, size] : bucket.dims)
      dims.push_back(fb::CreateDimSize(b, b.CreateString(name), size));
    buckets.push_back(fb::CreateBucket(b, bucket.plan, b.CreateVector(dims)));
  }
  std::vector<flatbuffers::Offset<fb::PadRule>> pad;
  for (const PadRule &r : m.pad)
    pad.push_back(fb::CreatePadRule(b, b.CreateString(r.dim), r.value,
                                    b.CreateString(r.mask_input),
                                    r.mask_value));
  std::string modelSha = absl::HexStringToBytes(m.model_sha256);
  auto inputs = WriteSpecs(b, m.inputs);
  auto outputs = WriteSpecs(b, m.outputs);
  auto root = fb::CreateManifest(
      b, m.format_major, m.format_minor, b.CreateString(m.compiler_version),
      b.CreateString(m.target), b.CreateString(m.cpu),
      b.CreateVectorOfStrings(m.cpu_features), b.CreateVector(inputs),
      b.CreateVector(outputs),
      b.CreateVector(reinterpret_cast<const uint8_t *>(modelSha.data()),
                     modelSha.size()),
      b.CreateString(m.model_producer), b.CreateString(m.model_file),
      b.CreateVector(options), b.CreateVector(kernels), b.CreateVector(digests),
      b.CreateVector(buckets), b.CreateVector(pad));
  b.Finish(root);
  return Finish(b);
}

/// The plans, and the weights section their constants point into. A
/// constant whose bytes are already there (the same weight in several
/// plans) is stored once. `code` holds each plan's [offset, size) in the
/// code section.
std::pair<std::string, std::string>
WritePlans(const std::vector<const Plan *> &plans,
           const std::vector<std::pair<uint64_t, uint64_t>> &code) {
  flatbuffers::FlatBufferBuilder b;
  std::string weights;
  // Offsets of the constants written so far, by size and a hash of their
  // bytes; equal bytes are confirmed before sharing.
  std::unordered_multimap<uint64_t, uint64_t> written;
  auto place = [&](const AlignedBytes &bytes) {
    absl::string_view v(reinterpret_cast<const char *>(bytes.data.get()),
                        bytes.size);
    uint64_t key = absl::HashOf(v);
    auto [lo, hi] = written.equal_range(key);
    for (auto it = lo; it != hi; ++it)
      if (absl::string_view(weights).substr(it->second, v.size()) == v)
        return it->second;
    uint64_t offset = AlignUp(weights.size(), kConstantAlignment);
    weights.resize(offset);
    weights.append(v.data(), v.size());
    written.emplace(key, offset);
    return offset;
  };
  std::vector<flatbuffers::Offset<fb::Plan>> out;
  for (size_t i = 0; i < plans.size(); ++i) {
    const Plan *p = plans[i];
    std::vector<flatbuffers::Offset<fb::Value>> values;
    for (const Plan::Value &v : p->values)
      values.push_back(fb::CreateValue(b, static_cast<fb::ValueKind>(v.kind),
                                       ToFb(v.dtype), v.index,
                                       b.CreateVector(v.shape)));
    std::vector<flatbuffers::Offset<fb::Constant>> constants;
    for (const Plan::Constant &c : p->constants) {
      uint64_t offset = place(c.bytes);
      constants.push_back(fb::CreateConstant(
          b, c.value, b.CreateVector(c.shape), offset, c.bytes.size));
    }
    std::vector<flatbuffers::Offset<fb::Step>> steps;
    for (const Plan::Step &s : p->steps)
      steps.push_back(fb::CreateStep(b, s.kernel, b.CreateVector(s.args),
                                     b.CreateVector(s.results), s.destinations,
                                     b.CreateString(s.nodes)));
    out.push_back(
        fb::CreatePlan(b, b.CreateString("main"), b.CreateVector(values),
                       b.CreateVector(p->inputs), b.CreateVector(constants),
                       b.CreateVectorOfStrings(p->kernels),
                       b.CreateVector(steps), b.CreateVector(p->outputs),
                       code[i].first, code[i].second));
  }
  b.Finish(fb::CreatePlans(b, b.CreateVector(out)));
  return {Finish(b), std::move(weights)};
}

//===----------------------------------------------------------------------===//
// Reading (after the verifier accepted the buffer)
//===----------------------------------------------------------------------===//

/// The elements of a scalar vector, copied bytewise: the verifier checks a
/// vector's length prefix is 4-byte aligned, not that 8-byte elements are
/// 8-byte aligned, so a hostile file can misalign them (found by the fuzzer
/// under UBSan). Little-endian data on a little-endian host.
template <typename T> std::vector<T> ToVector(const flatbuffers::Vector<T> *v) {
  std::vector<T> out(v ? v->size() : 0);
  if (!out.empty())
    std::memcpy(out.data(), v->Data(), out.size() * sizeof(T));
  return out;
}

std::string Str(const flatbuffers::String *s) {
  return s ? s->str() : std::string();
}

std::vector<std::string> Strings(
    const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>> *v) {
  std::vector<std::string> out;
  if (v)
    for (const flatbuffers::String *s : *v)
      out.push_back(Str(s));
  return out;
}

absl::StatusOr<DType> FromFb(fb::DType d, absl::string_view where) {
  if (d > fb::DType_MAX)
    return absl::InvalidArgumentError(
        absl::StrCat(where, " has element type ", static_cast<int>(d),
                     ", which this runtime does not know"));
  return static_cast<DType>(d);
}

absl::StatusOr<std::vector<TensorSpec>>
ReadSpecs(const flatbuffers::Vector<flatbuffers::Offset<fb::TensorSpec>> *v,
          absl::string_view what) {
  std::vector<TensorSpec> out;
  if (!v)
    return out;
  for (const fb::TensorSpec *s : *v) {
    TensorSpec spec;
    spec.name = Str(s->name());
    absl::StatusOr<DType> dtype =
        FromFb(s->dtype(), absl::StrCat(what, " '", spec.name, "'"));
    if (!dtype.ok())
      return dtype.status();
    spec.dtype = *dtype;
    spec.shape = ToVector(s->shape());
    spec.dim_params = Strings(s->dim_params());
    if (!spec.dim_params.empty() && spec.dim_params.size() != spec.shape.size())
      return absl::InvalidArgumentError(
          absl::StrCat(what, " '", spec.name, "' names ",
                       spec.dim_params.size(), " dims of ", spec.shape.size()));
    out.push_back(std::move(spec));
  }
  return out;
}

absl::StatusOr<Manifest> ReadManifest(const fb::Manifest &m) {
  Manifest out;
  out.format_major = m.format_major();
  out.format_minor = m.format_minor();
  out.compiler_version = Str(m.compiler_version());
  out.target = Str(m.target());
  out.cpu = Str(m.cpu());
  out.cpu_features = Strings(m.cpu_features());
  absl::StatusOr<std::vector<TensorSpec>> inputs =
      ReadSpecs(m.inputs(), "input");
  if (!inputs.ok())
    return inputs.status();
  absl::StatusOr<std::vector<TensorSpec>> outputs =
      ReadSpecs(m.outputs(), "output");
  if (!outputs.ok())
    return outputs.status();
  out.inputs = std::move(*inputs);
  out.outputs = std::move(*outputs);
  if (m.model_sha256())
    out.model_sha256 = absl::BytesToHexString(absl::string_view(
        reinterpret_cast<const char *>(m.model_sha256()->data()),
        m.model_sha256()->size()));
  out.model_producer = Str(m.model_producer());
  out.model_file = Str(m.model_file());
  if (m.options())
    for (const fb::Option *o : *m.options())
      out.options.emplace_back(Str(o->key()), Str(o->value()));
  if (m.kernels())
    for (const fb::KernelInfo *k : *m.kernels())
      out.kernels.push_back({Str(k->name()), Strings(k->nodes())});
  if (m.sections())
    for (const fb::SectionDigest *d : *m.sections())
      out.section_sha256.emplace_back(
          d->kind(),
          d->sha256() ? absl::BytesToHexString(absl::string_view(
                            reinterpret_cast<const char *>(d->sha256()->data()),
                            d->sha256()->size()))
                      : std::string());
  if (m.buckets())
    for (const fb::Bucket *bucket : *m.buckets()) {
      Manifest::Bucket entry;
      entry.plan = bucket->plan();
      if (bucket->dims())
        for (const fb::DimSize *d : *bucket->dims())
          entry.dims.emplace_back(Str(d->name()), d->size());
      out.buckets.push_back(std::move(entry));
    }
  if (m.pad())
    for (const fb::PadRule *r : *m.pad())
      out.pad.push_back(
          {Str(r->dim()), r->value(), Str(r->mask_input()), r->mask_value()});
  return out;
}

/// The buckets and padding rules against the inputs and the plan count:
/// every bucket names a specialised plan (1 ..) no other bucket names, and
/// sizes for distinct dim_params of the inputs; every rule a dim_param and,
/// if any, an input and finite values.
absl::Status CheckBuckets(const Manifest &m, size_t numPlans) {
  std::set<std::string> params = DynamicDimNames(m.inputs), inputs;
  for (const TensorSpec &s : m.inputs)
    inputs.insert(s.name);
  std::set<uint32_t> plans;
  for (size_t i = 0; i < m.buckets.size(); ++i) {
    const Manifest::Bucket &b = m.buckets[i];
    if (b.plan == 0 || b.plan >= numPlans || !plans.insert(b.plan).second)
      return absl::InvalidArgumentError(absl::StrCat(
          "manifest: bucket ", i, " names plan ", b.plan, " (the file has ",
          numPlans, " plans; plan 0 is the generic one, each bucket has its "
                    "own)"));
    std::set<std::string> seen;
    for (const auto &[name, size] : b.dims)
      if (!params.count(name) || !seen.insert(name).second || size < 0 ||
          size > kMaxBucketDim)
        return absl::InvalidArgumentError(absl::StrCat(
            "manifest: bucket ", i, " sizes dim '", name, "' as ", size,
            ": not a dynamic dim of the inputs, given twice, or out of [0, ",
            kMaxBucketDim, "]"));
  }
  for (const PadRule &r : m.pad)
    if (!params.count(r.dim) ||
        (!r.mask_input.empty() && !inputs.count(r.mask_input)) ||
        !std::isfinite(r.value) || !std::isfinite(r.mask_value))
      return absl::InvalidArgumentError(absl::StrCat(
          "manifest: the padding rule for '", r.dim, "' (mask input '",
          r.mask_input, "') names a dim or input the model does not have, or "
                        "a value that is not finite"));
  return absl::OkStatus();
}

/// Plan `p` with its constants views of `weights`.
absl::StatusOr<Plan> ReadPlan(const fb::Plan &p, const Manifest &manifest,
                              const uint8_t *weights, uint64_t weightBytes,
                              size_t index) {
  std::string where = absl::StrCat("plan ", index);
  Plan plan;
  plan.input_specs = manifest.inputs;
  plan.output_specs = manifest.outputs;
  if (p.values())
    for (const fb::Value *v : *p.values()) {
      Plan::Value value;
      if (v->kind() > fb::ValueKind_MAX)
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": value ", plan.values.size(), " has an unknown kind"));
      value.kind = static_cast<Plan::Value::Kind>(v->kind());
      absl::StatusOr<DType> dtype = FromFb(
          v->dtype(), absl::StrCat(where, ": value ", plan.values.size()));
      if (!dtype.ok())
        return dtype.status();
      value.dtype = *dtype;
      value.index = v->index();
      value.shape = ToVector(v->shape());
      plan.values.push_back(std::move(value));
    }
  plan.inputs = ToVector(p.inputs());
  plan.outputs = ToVector(p.outputs());
  plan.kernels = Strings(p.kernels());
  if (p.constants())
    for (const fb::Constant *c : *p.constants()) {
      Plan::Constant constant;
      constant.value = c->value();
      constant.shape = ToVector(c->shape());
      uint64_t offset = c->offset(), size = c->size();
      if (offset % kConstantAlignment != 0 || offset > weightBytes ||
          size > weightBytes - offset)
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": constant ", plan.constants.size(), " at bytes [", offset,
            ", +", size, ") is not an aligned range of the weights section (",
            weightBytes, " bytes)"));
      constant.bytes = AlignedBytes::View(weights + offset, size);
      plan.constants.push_back(std::move(constant));
    }
  if (p.steps())
    for (const fb::Step *s : *p.steps()) {
      Plan::Step step;
      step.kernel = s->kernel();
      step.args = ToVector(s->args());
      step.results = ToVector(s->results());
      step.destinations = s->destinations();
      step.nodes = Str(s->nodes());
      plan.steps.push_back(std::move(step));
    }
  // A bucket's plan is compiled for some sizes of the dynamic dims: its
  // inputs and outputs are the manifest's with those dims fixed, as its
  // values say (Validate then holds the values to the rest of the specs).
  if (index > 0) {
    auto refine = [&](std::vector<TensorSpec> &specs,
                      const std::vector<int64_t> &ids) {
      for (size_t i = 0; i < specs.size() && i < ids.size(); ++i) {
        if (ids[i] < 0 || ids[i] >= static_cast<int64_t>(plan.values.size()))
          return; // Validate says what is wrong
        const std::vector<int64_t> &shape = plan.values[ids[i]].shape;
        if (shape.size() != specs[i].shape.size())
          return;
        for (size_t d = 0; d < shape.size(); ++d)
          if (specs[i].shape[d] < 0 && shape[d] >= 0)
            specs[i].shape[d] = shape[d];
      }
    };
    refine(plan.input_specs, plan.inputs);
    refine(plan.output_specs, plan.outputs);
  }
  if (absl::Status s = plan.Validate(); !s.ok())
    return absl::InvalidArgumentError(
        absl::StrCat(where, " is malformed: ", s.message()));
  // What follows from the plan is computed here, not read: no file can
  // place a buffer outside the arena.
  plan.ComputeReleases();
  plan.PlanMemory();
  return plan;
}

} // namespace

std::string SectionName(uint32_t kind) {
  switch (static_cast<SectionKind>(kind)) {
  case SectionKind::kManifest:
    return "manifest";
  case SectionKind::kPlans:
    return "plans";
  case SectionKind::kWeights:
    return "weights";
  case SectionKind::kCode:
    return "code";
  case SectionKind::kSignature:
    return "signature";
  }
  return absl::StrCat("section kind ", kind);
}

std::string SignatureMessage(absl::string_view manifestSha256) {
  return absl::StrCat("bathy artifact signature v1\n", manifestSha256);
}

std::string Sha256Hex(absl::string_view bytes) {
  return absl::BytesToHexString(
      Digest(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()));
}

absl::StatusOr<std::string> SerializeArtifact(const ArtifactContents &c) {
  if (c.code.size() != c.plans.size())
    return absl::InvalidArgumentError(
        absl::StrCat("an artifact of ", c.plans.size(), " plans needs as many "
                     "pieces of code, not ", c.code.size()));
  // Each plan's code at a 64-byte aligned offset of the code section.
  std::string code;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const std::string &piece : c.code) {
    code.resize(AlignUp(code.size(), kConstantAlignment));
    ranges.emplace_back(code.size(), piece.size());
    code += piece;
  }
  auto [plans, weights] = WritePlans(c.plans, ranges);
  struct Part {
    SectionKind kind;
    const std::string *bytes;
  };
  Manifest manifest = c.manifest;
  manifest.format_major = kArtifactFormatMajor;
  manifest.format_minor = kArtifactFormatMinor;
  manifest.section_sha256.clear();
  std::vector<Part> parts = {{SectionKind::kPlans, &plans},
                             {SectionKind::kWeights, &weights},
                             {SectionKind::kCode, &code}};
  for (const Part &p : parts)
    manifest.section_sha256.emplace_back(static_cast<uint32_t>(p.kind),
                                         Sha256Hex(*p.bytes));
  std::string manifestBytes = WriteManifest(manifest);
  parts.insert(parts.begin(), {SectionKind::kManifest, &manifestBytes});
  std::string signature;
  if (!c.sign_key_pem.empty()) {
    absl::StatusOr<std::string> sig =
        Sign(c.sign_key_pem,
             SignatureMessage(
                 Digest(reinterpret_cast<const uint8_t *>(manifestBytes.data()),
                        manifestBytes.size())));
    if (!sig.ok())
      return sig.status();
    signature = std::move(*sig);
    parts.push_back({SectionKind::kSignature, &signature});
  }

  size_t headerBytes = kFixedHeaderBytes + kSectionEntryBytes * parts.size();
  uint64_t at = AlignUp(headerBytes, kPage);
  std::vector<uint64_t> offsets;
  for (const Part &p : parts) {
    offsets.push_back(at);
    at = AlignUp(at + p.bytes->size(), kPage);
  }
  uint64_t fileBytes = offsets.back() + parts.back().bytes->size();
  std::string out(fileBytes, '\0');
  std::memcpy(out.data(), kMagic, sizeof(kMagic));
  Store<uint32_t>(out, 8, kArtifactFormatMajor);
  Store<uint32_t>(out, 12, kArtifactFormatMinor);
  Store<uint32_t>(out, 16, static_cast<uint32_t>(headerBytes));
  Store<uint32_t>(out, 20, static_cast<uint32_t>(parts.size()));
  std::string manifestSha =
      Digest(reinterpret_cast<const uint8_t *>(manifestBytes.data()),
             manifestBytes.size());
  if (manifestSha.size() != 32)
    return absl::InternalError("SHA-256 is not available (libcrypto)");
  std::memcpy(out.data() + 24, manifestSha.data(), 32);
  Store<uint64_t>(out, 56, fileBytes);
  for (size_t i = 0; i < parts.size(); ++i) {
    size_t e = kFixedHeaderBytes + kSectionEntryBytes * i;
    Store<uint32_t>(out, e, static_cast<uint32_t>(parts[i].kind));
    Store<uint32_t>(out, e + 4,
                    parts[i].kind == SectionKind::kSignature ? kSectionOptional
                                                             : 0);
    Store<uint64_t>(out, e + 8, offsets[i]);
    Store<uint64_t>(out, e + 16, parts[i].bytes->size());
    std::memcpy(out.data() + offsets[i], parts[i].bytes->data(),
                parts[i].bytes->size());
  }
  return out;
}

Artifact::~Artifact() {
  if (data_)
    munmap(const_cast<uint8_t *>(data_), size_);
}

absl::StatusOr<std::unique_ptr<Artifact>>
Artifact::Open(const std::string &path, const std::string &trusted_key_pem) {
  absl::StatusOr<File> file = OpenRegularFile(path);
  if (!file.ok())
    return file.status();
  absl::StatusOr<uint64_t> size = file->Size();
  if (!size.ok())
    return size.status();
  return Map(*file, *size, path, /*checksums=*/true, trusted_key_pem);
}

absl::StatusOr<std::unique_ptr<Artifact>>
Artifact::OpenBeneath(const std::string &directory, const std::string &relative,
                      const std::string &trusted_key_pem) {
  absl::StatusOr<File> file = OpenFileBeneath(directory, relative);
  if (!file.ok())
    return file.status();
  absl::StatusOr<uint64_t> size = file->Size();
  if (!size.ok())
    return size.status();
  return Map(*file, *size, absl::StrCat(directory, "/", relative),
             /*checksums=*/true, trusted_key_pem);
}

absl::StatusOr<std::unique_ptr<Artifact>>
Artifact::FromBytes(absl::string_view bytes, const std::string &name,
                    const std::string &trusted_key_pem) {
  return FromMemory(bytes, name, /*checksums=*/true, trusted_key_pem);
}

absl::StatusOr<std::unique_ptr<Artifact>>
Artifact::FromBytesIgnoringChecksums(absl::string_view bytes,
                                     const std::string &name) {
  return FromMemory(bytes, name, /*checksums=*/false, "");
}

absl::StatusOr<std::unique_ptr<Artifact>>
Artifact::FromMemory(absl::string_view bytes, const std::string &name,
                     bool checksums, const std::string &trusted_key_pem) {
  // An anonymous file, so the bytes are mapped (and aligned) as a file's.
  absl::StatusOr<File> file = MemoryFile(bytes, "bathy-artifact");
  if (!file.ok())
    return Refuse(name, file.status().message());
  return Map(*file, bytes.size(), name, checksums, trusted_key_pem);
}

absl::StatusOr<std::unique_ptr<Artifact>>
Artifact::Map(const File &file, uint64_t size, const std::string &name,
              bool checksums, const std::string &trusted_key_pem) {
  if (size < kFixedHeaderBytes)
    return Refuse(name, absl::StrCat("is ", size,
                                     " bytes, too short for a bathy "
                                     "artifact's header"));
  if (size > static_cast<uint64_t>(std::numeric_limits<size_t>::max() / 2))
    return Refuse(name, "is too large to map");
  void *p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, file.fd(), 0);
  if (p == MAP_FAILED)
    return Refuse(name, absl::StrCat("cannot be mapped: ", strerror(errno)));
  std::unique_ptr<Artifact> a(new Artifact());
  a->data_ = static_cast<const uint8_t *>(p);
  a->size_ = size;
  if (absl::Status s = a->Verify(name, checksums, trusted_key_pem); !s.ok())
    return s;
  return a;
}

absl::Status Artifact::Verify(const std::string &name, bool checksums,
                              const std::string &trusted_key_pem) {
  const uint8_t *d = data_;
  if (std::memcmp(d, kMagic, sizeof(kMagic)) != 0)
    return Refuse(name, "is not a bathy artifact (bad magic bytes)");
  uint32_t major = Load<uint32_t>(d + 8), minor = Load<uint32_t>(d + 12);
  if (major != kArtifactFormatMajor)
    return Refuse(name, absl::StrCat("has format version ", major, ".", minor,
                                     "; this runtime reads version ",
                                     kArtifactFormatMajor, ".x"));
  uint32_t headerBytes = Load<uint32_t>(d + 16);
  uint32_t count = Load<uint32_t>(d + 20);
  if (count == 0 || count > kMaxSections ||
      headerBytes != kFixedHeaderBytes + kSectionEntryBytes * count ||
      headerBytes > size_)
    return Refuse(name, absl::StrCat("header: a section table of ", count,
                                     " entries in ", headerBytes,
                                     " bytes does not fit the file"));
  if (Load<uint64_t>(d + 56) != size_)
    return Refuse(
        name, absl::StrCat("is ", size_, " bytes, but its header says ",
                           Load<uint64_t>(d + 56), " (truncated or extended)"));
  sections_.clear();
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t *e = d + kFixedHeaderBytes + kSectionEntryBytes * i;
    Section s{Load<uint32_t>(e), Load<uint32_t>(e + 4), Load<uint64_t>(e + 8),
              Load<uint64_t>(e + 16)};
    std::string what = SectionName(s.kind);
    if (s.offset % kPage != 0 || s.offset < headerBytes || s.offset > size_ ||
        s.size > size_ - s.offset)
      return Refuse(name, absl::StrCat("the ", what, " section at [", s.offset,
                                       ", +", s.size,
                                       ") is not a page-aligned range of the "
                                       "file"));
    for (const Section &o : sections_) {
      if (o.kind == s.kind)
        return Refuse(name, absl::StrCat("has two ", what, " sections"));
      if (s.offset < o.offset + o.size && o.offset < s.offset + s.size)
        return Refuse(name,
                      absl::StrCat("the ", what, " and ", SectionName(o.kind),
                                   " sections overlap"));
    }
    bool known = KnownKind(s.kind);
    if (!known && !(s.flags & kSectionOptional))
      return Refuse(name, absl::StrCat("has a required ", what,
                                       ", which this runtime does not know"));
    sections_.push_back(s);
  }
  auto find = [&](SectionKind kind) -> const Section * {
    for (const Section &s : sections_)
      if (s.kind == static_cast<uint32_t>(kind))
        return &s;
    return nullptr;
  };
  for (SectionKind kind : {SectionKind::kManifest, SectionKind::kPlans,
                           SectionKind::kWeights, SectionKind::kCode})
    if (!find(kind))
      return Refuse(name, absl::StrCat("has no ",
                                       SectionName(static_cast<uint32_t>(kind)),
                                       " section"));

  // The manifest: its checksum (in the header), then its schema.
  const Section &m = *find(SectionKind::kManifest);
  if (checksums && Digest(d + m.offset, m.size) !=
                       std::string(reinterpret_cast<const char *>(d + 24), 32))
    return Refuse(name, "the manifest section does not match its checksum "
                        "(the file is corrupted)");
  // The signature, over the manifest's checksum (and so every section's).
  signed_artifact_ = false;
  for (const Section &s : sections_)
    if (s.kind == static_cast<uint32_t>(SectionKind::kSignature)) {
      if (s.size != 64)
        return Refuse(name, absl::StrCat("the signature section holds ", s.size,
                                         " bytes, not an Ed25519 "
                                         "signature's 64"));
      signed_artifact_ = true;
      if (trusted_key_pem.empty())
        continue;
      absl::StatusOr<bool> ok = VerifySignature(
          trusted_key_pem,
          SignatureMessage(
              absl::string_view(reinterpret_cast<const char *>(d + 24), 32)),
          absl::string_view(reinterpret_cast<const char *>(d + s.offset), 64));
      if (!ok.ok())
        return Refuse(name, ok.status().message());
      if (!*ok)
        return Refuse(name, "the signature section does not verify with the "
                            "trusted key (signed by another key, or "
                            "changed since)");
    }
  if (!trusted_key_pem.empty() && !signed_artifact_)
    return Refuse(name, "is not signed, and a trusted key was given (compile "
                        "it with bathyc --sign-key)");
  flatbuffers::Verifier mv(d + m.offset, m.size);
  if (!mv.VerifyBuffer<fb::Manifest>(nullptr))
    return Refuse(name, "the manifest section is not a valid manifest");
  absl::StatusOr<Manifest> manifest =
      ReadManifest(*flatbuffers::GetRoot<fb::Manifest>(d + m.offset));
  if (!manifest.ok())
    return Refuse(name,
                  absl::StrCat("manifest: ", manifest.status().message()));
  manifest_ = std::move(*manifest);

  // Every other known section against the manifest's checksum.
  for (const Section &s : sections_) {
    if (!checksums || s.kind == static_cast<uint32_t>(SectionKind::kManifest) ||
        s.kind == static_cast<uint32_t>(SectionKind::kSignature) ||
        !KnownKind(s.kind))
      continue;
    auto it = std::find_if(manifest_.section_sha256.begin(),
                           manifest_.section_sha256.end(),
                           [&](const auto &e) { return e.first == s.kind; });
    if (it == manifest_.section_sha256.end())
      return Refuse(name, absl::StrCat("the manifest has no checksum of the ",
                                       SectionName(s.kind), " section"));
    if (absl::BytesToHexString(DigestMapped(d + s.offset, s.size)) !=
        it->second)
      return Refuse(name, absl::StrCat("the ", SectionName(s.kind),
                                       " section does not match its checksum "
                                       "(the file is corrupted)"));
  }

  // The plans: schema, then each plan's own checks.
  const Section &p = *find(SectionKind::kPlans);
  flatbuffers::Verifier pv(d + p.offset, p.size);
  if (!pv.VerifyBuffer<fb::Plans>(nullptr))
    return Refuse(name, "the plans section is not a valid list of plans");
  const fb::Plans *plans = flatbuffers::GetRoot<fb::Plans>(d + p.offset);
  if (!plans->plans() || plans->plans()->size() == 0)
    return Refuse(name, "the plans section holds no plan");
  const Section &w = *find(SectionKind::kWeights);
  const Section &c = *find(SectionKind::kCode);
  plans_.clear();
  code_ranges_.clear();
  for (size_t i = 0; i < plans->plans()->size(); ++i) {
    const fb::Plan &fp = *plans->plans()->Get(i);
    absl::StatusOr<Plan> plan = ReadPlan(fp, manifest_, d + w.offset, w.size, i);
    if (!plan.ok())
      return Refuse(name, plan.status().message());
    plans_.push_back(std::move(*plan));
    // A 1.0 file's one plan has no range: its code is the whole section.
    uint64_t at = fp.code_offset(), size = fp.code_size();
    if (at == 0 && size == 0)
      size = c.size;
    if (at > c.size || size > c.size - at)
      return Refuse(name, absl::StrCat("plan ", i, ": its code at [", at, ", +",
                                       size, ") is not a range of the code "
                                       "section (",
                                       c.size, " bytes)"));
    code_ranges_.emplace_back(c.offset + at, size);
  }
  if (absl::Status s = CheckBuckets(manifest_, plans_.size()); !s.ok())
    return Refuse(name, s.message());
  // A bucket's plan takes exactly the sizes the bucket names.
  for (const Manifest::Bucket &b : manifest_.buckets)
    for (const auto &[param, size] : b.dims)
      for (const TensorSpec &spec : plans_[b.plan].input_specs)
        for (size_t d = 0; d < spec.dim_params.size(); ++d)
          if (spec.dim_params[d] == param && spec.shape[d] != size)
            return Refuse(name, absl::StrCat("plan ", b.plan, " takes input '",
                                             spec.name, "' with ", param, " = ",
                                             spec.shape[d], ", but its bucket "
                                             "says ",
                                             size));
  return absl::OkStatus();
}

absl::string_view Artifact::code(size_t i) const {
  if (i >= code_ranges_.size())
    return {};
  return absl::string_view(
      reinterpret_cast<const char *>(data_ + code_ranges_[i].first),
      code_ranges_[i].second);
}

void Artifact::ReleaseWeightPages() const {
  for (const Section &s : sections_)
    if (s.kind == static_cast<uint32_t>(SectionKind::kWeights)) {
      // madvise wants a page-aligned start; sections start on pages.
      madvise(const_cast<uint8_t *>(data_) + s.offset, s.size, MADV_DONTNEED);
    }
}

Plan Artifact::plan(size_t i) const {
  const Plan &p = plans_[i];
  Plan out;
  out.values = p.values;
  out.input_specs = p.input_specs;
  out.output_specs = p.output_specs;
  out.inputs = p.inputs;
  for (const Plan::Constant &c : p.constants) {
    Plan::Constant k;
    k.value = c.value;
    k.shape = c.shape;
    k.bytes = AlignedBytes::View(c.bytes.data.get(), c.bytes.size);
    out.constants.push_back(std::move(k));
  }
  out.kernels = p.kernels;
  out.steps = p.steps;
  out.outputs = p.outputs;
  out.arena_bytes = p.arena_bytes;
  return out;
}

} // namespace bathy::rt
