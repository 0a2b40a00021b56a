//===- driver.h - The CUDA driver, loaded when asked for ------------------===//
//
// The runtime never links libcuda: it builds and starts on machines without
// a GPU or driver. The driver is opened with dlopen (libcuda.so.1, or
// $BATHY_CUDA_DRIVER) the first time a CUDA device is asked for, and every
// function bathy uses is looked up then. A driver error becomes a message
// with the error's name, the driver's own description, and what to check.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_CUDA_DRIVER_H
#define BATHY_RUNTIME_CUDA_DRIVER_H

#include <string>

#include "absl/status/statusor.h"

namespace bathy::rt::cuda {

/// The driver's functions (null where the library could not be opened).
struct Driver {
  void *handle = nullptr;
  std::string path;
  int (*cuInit)(unsigned) = nullptr;
  int (*cuDriverGetVersion)(int *) = nullptr;
  int (*cuDeviceGetCount)(int *) = nullptr;
  int (*cuDeviceGet)(int *, int) = nullptr;
  int (*cuDeviceGetName)(char *, int, int) = nullptr;
  int (*cuDeviceGetAttribute)(int *, int, int) = nullptr;
  int (*cuGetErrorName)(int, const char **) = nullptr;
  int (*cuGetErrorString)(int, const char **) = nullptr;
};

/// The driver, opened and initialised once (cuInit(0)); an error says what
/// is missing: the library (with the paths tried and dlerror), a function,
/// or a failing cuInit (its error, explained).
absl::StatusOr<const Driver *> LoadDriver();

/// "CUDA driver 13.0 (libcuda.so.1), 1 device: 0 NVIDIA H200 (sm_90)", or
/// LoadDriver's error.
absl::StatusOr<std::string> DescribeDriver();

/// `code` as "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)"
/// plus what to check for the common ones, through the driver when loaded.
std::string ErrorMessage(const Driver *driver, int code);

}  // namespace bathy::rt::cuda

#endif  // BATHY_RUNTIME_CUDA_DRIVER_H
