//===- artifact.h - The .bathy file: written once, verified when loaded ---===//
//
// A compiled model in one file (docs/artifact.md): a fixed header (magic,
// format version, the manifest's SHA-256, a section table), then sections
// at page-aligned offsets: the manifest and the plans (FlatBuffers, schema
// in artifact.fbs), the weights (each constant 64-byte aligned), and the
// code (for the CPU, one position-independent shared object). The manifest
// carries the SHA-256 of every other section.
//
// Loading maps the file read-only and verifies all of it before anything
// uses it: header, section table, checksums, the FlatBuffers verifier on
// the manifest and plans, each plan's own checks (Plan::Validate), and that
// every constant lies inside the weights section. Constants are then views
// of the mapping: nothing is copied, and pages are read when touched.
// Every refusal names the section (or field) at fault.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_ARTIFACT_ARTIFACT_H
#define BATHY_RUNTIME_ARTIFACT_ARTIFACT_H

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/file.h"
#include "runtime/plan.h"

namespace bathy::rt {

/// The format's version: a reader refuses another major version; a newer
/// minor version only adds fields (FlatBuffers skips what it does not
/// know) or optional sections.
inline constexpr uint32_t kArtifactFormatMajor = 1;
inline constexpr uint32_t kArtifactFormatMinor = 1;

/// What each section holds. Numbers are part of the format.
enum class SectionKind : uint32_t {
  kManifest = 1,
  kPlans = 2,
  kWeights = 3,
  kCode = 4,
  /// Optional: an Ed25519 signature (SignatureMessage) by the compiling
  /// party's key.
  kSignature = 5,
};

/// What a signature signs: a fixed prefix, then the manifest's SHA-256
/// (which covers every other section through their digests).
std::string SignatureMessage(absl::string_view manifestSha256);

/// "manifest", "plans", "weights", "code" (or "section kind N").
std::string SectionName(uint32_t kind);

/// The model's contract for padding along one dynamic dim: a request may
/// run on a plan for a larger size of `dim` when its inputs are padded
/// along it with `value` (the input named `mask_input`, if any, with
/// `mask_value`: the positions to ignore) and its outputs along it cut back.
/// Only the model's author knows this holds (an attention mask, a causal
/// model padded at the end); bathy takes it as given.
struct PadRule {
  std::string dim;
  double value = 0;
  std::string mask_input;
  double mask_value = 0;
};

/// What an artifact says about itself: the manifest as C++ values.
struct Manifest {
  uint32_t format_major = kArtifactFormatMajor;
  uint32_t format_minor = kArtifactFormatMinor;
  std::string compiler_version;
  /// "cpu".
  std::string target;
  /// What the code was compiled for ("x86-64-v3", "znver3", ...) and the
  /// CPU features it needs (LLVM's names: "avx2", "fma", ...).
  std::string cpu;
  std::vector<std::string> cpu_features;
  std::vector<TensorSpec> inputs, outputs;
  /// The ONNX model's SHA-256 (hex), producer ("pytorch 2.5") and file name.
  std::string model_sha256;
  std::string model_producer;
  std::string model_file;
  /// The compile options that shaped the code, as flag and value.
  std::vector<std::pair<std::string, std::string>> options;
  struct Kernel {
    std::string name;
    std::vector<std::string> nodes;
  };
  /// Every kernel of the code section and the ONNX nodes it computes.
  std::vector<Kernel> kernels;
  /// SHA-256 (hex) of each section other than the manifest; written by
  /// SerializeArtifact.
  std::vector<std::pair<uint32_t, std::string>> section_sha256;
  /// Plans specialised for given sizes of dynamic dims (bathyc --buckets),
  /// by their plan index (1, 2, ...; plan 0 is the generic plan). Dims are
  /// dim_params of the inputs, in the order the bucket lists them.
  struct Bucket {
    uint32_t plan = 0;
    std::vector<std::pair<std::string, int64_t>> dims;
  };
  std::vector<Bucket> buckets;
  /// Dims along which a request may be padded up to a bucket (bathyc --pad).
  std::vector<PadRule> pad;
};

/// What bathyc puts in an artifact. The plans' constants go to the weights
/// section (identical constants once); `code` holds each plan's code, in
/// the plans' order (for the CPU, a shared object per plan).
struct ArtifactContents {
  Manifest manifest;
  std::vector<const Plan *> plans;
  std::vector<std::string> code;
  /// A PEM Ed25519 private key to sign with (empty: unsigned).
  std::string sign_key_pem;
};

/// The artifact's bytes. Deterministic: the same contents give the same
/// bytes.
absl::StatusOr<std::string> SerializeArtifact(const ArtifactContents &contents);

/// The hex SHA-256 of `bytes` (OpenSSL's libcrypto).
std::string Sha256Hex(absl::string_view bytes);

/// A verified artifact, mapped read-only.
class Artifact {
public:
  /// Opens `path` (a regular file), maps it and verifies all of it. With
  /// `trusted_key_pem` (a PEM Ed25519 public key), an artifact that is
  /// unsigned, or whose signature that key does not verify, is refused.
  static absl::StatusOr<std::unique_ptr<Artifact>>
  Open(const std::string &path, const std::string &trusted_key_pem = "");
  /// Opens `relative` inside `directory` (OpenFileBeneath: no `..`,
  /// absolute path or symlink may lead out of it), then as Open.
  static absl::StatusOr<std::unique_ptr<Artifact>>
  OpenBeneath(const std::string &directory, const std::string &relative,
              const std::string &trusted_key_pem = "");
  /// The same for bytes in memory (held in an anonymous memory file, so
  /// they are mapped like a file's). `name` is for messages.
  static absl::StatusOr<std::unique_ptr<Artifact>>
  FromBytes(absl::string_view bytes, const std::string &name,
            const std::string &trusted_key_pem = "");
  /// FromBytes without comparing checksums, so that a fuzzer's mutations
  /// reach the checks behind them (schema, plans, ranges). Never for
  /// loading a model.
  static absl::StatusOr<std::unique_ptr<Artifact>>
  FromBytesIgnoringChecksums(absl::string_view bytes, const std::string &name);
  ~Artifact();

  const Manifest &manifest() const { return manifest_; }
  /// Whether the file carries a signature (verified only when a trusted
  /// key was given).
  bool is_signed() const { return signed_artifact_; }
  size_t num_plans() const { return plans_.size(); }
  /// A copy of plan `i` for an executor: its specs from the manifest, its
  /// constants views of the mapped weights (valid while this artifact
  /// lives).
  Plan plan(size_t i) const;
  /// The code of plan `i` (its part of the code section).
  absl::string_view code(size_t i = 0) const;
  /// Tells the kernel the weights' pages may be dropped (they are read
  /// again from the file when touched): after their bytes were compared
  /// or hashed, so they do not stay counted in the process's memory.
  void ReleaseWeightPages() const;
  /// Bytes of the file and of each section, for bathy-meta.
  uint64_t file_bytes() const { return size_; }
  struct Section {
    uint32_t kind = 0, flags = 0;
    uint64_t offset = 0, size = 0;
  };
  const std::vector<Section> &sections() const { return sections_; }

private:
  Artifact() = default;
  absl::Status Verify(const std::string &name, bool checksums,
                      const std::string &trusted_key_pem);
  /// Maps `size` bytes of `file` and verifies them.
  static absl::StatusOr<std::unique_ptr<Artifact>>
  Map(const File &file, uint64_t size, const std::string &name, bool checksums,
      const std::string &trusted_key_pem);
  static absl::StatusOr<std::unique_ptr<Artifact>>
  FromMemory(absl::string_view bytes, const std::string &name, bool checksums,
             const std::string &trusted_key_pem);
  bool signed_artifact_ = false;
  const uint8_t *data_ = nullptr;
  uint64_t size_ = 0;
  std::vector<Section> sections_;
  Manifest manifest_;
  std::vector<Plan> plans_;
  /// Each plan's [offset, size) in the code section.
  std::vector<std::pair<uint64_t, uint64_t>> code_ranges_;
};

} // namespace bathy::rt

#endif // BATHY_RUNTIME_ARTIFACT_ARTIFACT_H
