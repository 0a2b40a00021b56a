//===- bathy-meta.cc - Show or validate a .bathy artifact -----------------===//
//
// Runtime only (no LLVM, MLIR or protobuf): this is the check to run on a
// machine that will serve the model, before loading it.
//
//===----------------------------------------------------------------------===//
#include <cstring>
#include <iostream>
#include <string>

#include "runtime/artifact/artifact.h"
#include "runtime/artifact/describe.h"
#include "runtime/cpu/cpu_features.h"

namespace {

constexpr char kUsage[] =
    "usage: bathy-meta model.bathy [--json]\n"
    "       bathy-meta validate model.bathy\n"
    "\n"
    "Prints an artifact's manifest (format, compiler, target and CPU\n"
    "features, the model, its inputs and outputs, compile options, sections,\n"
    "plans and kernels with their ONNX nodes), as text or as JSON.\n"
    "'validate' checks the whole file (header, checksums, schema, plans) and\n"
    "that this machine has the CPU features the code needs: exit 0 when it\n"
    "can be loaded here, 1 with the reason otherwise.\n";

} // namespace

int main(int argc, char **argv) {
  bool json = false, validate = false;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (a == "--json")
      json = true;
    else if (a == "validate" && !validate && path.empty())
      validate = true;
    else if (!a.empty() && a[0] != '-' && path.empty())
      path = a;
    else {
      std::cerr << "bathy-meta: unexpected argument '" << a << "'\n" << kUsage;
      return 1;
    }
  }
  if (path.empty()) {
    std::cerr << kUsage;
    return 1;
  }
  auto artifact = bathy::rt::Artifact::Open(path);
  if (!artifact.ok()) {
    std::cerr << "error: " << artifact.status().message() << "\n";
    return 1;
  }
  if (validate) {
    const bathy::rt::Manifest &m = (*artifact)->manifest();
    if (absl::Status s = bathy::rt::CheckCpuFeatures(m.cpu_features); !s.ok()) {
      std::cerr << "error: " << path << ": " << s.message() << "\n";
      return 1;
    }
    std::cout << path << ": valid (format " << m.format_major << "."
              << m.format_minor << ", " << m.target << " code for " << m.cpu
              << ", " << (*artifact)->num_plans() << " plan)\n";
    return 0;
  }
  std::cout << bathy::rt::DescribeArtifact(**artifact, json);
  return 0;
}
