//===- cpu_features.h - The CPU features compiled code may need -----------===//
//
// Code compiled ahead of time records the CPU features it was compiled for
// (the artifact's manifest); the loader refuses code the machine cannot run
// rather than let it die on an illegal instruction. These are the features
// both sides know, spelled as LLVM's subtarget features, which are also the
// names the compilers' __builtin_cpu_supports takes.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_CPU_CPU_FEATURES_H
#define BATHY_RUNTIME_CPU_CPU_FEATURES_H

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace bathy::rt {

/// The features the manifest records and the loader checks.
inline constexpr const char *kCheckedCpuFeatures[] = {
    "sse4.1",   "sse4.2",   "popcnt",   "avx",       "avx2",
    "fma",      "bmi",      "bmi2",     "avx512f",   "avx512cd",
    "avx512bw", "avx512dq", "avx512vl", "avx512vnni"};

/// Whether this machine has `feature` (one of kCheckedCpuFeatures; false
/// for any other name).
bool CpuHasFeature(const std::string &feature);

/// OK when this machine has every feature in `features`; otherwise an
/// error naming the first missing one (or one this runtime cannot check).
absl::Status CheckCpuFeatures(const std::vector<std::string> &features);

} // namespace bathy::rt

#endif // BATHY_RUNTIME_CPU_CPU_FEATURES_H
