//===- npy.h - Reading and writing NumPy .npy files -----------------------===//
//
// bathy-run takes inputs and writes outputs as .npy files. The reader treats
// every file as untrusted: a truncated file, a header that lies about its
// length, an unknown dtype or a shape that does not match the data all give
// an error naming the file, never a crash.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_NPY_H
#define BATHY_RUNTIME_NPY_H

#include "absl/strings/string_view.h"
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/tensor.h"

namespace bathy::rt {

/// Parses the bytes of a .npy file (format versions 1.0, 2.0 and 3.0).
/// `source` names the data in error messages (usually the file path).
/// Big-endian data is converted to host order; Fortran order is rejected.
absl::StatusOr<HostTensor> ParseNpy(absl::string_view bytes,
                                    absl::string_view source);

/// Reads and parses a .npy file.
absl::StatusOr<HostTensor> ReadNpy(const std::string &path);

/// Serializes a tensor as a version 1.0 .npy file (version 2.0 when the
/// header does not fit). bf16 has no NumPy dtype and is rejected.
absl::StatusOr<std::string> SerializeNpy(const HostTensor &tensor);

/// Serializes and writes a tensor to `path`.
absl::Status WriteNpy(const std::string &path, const HostTensor &tensor);

} // namespace bathy::rt

#endif // BATHY_RUNTIME_NPY_H
