//===- artifact_fuzzer.cc - libFuzzer target for the artifact loader ------===//
//
// Feeds bytes to the .bathy verifier twice: as a file would arrive (where
// almost every mutation fails a checksum), and with checksums ignored, so
// mutations reach the FlatBuffers verifier, the plans' checks and the
// constant ranges behind them. Whatever is accepted is read back in full
// (plans with their constants, each plan's code range, the description
// bathy-meta prints). The code is never loaded: running code from an
// artifact is trusting it.
// Seeds: artifacts bathyc writes (scripts/fuzz.sh).
//
//===----------------------------------------------------------------------===//
#include <cstddef>
#include <cstdint>

#include "runtime/artifact/artifact.h"
#include "runtime/artifact/describe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  absl::string_view bytes(reinterpret_cast<const char *>(data), size);
  for (bool checked : {true, false}) {
    auto a = checked ? bathy::rt::Artifact::FromBytes(bytes, "fuzz")
                     : bathy::rt::Artifact::FromBytesIgnoringChecksums(bytes,
                                                                       "fuzz");
    if (!a.ok())
      continue;
    volatile uint64_t sum = 0;
    for (size_t i = 0; i < (*a)->num_plans(); ++i) {
      bathy::rt::Plan plan = (*a)->plan(i);
      for (const auto &c : plan.constants)
        for (size_t b = 0; b < c.bytes.size; b += 61)
          sum = sum + c.bytes.data.get()[b];
      // Each plan's code range, read at its ends (never run).
      absl::string_view code = (*a)->code(i);
      if (!code.empty())
        sum = sum + static_cast<uint8_t>(code.front()) +
              static_cast<uint8_t>(code.back());
    }
    (void)bathy::rt::DescribeArtifact(**a, /*json=*/true);
    (void)sum;
  }
  return 0;
}
