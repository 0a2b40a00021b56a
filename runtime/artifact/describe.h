//===- describe.h - An artifact's manifest, for people and for programs --===//
#ifndef BATHY_RUNTIME_ARTIFACT_DESCRIBE_H
#define BATHY_RUNTIME_ARTIFACT_DESCRIBE_H

#include <string>

#include "runtime/artifact/artifact.h"

namespace bathy::rt {

/// What bathy-meta prints: format, compiler, target and CPU features, the
/// model, its inputs and outputs, compile options, sections with sizes and
/// checksums, plans and kernels with their ONNX nodes. Text, or one JSON
/// object with the same content.
std::string DescribeArtifact(const Artifact &artifact, bool json);

} // namespace bathy::rt

#endif // BATHY_RUNTIME_ARTIFACT_DESCRIBE_H
