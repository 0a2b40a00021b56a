//===- describe.cc - An artifact's manifest, for people and for programs -===//
#include "runtime/artifact/describe.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace bathy::rt {

namespace {

std::string Quote(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\')
      absl::StrAppend(&out, "\\", std::string(1, static_cast<char>(c)));
    else if (c < 0x20)
      absl::StrAppend(&out, "\\u00", absl::Hex(c, absl::kZeroPad2));
    else
      out.push_back(static_cast<char>(c));
  }
  return out + "\"";
}

std::string Strings(const std::vector<std::string> &v) {
  std::vector<std::string> q;
  for (const std::string &s : v)
    q.push_back(Quote(s));
  return absl::StrCat("[", absl::StrJoin(q, ", "), "]");
}

std::string SpecJson(const TensorSpec &s) {
  return absl::StrCat("{\"name\": ", Quote(s.name),
                      ", \"dtype\": ", Quote(std::string(DTypeName(s.dtype))),
                      ", \"shape\": [", absl::StrJoin(s.shape, ", "),
                      "], \"dim_params\": ", Strings(s.dim_params), "}");
}

uint64_t WeightBytes(const Plan &p) {
  uint64_t n = 0;
  for (const Plan::Constant &c : p.constants)
    n += c.bytes.size;
  return n;
}

/// "batch=1 seq=128".
std::string DimsText(const std::vector<std::pair<std::string, int64_t>> &dims) {
  std::vector<std::string> parts;
  for (const auto &[name, size] : dims)
    parts.push_back(absl::StrCat(name, "=", size));
  return absl::StrJoin(parts, " ");
}

std::string PadText(const PadRule &r) {
  return absl::StrCat(r.dim, " (value ", r.value,
                      r.mask_input.empty()
                          ? std::string()
                          : absl::StrCat(", mask input ", r.mask_input,
                                         " padded with ", r.mask_value),
                      ")");
}

} // namespace

std::string DescribeArtifact(const Artifact &a, bool json) {
  const Manifest &m = a.manifest();
  std::vector<Plan> plans;
  for (size_t i = 0; i < a.num_plans(); ++i)
    plans.push_back(a.plan(i));
  auto digestOf = [&](uint32_t kind) {
    for (const auto &[k, hex] : m.section_sha256)
      if (k == kind)
        return hex;
    return std::string();
  };
  if (json) {
    std::vector<std::string> ins, outs, opts, secs, ps, ks, bs, pads;
    for (const Manifest::Bucket &b : m.buckets) {
      std::vector<std::string> dims;
      for (const auto &[name, size] : b.dims)
        dims.push_back(absl::StrCat(Quote(name), ": ", size));
      bs.push_back(absl::StrCat("{\"plan\": ", b.plan, ", \"dims\": {",
                                absl::StrJoin(dims, ", "), "}}"));
    }
    for (const PadRule &r : m.pad)
      pads.push_back(absl::StrCat("{\"dim\": ", Quote(r.dim),
                                  ", \"value\": ", r.value,
                                  ", \"mask_input\": ", Quote(r.mask_input),
                                  ", \"mask_value\": ", r.mask_value, "}"));
    for (const TensorSpec &s : m.inputs)
      ins.push_back(SpecJson(s));
    for (const TensorSpec &s : m.outputs)
      outs.push_back(SpecJson(s));
    for (const auto &[k, v] : m.options)
      opts.push_back(absl::StrCat("[", Quote(k), ", ", Quote(v), "]"));
    for (const Artifact::Section &s : a.sections())
      secs.push_back(
          absl::StrCat("{\"name\": ", Quote(SectionName(s.kind)),
                       ", \"offset\": ", s.offset, ", \"bytes\": ", s.size,
                       ", \"sha256\": ", Quote(digestOf(s.kind)), "}"));
    for (const Plan &p : plans)
      ps.push_back(absl::StrCat("{\"kernels\": ", p.kernels.size(),
                                ", \"steps\": ", p.steps.size(),
                                ", \"constants\": ", p.constants.size(),
                                ", \"weight_bytes\": ", WeightBytes(p),
                                ", \"arena_bytes\": ", p.arena_bytes, "}"));
    for (const Manifest::Kernel &k : m.kernels)
      ks.push_back(absl::StrCat("{\"name\": ", Quote(k.name),
                                ", \"nodes\": ", Strings(k.nodes), "}"));
    return absl::StrCat(
        "{\"format\": \"", m.format_major, ".", m.format_minor,
        "\", \"compiler\": ", Quote(m.compiler_version),
        ", \"target\": ", Quote(m.target), ", \"cpu\": ", Quote(m.cpu),
        ", \"cpu_features\": ", Strings(m.cpu_features),
        ", \"signed\": ", a.is_signed() ? "true" : "false",
        ", \"model\": {\"file\": ", Quote(m.model_file),
        ", \"sha256\": ", Quote(m.model_sha256),
        ", \"producer\": ", Quote(m.model_producer), "}, \"inputs\": [",
        absl::StrJoin(ins, ", "), "], \"outputs\": [",
        absl::StrJoin(outs, ", "), "], \"options\": [",
        absl::StrJoin(opts, ", "), "], \"file_bytes\": ", a.file_bytes(),
        ", \"sections\": [", absl::StrJoin(secs, ", "), "], \"plans\": [",
        absl::StrJoin(ps, ", "), "], \"buckets\": [", absl::StrJoin(bs, ", "),
        "], \"pad\": [", absl::StrJoin(pads, ", "), "], \"kernels\": [",
        absl::StrJoin(ks, ", "), "]}\n");
  }
  std::string out = absl::StrCat(
      "format      ", m.format_major, ".", m.format_minor, "\n", "compiler    ",
      m.compiler_version, "\n", "target      ", m.target, " (", m.cpu, ": ",
      absl::StrJoin(m.cpu_features, " "), ")\n", "signed      ",
      a.is_signed() ? "yes (Ed25519)" : "no", "\n", "model       ",
      m.model_file, " (sha256 ", m.model_sha256, ")",
      m.model_producer.empty() ? "" : ", made by " + m.model_producer, "\n");
  for (const TensorSpec &s : m.inputs)
    absl::StrAppend(&out, "input       ", s.name, ": ", SpecToString(s), "\n");
  for (const TensorSpec &s : m.outputs)
    absl::StrAppend(&out, "output      ", s.name, ": ", SpecToString(s), "\n");
  std::vector<std::string> opts;
  for (const auto &[k, v] : m.options)
    opts.push_back(absl::StrCat(k, "=", v));
  absl::StrAppend(&out, "options     ", absl::StrJoin(opts, " "), "\n",
                  "file        ", a.file_bytes(), " bytes\n");
  for (const Artifact::Section &s : a.sections())
    absl::StrAppend(
        &out, "section     ", SectionName(s.kind), ": ", s.size, " bytes at ",
        s.offset,
        digestOf(s.kind).empty() ? "" : ", sha256 " + digestOf(s.kind), "\n");
  for (size_t i = 0; i < plans.size(); ++i) {
    std::string what = i == 0 ? "generic" : "bucket";
    for (const Manifest::Bucket &b : m.buckets)
      if (b.plan == i)
        what = "bucket " + DimsText(b.dims);
    absl::StrAppend(&out, "plan        ", i, " (", what,
                    "): ", plans[i].kernels.size(), " kernels, ",
                    plans[i].steps.size(), " launches, ",
                    plans[i].constants.size(), " constants (",
                    WeightBytes(plans[i]), " bytes), arena ",
                    plans[i].arena_bytes, " bytes, code ", a.code(i).size(),
                    " bytes\n");
  }
  for (const PadRule &r : m.pad)
    absl::StrAppend(&out, "pad         ", PadText(r), "\n");
  for (const Manifest::Kernel &k : m.kernels)
    absl::StrAppend(&out, "kernel      ", k.name, ": ",
                    absl::StrJoin(k.nodes, ", "), "\n");
  return out;
}

} // namespace bathy::rt
