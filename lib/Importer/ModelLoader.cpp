//===- ModelLoader.cpp - Reading ONNX model files -------------------------===//
#include "ModelLoader.h"

#include <map>

#include "bathy/Importer/OnnxImporter.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "onnx/defs/parser.h"
#include "runtime/file.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace bathy::onnx_import {

std::string canonicalDomain(StringRef domain) {
  return domain == "ai.onnx" ? std::string() : domain.str();
}

int64_t getOpsetVersion(const onnx::ModelProto &model, StringRef domain) {
  std::string want = canonicalDomain(domain);
  for (const onnx::OperatorSetIdProto &opset : model.opset_import())
    if (canonicalDomain(opset.domain()) == want)
      return opset.version();
  return 0;
}

static bool looksLikeText(StringRef path, StringRef contents) {
  if (path.ends_with(".onnxtext") || path.ends_with(".txt"))
    return true;
  StringRef trimmed = contents.ltrim();
  return trimmed.starts_with("<") && !path.ends_with(".onnx");
}

FailureOr<LoadedModel> parseModel(StringRef contents, StringRef path, bool text,
                                  MLIRContext *context) {
  Location loc = FileLineColLoc::get(context, path, 0, 0);
  LoadedModel loaded;
  loaded.path = path.str();
  if (text) {
    // The ONNX parser reads up to a NUL; give it a terminated copy.
    // ONNX's parser reports most errors through its Status but throws on
    // some malformed literals (std::stoi and friends); both are errors here.
    std::string terminated = contents.str();
    std::string message;
    try {
      onnx::OnnxParser parser(terminated.c_str());
      auto status = parser.Parse(loaded.model);
      if (!status.IsOK())
        message = status.ErrorMessage();
    } catch (const std::exception &e) {
      message = std::string("malformed literal (") + e.what() + ")";
    }
    if (!message.empty())
      return emitError(loc) << "cannot parse '" << path
                            << "' as ONNX text format: " << message;
  } else {
    if (contents.size() > static_cast<size_t>(INT32_MAX))
      return emitError(loc)
             << "'" << path
             << "' is larger than 2 GiB, the protobuf limit; store the "
                "weights as external data";
    if (!loaded.model.ParseFromArray(contents.data(),
                                     static_cast<int>(contents.size())))
      return emitError(loc) << "cannot parse '" << path
                            << "' as an ONNX model: the file is truncated, "
                               "corrupt or not a ModelProto";
  }

  const onnx::ModelProto &model = loaded.model;
  if (!model.has_graph())
    return emitError(loc) << "'" << path << "' has no graph";
  if (model.graph().output_size() == 0)
    return emitError(loc) << "the graph of '" << path << "' has no outputs";
  if (model.opset_import_size() == 0)
    return emitError(loc) << "'" << path
                          << "' imports no opset (opset_import is empty)";
  // IR versions 1 to 13 (onnx 1.22's); 0 or negative means the field was
  // never set or is corrupt, later ones are from a future ONNX.
  if (model.ir_version() < 1 || model.ir_version() > kMaxIrVersion)
    return emitError(loc) << "'" << path << "' has ir_version "
                          << model.ir_version() << "; bathy reads 1 to "
                          << kMaxIrVersion;
  // One version per domain: ONNX runtimes disagree on which of two wins.
  {
    std::map<std::string, int64_t> versions;
    for (const onnx::OperatorSetIdProto &opset : model.opset_import()) {
      auto [it, fresh] = versions.try_emplace(canonicalDomain(opset.domain()),
                                              opset.version());
      if (!fresh)
        return emitError(loc)
               << "'" << path << "' imports domain '"
               << (opset.domain().empty() ? "ai.onnx" : opset.domain())
               << "' twice (versions " << it->second << " and "
               << opset.version() << ")";
    }
  }
  loaded.opset = getOpsetVersion(model, "");
  if (loaded.opset > kMaxSupportedOpset)
    return emitError(loc) << "'" << path << "' uses ai.onnx opset "
                          << loaded.opset << "; bathy supports opsets up to "
                          << kMaxSupportedOpset;
  for (const onnx::OperatorSetIdProto &opset : model.opset_import())
    if (opset.version() < 1)
      return emitError(loc)
             << "'" << path << "' declares opset " << opset.version()
             << " for domain '" << opset.domain() << "'";
  return loaded;
}

FailureOr<LoadedModel> loadModel(StringRef path, MLIRContext *context) {
  Location loc = FileLineColLoc::get(context, path, 0, 0);
  // A regular file (a FIFO or device is refused rather than read), no
  // larger than protobuf allows (weights beyond it live in external data).
  absl::StatusOr<std::string> file =
      rt::ReadRegularFile(path.str(), static_cast<uint64_t>(INT32_MAX));
  if (!file.ok()) {
    std::string message(file.status().message());
    if (message.find("more than the") != std::string::npos)
      return emitError(loc)
             << "'" << path
             << "' is larger than 2 GiB, the protobuf limit; store the "
                "weights as external data";
    return emitError(loc) << message;
  }
  StringRef contents = *file;
  FailureOr<LoadedModel> loaded =
      parseModel(contents, path, looksLikeText(path, contents), context);
  if (failed(loaded))
    return failure();
  SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  loaded->directory = dir.empty() ? "." : std::string(dir);
  return loaded;
}

} // namespace bathy::onnx_import
