//===- run.cc - Running a loaded model from the command line --------------===//
#include "runtime/tools/run.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_format.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "runtime/memory.h"
#include "runtime/npy.h"

namespace bathy::rt::tool {

namespace {

/// Fills a tensor with seeded random values suited to its type: floats in
/// [-1, 1), integers in [0, 10), booleans.
void RandomFill(HostTensor &t, std::mt19937 &rng) {
  std::uniform_real_distribution<float> real(-1.0f, 1.0f);
  std::uniform_int_distribution<int> small(0, 9);
  int64_t n = t.num_elements();
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype()) {
    case DType::kF32:
      t.data_as<float>()[i] = real(rng);
      break;
    case DType::kF64:
      t.data_as<double>()[i] = real(rng);
      break;
    case DType::kF16:
      t.data_as<uint16_t>()[i] = FloatToHalf(real(rng));
      break;
    case DType::kBF16:
      t.data_as<uint16_t>()[i] = FloatToBFloat16(real(rng));
      break;
    case DType::kI64:
    case DType::kU64:
      t.data_as<int64_t>()[i] = small(rng);
      break;
    case DType::kI32:
    case DType::kU32:
      t.data_as<int32_t>()[i] = small(rng);
      break;
    case DType::kI16:
    case DType::kU16:
      t.data_as<int16_t>()[i] = static_cast<int16_t>(small(rng));
      break;
    case DType::kBool:
      t.data_as<uint8_t>()[i] = small(rng) % 2;
      break;
    case DType::kI8:
    case DType::kU8:
      t.data_as<uint8_t>()[i] = static_cast<uint8_t>(small(rng));
      break;
    }
  }
}

/// File names for outputs: characters outside [A-Za-z0-9._-] become '_';
/// names that collide (a/b and a_b) get _1, _2, ... in output order.
std::vector<std::string> FileNamesFor(const std::vector<TensorSpec> &specs) {
  std::set<std::string> used;
  std::vector<std::string> names;
  for (size_t i = 0; i < specs.size(); ++i) {
    std::string base = specs[i].name;
    for (char &c : base)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' &&
          c != '_' && c != '.')
        c = '_';
    if (base.empty() || base == "." || base == "..")
      base = "output" + std::to_string(i);
    std::string name = base + ".npy";
    for (int k = 1; used.count(name); ++k)
      name = base + "_" + std::to_string(k) + ".npy";
    used.insert(name);
    names.push_back(name);
  }
  return names;
}

std::string ListInputs(const std::vector<TensorSpec> &specs) {
  std::string out;
  for (const TensorSpec &s : specs)
    out += "\n  " + s.name + ": " + SpecToString(s);
  return out.empty() ? " (none)" : out;
}

bool ParseInt(const std::string &text, int64_t &v) {
  const char *end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v, 10);
  return ec == std::errc() && p == end && !text.empty();
}

bool ParseShape(const std::string &text, std::vector<int64_t> &shape) {
  shape.clear();
  if (text.empty() || text == "scalar")
    return true; // rank 0
  size_t start = 0;
  while (true) {
    size_t x = text.find('x', start);
    int64_t v;
    if (!ParseInt(text.substr(start, x - start), v) || v < 0)
      return false;
    shape.push_back(v);
    if (x == std::string::npos)
      return true;
    start = x + 1;
  }
}

/// Runs `model` `runs` times on `inputs`; the time of each run in ms.
absl::StatusOr<std::vector<double>>
TimeRuns(Session &model, const std::vector<HostTensor> &inputs,
         unsigned runs) {
  std::vector<double> ms;
  for (unsigned i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::vector<HostTensor>> r = model.Run(inputs);
    if (!r.ok())
      return r.status();
    ms.push_back(std::chrono::duration<double, std::milli>(
                     std::chrono::steady_clock::now() - start)
                     .count());
  }
  return ms;
}

/// --bench-stdin: one line per command ("run N" prints the N times,
/// "quit"), so bench/ can alternate between systems that each keep their
/// own process (and peak memory).
int ServeBenchStdin(Session &model,
                    const std::vector<HostTensor> &inputs,
                    double compileSeconds) {
  std::cout << absl::StrFormat("ready %.6f\n", compileSeconds) << std::flush;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line == "quit")
      break;
    int64_t runs = 0;
    if (line.rfind("run ", 0) != 0 || !ParseInt(line.substr(4), runs) ||
        runs < 0 || runs > 1000000)
      return Fail("--bench-stdin expects 'run N' or 'quit', got '" + line +
                  "'");
    absl::StatusOr<std::vector<double>> ms =
        TimeRuns(model, inputs, static_cast<unsigned>(runs));
    if (!ms.ok())
      return Fail(std::string(ms.status().message()));
    std::cout << "times";
    for (double t : *ms)
      std::cout << absl::StrFormat(" %.6f", t);
    std::cout << "\n" << std::flush;
  }
  return 0;
}

} // namespace

int Fail(const std::string &message) {
  std::cout << std::flush;
  std::cerr << "error: " << message << "\n";
  return 1;
}

std::optional<std::string> ParseInputFlags(const RunFlags &flags,
                                           InputFlags &parsed) {
  for (const std::string &arg : flags.dims) {
    size_t eq = arg.find('=');
    int64_t value = -1;
    if (eq == std::string::npos || eq == 0 ||
        !ParseInt(arg.substr(eq + 1), value) || value < 0)
      return "--dim expects NAME=VALUE with VALUE >= 0, got '" + arg + "'";
    if (!parsed.dims.emplace(arg.substr(0, eq), value).second)
      return "--dim " + arg.substr(0, eq) + " is given twice";
  }
  for (const std::string &arg : flags.shapes) {
    size_t eq = arg.find('=');
    std::vector<int64_t> shape;
    if (eq == std::string::npos || eq == 0 ||
        !ParseShape(arg.substr(eq + 1), shape))
      return "--shape expects NAME=D0xD1x... with sizes >= 0, got '" + arg +
             "'";
    if (!parsed.shapes.emplace(arg.substr(0, eq), shape).second)
      return "--shape " + arg.substr(0, eq) + " is given twice";
  }
  for (const std::string &arg : flags.inputs) {
    size_t eq = arg.find('=');
    if (eq == std::string::npos || eq == 0)
      return "--input expects NAME=path.npy, got '" + arg + "'";
    std::string name = arg.substr(0, eq);
    if (parsed.files.count(name))
      return "--input " + name + " is given twice";
    if (parsed.shapes.count(name))
      return "input '" + name +
             "' has both --input and --shape; its file fixes its shape";
    absl::StatusOr<HostTensor> t = ReadNpy(arg.substr(eq + 1));
    if (!t.ok())
      return "--input " + name + ": " + std::string(t.status().message());
    parsed.files.emplace(name, std::move(*t));
  }
  for (const std::string *dir : {&flags.output_dir, &flags.save_inputs}) {
    if (dir->empty())
      continue;
    std::error_code ec;
    std::filesystem::create_directories(*dir, ec);
    if (ec || !std::filesystem::is_directory(*dir))
      return "cannot create the folder '" + *dir +
             "': " + (ec ? ec.message() : "not a directory");
  }
  return std::nullopt;
}

std::optional<std::string>
InputShapes(const std::vector<TensorSpec> &specs, const InputFlags &flags,
            std::vector<std::vector<int64_t>> &shapes) {
  // Every name the user gave must be one the model has.
  auto has = [&](const std::string &name) {
    return std::any_of(specs.begin(), specs.end(),
                       [&](const TensorSpec &s) { return s.name == name; });
  };
  for (const auto &[name, tensor] : flags.files)
    if (!has(name))
      return "--input: the model has no input named '" + name +
             "'; its inputs are:" + ListInputs(specs);
  for (const auto &[name, shape] : flags.shapes)
    if (!has(name))
      return "--shape: the model has no input named '" + name +
             "'; its inputs are:" + ListInputs(specs);
  std::set<std::string> params = DynamicDimNames(specs);
  for (const auto &[name, value] : flags.dims)
    if (!params.count(name)) {
      std::string valid;
      for (const std::string &p : params)
        valid += (valid.empty() ? "" : ", ") + p;
      return "--dim: the model has no dynamic dim named '" + name + "'; " +
             (valid.empty()
                  ? std::string("it has no named dynamic dims (use --shape)")
                  : "its dim_params are: " + valid);
    }
  // The shape of every input: its file's, its --shape, or its declared
  // shape with --dim values (1 for dims nothing sets). Files and --shape
  // must agree with the model's static dims and with --dim.
  for (const TensorSpec &s : specs) {
    std::vector<int64_t> shape;
    std::string from;
    auto paramOf = [&](size_t d) {
      return d < s.dim_params.size() ? s.dim_params[d] : std::string();
    };
    if (auto f = flags.files.find(s.name); f != flags.files.end()) {
      shape = f->second.shape();
      from = "its file";
    } else if (auto sh = flags.shapes.find(s.name); sh != flags.shapes.end()) {
      shape = sh->second;
      from = "--shape";
    }
    if (!from.empty()) {
      if (shape.size() != s.shape.size())
        return "input '" + s.name + "' has rank " +
               std::to_string(s.shape.size()) + " (" + SpecToString(s) +
               ") but " + from + " gives shape " + ShapeToString(shape);
      for (size_t d = 0; d < shape.size(); ++d) {
        if (s.shape[d] >= 0 && shape[d] != s.shape[d])
          return "input '" + s.name + "' dim " + std::to_string(d) +
                 " must be " + std::to_string(s.shape[d]) + " (" +
                 SpecToString(s) + "), but " + from + " gives " +
                 std::to_string(shape[d]);
        const std::string param = paramOf(d);
        if (s.shape[d] < 0 && !param.empty())
          if (auto it = flags.dims.find(param);
              it != flags.dims.end() && it->second != shape[d])
            return "--dim " + param + "=" + std::to_string(it->second) +
                   " disagrees with input '" + s.name + "', whose " + from +
                   " has " + param + " = " + std::to_string(shape[d]);
      }
    } else {
      for (size_t d = 0; d < s.shape.size(); ++d) {
        int64_t size = s.shape[d];
        if (size < 0) {
          auto it = flags.dims.find(paramOf(d));
          size = it != flags.dims.end() ? it->second : 1;
        }
        shape.push_back(size);
      }
    }
    shapes.push_back(std::move(shape));
  }
  return std::nullopt;
}

int RunAndReport(Session &model, const RunFlags &flags, InputFlags &parsed,
                 const std::vector<std::vector<int64_t>> &shapes,
                 double compileSeconds) {
  const std::vector<TensorSpec> &specs = model.inputs();
  // Inputs: the files, else seeded random data of the shapes found above.
  std::vector<HostTensor> inputs;
  std::mt19937 rng(flags.seed);
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec &spec = specs[i];
    if (auto f = parsed.files.find(spec.name); f != parsed.files.end()) {
      inputs.push_back(std::move(f->second));
      continue;
    }
    absl::StatusOr<HostTensor> t = HostTensor::Create(spec.dtype, shapes[i]);
    if (!t.ok())
      return Fail("random input '" + spec.name +
                  "': " + std::string(t.status().message()));
    RandomFill(*t, rng);
    inputs.push_back(std::move(*t));
  }
  if (!flags.save_inputs.empty()) {
    std::vector<std::string> names = FileNamesFor(specs);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].dtype() == DType::kBF16)
        return Fail("--save-inputs: input '" + specs[i].name +
                    "' is bf16, which .npy files cannot hold");
      std::string path =
          (std::filesystem::path(flags.save_inputs) / names[i]).string();
      if (absl::Status s = WriteNpy(path, inputs[i]); !s.ok())
        return Fail(std::string(s.message()));
      std::cout << "wrote input '" << specs[i].name << "' to " << path << "\n";
    }
  }

  absl::StatusOr<std::vector<HostTensor>> outputs = model.Run(inputs);
  if (!outputs.ok())
    return Fail(std::string(outputs.status().message()));
  std::vector<std::string> names = FileNamesFor(model.outputs());
  for (size_t i = 0; i < outputs->size(); ++i) {
    const HostTensor &t = (*outputs)[i];
    std::cout << "output '" << model.outputs()[i].name
              << "': " << DTypeName(t.dtype()) << " "
              << ShapeToString(t.shape());
    if (!flags.output_dir.empty()) {
      std::string path =
          (std::filesystem::path(flags.output_dir) / names[i]).string();
      if (absl::Status s = WriteNpy(path, t); !s.ok())
        return Fail(std::string(s.message()));
      std::cout << " -> " << path;
    }
    std::cout << "\n";
  }
  std::cout << std::flush;

  if (flags.bench_stdin)
    return ServeBenchStdin(model, inputs, compileSeconds);
  if (flags.benchmark > 0) {
    absl::StatusOr<std::vector<double>> r =
        TimeRuns(model, inputs, flags.benchmark);
    if (!r.ok())
      return Fail(std::string(r.status().message()));
    std::vector<double> ms = std::move(*r);
    std::sort(ms.begin(), ms.end());
    double median = ms[ms.size() / 2];
    double p90 = ms[std::min(ms.size() - 1, (ms.size() * 9) / 10)];
    std::cout << absl::StrFormat(
        "compile: %.3f s, run: median %.3f ms, p90 %.3f ms over %u runs\n",
        compileSeconds, median, p90, flags.benchmark);
  }
  return 0;
}

absl::StatusOr<SessionOptions> SessionOptionsFrom(const RunFlags &flags) {
  SessionOptions o;
  for (const std::string &text : flags.pad) {
    absl::StatusOr<PadRule> rule = ParsePadRule(text);
    if (!rule.ok())
      return rule.status();
    o.pad.push_back(std::move(*rule));
  }
  o.specialize_after = flags.specialize_after;
  o.max_specializations = flags.max_specializations;
  if (!flags.max_specialization_memory.empty()) {
    int64_t bytes = 0;
    if (absl::Status s =
            ParseByteSize(flags.max_specialization_memory, &bytes);
        !s.ok())
      return absl::InvalidArgumentError(absl::StrCat(
          "--max-specialization-memory: ", s.message()));
    o.max_specialization_bytes = static_cast<uint64_t>(bytes);
  }
  o.log = [](const std::string &message) {
    std::cerr << "note: " << message << "\n";
  };
  return o;
}

namespace {

/// Resident memory now, in bytes (/proc/self/statm).
uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t PeakResidentBytes() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss) * 1024;
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

/// One request of a trace: its dims by name (none: a "wait" line).
using TraceLine = std::vector<std::pair<std::string, int64_t>>;

/// Reads the trace: "NAME=SIZE ..." per line; '#' starts a comment; blank
/// lines are skipped. An error names the line.
absl::StatusOr<std::vector<TraceLine>>
ReadTrace(const std::string &path, const std::set<std::string> &params) {
  constexpr size_t kMaxRequests = 10000000;
  absl::StatusOr<std::string> text = ReadRegularFile(path, uint64_t{1} << 30);
  if (!text.ok())
    return text.status();
  std::vector<TraceLine> out;
  size_t number = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++number;
    if (size_t hash = line.find('#'); hash != absl::string_view::npos)
      line = line.substr(0, hash);
    TraceLine request;
    if (absl::StripAsciiWhitespace(line) == "wait") {
      out.push_back({});
      continue;
    }
    for (absl::string_view token :
         absl::StrSplit(line, absl::ByAnyChar(" \t\r,"), absl::SkipEmpty())) {
      size_t eq = token.find('=');
      int64_t v = -1;
      std::string name(token.substr(0, eq == absl::string_view::npos ? 0 : eq));
      if (eq == absl::string_view::npos ||
          !ParseInt(std::string(token.substr(eq + 1)), v) || v < 0)
        return absl::InvalidArgumentError(absl::StrCat(
            path, ":", number, ": expected NAME=SIZE, got '", token, "'"));
      if (!params.count(name))
        return absl::InvalidArgumentError(absl::StrCat(
            path, ":", number, ": the model has no dynamic dim named '", name,
            "'"));
      request.emplace_back(name, v);
    }
    if (request.empty())
      continue;
    if (out.size() == kMaxRequests)
      return absl::InvalidArgumentError(absl::StrCat(
          path, " has more than ", kMaxRequests, " requests"));
    out.push_back(std::move(request));
  }
  if (std::none_of(out.begin(), out.end(),
                   [](const TraceLine &l) { return !l.empty(); }))
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no request (one line of NAME=SIZE each)"));
  return out;
}

} // namespace

int ReplayTrace(Session &session, const RunFlags &flags,
                const InputFlags &parsed, const Startup &startup) {
  const std::vector<TensorSpec> &specs = session.inputs();
  std::set<std::string> params = DynamicDimNames(specs), masks;
  for (const PadRule &r : session.pad_rules())
    if (!r.mask_input.empty())
      masks.insert(r.mask_input);
  absl::StatusOr<std::vector<TraceLine>> trace =
      ReadTrace(flags.shape_trace, params);
  if (!trace.ok())
    return Fail(std::string(trace.status().message()));
  // Memory after the first request: what a served model holds (the first
  // run packs the weights the GEMMs read, once), against which the end is
  // compared.
  uint64_t rssStart = 0;
  std::vector<double> all, byKind[4];
  std::set<std::string> shapes;
  std::mt19937 rng(flags.seed);
  size_t failed = 0;
  std::string firstError;
  auto start = std::chrono::steady_clock::now();
  size_t requests = 0;
  for (size_t r = 0; r < trace->size(); ++r) {
    if ((*trace)[r].empty()) {
      session.WaitForBackground(); // a "wait" line
      continue;
    }
    ++requests;
    std::map<std::string, int64_t> dims = parsed.dims;
    for (const auto &[name, size] : (*trace)[r])
      dims[name] = size;
    std::vector<HostTensor> inputs;
    for (const TensorSpec &spec : specs) {
      std::vector<int64_t> shape;
      for (size_t d = 0; d < spec.shape.size(); ++d) {
        int64_t size = spec.shape[d];
        if (size < 0) {
          auto it = d < spec.dim_params.size() ? dims.find(spec.dim_params[d])
                                               : dims.end();
          size = it != dims.end() ? it->second : 1;
        }
        shape.push_back(size);
      }
      absl::StatusOr<HostTensor> t = HostTensor::Create(spec.dtype, shape);
      if (!t.ok())
        return Fail(absl::StrCat(flags.shape_trace, " request ", r + 1,
                                 ": input '", spec.name,
                                 "': ", t.status().message()));
      if (masks.count(spec.name))
        t->Fill(1);
      else
        RandomFill(*t, rng);
      inputs.push_back(std::move(*t));
    }
    std::vector<std::vector<int64_t>> inShapes;
    for (const HostTensor &t : inputs)
      inShapes.push_back(t.shape());
    absl::StatusOr<ShapeSignature> sig = SignatureOf(specs, inShapes);
    std::string shape = sig.ok() ? sig->ToString() : std::string("?");
    if (sig.ok())
      shapes.insert(shape);
    PlanKind kind = PlanKind::kGeneric;
    auto t0 = std::chrono::steady_clock::now();
    absl::StatusOr<std::vector<HostTensor>> out = session.Run(inputs, &kind);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - t0)
                    .count();
    // A failed request is counted and the replay goes on, as a server
    // would.
    if (!out.ok()) {
      if (failed++ == 0)
        firstError = absl::StrCat("request ", r + 1, " (", shape,
                                  "): ", out.status().message());
      continue;
    }
    all.push_back(ms);
    byKind[static_cast<int>(kind)].push_back(ms);
    if (all.size() == 1)
      rssStart = ResidentBytes();
  }
  double replaySeconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  uint64_t rssEnd = ResidentBytes();
  // Specialisations still being made finish before the counts are read.
  auto waitStart = std::chrono::steady_clock::now();
  session.WaitForBackground();
  double waited = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - waitStart)
                      .count();
  SessionMetrics m = session.metrics();
  uint64_t background = m.specializations_ready - m.cache_hits + m.failures;
  uint64_t compiles = startup.foreground_compiles + background;
  uint64_t hits = startup.cache_hits + m.cache_hits;
  constexpr double kMiB = 1048576.0;
  std::cout << absl::StrFormat("startup: %.3f s (%u compile%s, %u cache hit%s)\n",
                               startup.seconds, startup.foreground_compiles,
                               startup.foreground_compiles == 1 ? "" : "s",
                               startup.cache_hits,
                               startup.cache_hits == 1 ? "" : "s");
  for (int k = 0; k < 4; ++k)
    if (!byKind[k].empty())
      std::cout << absl::StrFormat(
          "plan %-14s %6zu requests, p50 %.3f ms, p99 %.3f ms\n",
          std::string(PlanKindName(static_cast<PlanKind>(k))) + ":",
          byKind[k].size(), Percentile(byKind[k], 0.5),
          Percentile(byKind[k], 0.99));
  std::cout << absl::StrFormat(
      "specialisations: %u asked, %u ready (%u from the cache), %u failed, "
      "%u evicted, %u alive (%.1f MiB), %.2f s spent making them; %.2f s "
      "waited for them after the last request\n",
      m.specializations_requested, m.specializations_ready, m.cache_hits,
      m.failures, m.evictions, m.specializations_alive,
      m.specialization_bytes / kMiB, m.specialize_seconds, waited);
  std::cout << absl::StrFormat(
      "memory: RSS %.1f MiB after the first request, %.1f MiB after the "
      "last, peak %.1f MiB\n",
      rssStart / kMiB, rssEnd / kMiB, PeakResidentBytes() / kMiB);
  std::cout << absl::StrFormat(
      "replay: %.2f s for %zu requests\n", replaySeconds, requests);
  if (failed)
    std::cout << "errors: " << failed << " of " << requests
              << " requests failed; the first: " << firstError << "\n";
  std::cout << absl::StrFormat(
      "trace: %zu requests, %zu shapes, %u compiles (%u foreground, %u "
      "background), %u cache hits, p50 %.3f ms, p99 %.3f ms\n",
      requests, shapes.size(), compiles, startup.foreground_compiles,
      background, hits, Percentile(all, 0.5), Percentile(all, 0.99));
  return failed ? 1 : 0;
}

} // namespace bathy::rt::tool
