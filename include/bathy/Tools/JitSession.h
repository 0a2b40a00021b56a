//===- JitSession.h - What compiling in process adds to a session --------===//
//
// The compiler's side of rt::Session (runtime/session/session.h) and of
// the compile cache (runtime/cache/cache.h), shared by bathy-run and
// bathyc:
//
//   - a model's identity for cache keys: the SHA-256 of its file and of
//     every external-data file it names;
//   - the cache key of a compile: that identity, the shapes it was
//     specialised for, the options that shape code, the CPU it is for and
//     the compiler's build (its executable's build ID and version);
//   - the manifest of an artifact made from a compile (bathyc's artifacts
//     and the cache's entries are the same kind of file);
//   - a Specializer that compiles a plan for one input shape in a fresh
//     MLIR context (it runs on the session's background thread), after
//     looking in the cache, and stores what it compiled there.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_TOOLS_JITSESSION_H
#define BATHY_TOOLS_JITSESSION_H

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bathy/Codegen/CPU/SharedObject.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "runtime/artifact/artifact.h"
#include "runtime/cache/cache.h"
#include "runtime/session/session.h"

namespace bathy {

/// The SHA-256 (hex) of the model file at `path`, combined with those of
/// the external-data files an ONNX model names. Errors name the file.
absl::StatusOr<std::string> modelIdentity(const std::string &path);

/// Imports bathy IR (.mlir, .mlirbc) or an ONNX model into `context`;
/// errors are emitted as diagnostics.
mlir::OwningOpRef<mlir::ModuleOp> importModel(const std::string &path,
                                              mlir::MLIRContext *context);

/// Specialises `module` for inputs of `shapes` (every dynamic dim static).
mlir::LogicalResult
specializeForShapes(mlir::ModuleOp module,
                    const std::vector<rt::TensorSpec> &specs,
                    const std::vector<std::vector<int64_t>> &shapes);

/// The options that shape the code, as (flag, value) pairs: the manifest's
/// options and part of cache keys.
std::vector<std::pair<std::string, std::string>>
codeOptions(const CpuCompileOptions &options);

/// The compile cache key for the model `identity` compiled with `options`
/// for `shapes` ("generic", or a text naming the shapes).
std::string compileCacheKey(const std::string &identity,
                            const CpuCompileOptions &options,
                            const std::string &shapes);

/// "x=1x3x224x224 y=7" for inputs of these shapes.
std::string shapesText(const std::vector<rt::TensorSpec> &specs,
                       const std::vector<std::vector<int64_t>> &shapes);

/// The manifest of an artifact of `compiled`, made from the model at
/// `modelPath` (whose bytes hash to `modelSha`) by a compiler whose
/// producer string the module carries.
rt::Manifest manifestFor(const CpuCompiledModel &compiled,
                         const std::string &modelPath,
                         const std::string &modelSha,
                         const std::string &producer,
                         std::vector<std::pair<std::string, std::string>> options);

/// Keeps `compiled` in `cache` under `key`, as an artifact whose manifest
/// manifestFor makes from the other arguments.
absl::Status storeCompiled(const rt::CompileCache &cache, const std::string &key,
                           const CpuCompiledModel &compiled,
                           const std::string &modelPath,
                           const std::string &identity,
                           const std::string &producer,
                           std::vector<std::pair<std::string, std::string>> options);

/// A specializer for the model at `path` (identified by `identity`),
/// compiling with `options`, looking in and filling `cache` when given.
std::unique_ptr<rt::Specializer>
createJitSpecializer(std::string path, std::string identity,
                     std::vector<rt::TensorSpec> specs,
                     CpuCompileOptions options,
                     std::optional<rt::CompileCache> cache,
                     std::function<void(const std::string &)> log);

} // namespace bathy

#endif // BATHY_TOOLS_JITSESSION_H
