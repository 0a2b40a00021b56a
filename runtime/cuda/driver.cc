#include "runtime/cuda/driver.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace bathy::rt::cuda {
namespace {

// CUresult values the messages below explain (cuda.h).
constexpr int kSuccess = 0;
constexpr int kNotInitialized = 3;
constexpr int kNoDevice = 100;
constexpr int kInvalidDevice = 101;
constexpr int kInsufficientDriver = 35;
constexpr int kStubLibrary = 34;
constexpr int kSystemDriverMismatch = 803;
constexpr int kCompatNotSupported = 804;
constexpr int kUnsupportedPtxVersion = 222;
constexpr int kNoBinaryForGpu = 209;
constexpr int kOutOfMemory = 2;
constexpr int kDeviceUnavailable = 46;

// CUdevice_attribute values.
constexpr int kComputeCapabilityMajor = 75;
constexpr int kComputeCapabilityMinor = 76;

// Names of the codes Advice explains, for when the driver cannot name them
// (the toolkit's stub library names none).
const char *Name(int code) {
  switch (code) {
    case kOutOfMemory: return "CUDA_ERROR_OUT_OF_MEMORY";
    case kNotInitialized: return "CUDA_ERROR_NOT_INITIALIZED";
    case kStubLibrary: return "CUDA_ERROR_STUB_LIBRARY";
    case kInsufficientDriver: return "CUDA_ERROR_INSUFFICIENT_DRIVER";
    case kDeviceUnavailable: return "CUDA_ERROR_DEVICE_UNAVAILABLE";
    case kNoDevice: return "CUDA_ERROR_NO_DEVICE";
    case kInvalidDevice: return "CUDA_ERROR_INVALID_DEVICE";
    case kNoBinaryForGpu: return "CUDA_ERROR_NO_BINARY_FOR_GPU";
    case kUnsupportedPtxVersion: return "CUDA_ERROR_UNSUPPORTED_PTX_VERSION";
    case kSystemDriverMismatch: return "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH";
    case kCompatNotSupported: return "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE";
    default: return nullptr;
  }
}

const char *Advice(int code) {
  switch (code) {
    case kNoDevice:
      return "no GPU is visible to this process: check nvidia-smi, and "
             "CUDA_VISIBLE_DEVICES (empty or -1 hides every GPU)";
    case kInvalidDevice:
      return "the device index is not one this machine has "
             "(CUDA_VISIBLE_DEVICES renumbers them)";
    case kInsufficientDriver:
      return "the driver is older than the CUDA version the code needs: "
             "update the NVIDIA driver";
    case kStubLibrary:
      return "this is the CUDA toolkit's link stub, not a driver: remove "
             "lib64/stubs from LD_LIBRARY_PATH or install the NVIDIA driver";
    case kSystemDriverMismatch:
      return "the kernel module and the user-space driver (libcuda) are "
             "different versions: reload the module or reboot after a "
             "driver update";
    case kCompatNotSupported:
      return "forward-compatibility libraries do not support this GPU";
    case kUnsupportedPtxVersion:
      return "the PTX was made by a newer CUDA than this driver knows: "
             "update the driver or compile for the GPU's sm_ architecture";
    case kNoBinaryForGpu:
      return "no CUBIN matches this GPU and no PTX was stored: compile with "
             "its --cuda-arch";
    case kOutOfMemory:
      return "the GPU's memory is full: other processes may hold it "
             "(nvidia-smi), or lower the batch size";
    case kDeviceUnavailable:
      return "the GPU is busy or in exclusive-process mode held by another "
             "process (nvidia-smi -q -d COMPUTE)";
    case kNotInitialized:
      return "cuInit was not called or failed";
    default:
      return nullptr;
  }
}

Driver *Open(std::string *error) {
  static Driver driver;
  std::vector<std::string> candidates;
  if (const char *p = std::getenv("BATHY_CUDA_DRIVER"); p && *p)
    candidates.push_back(p);
  else
    candidates = {"libcuda.so.1", "libcuda.so"};
  std::string tried;
  for (const std::string &c : candidates) {
    driver.handle = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (driver.handle) {
      driver.path = c;
      break;
    }
    const char *why = dlerror();
    absl::StrAppend(&tried, tried.empty() ? "" : "; ", why ? why : c);
  }
  if (!driver.handle) {
    *error = absl::StrCat(
        "the CUDA driver is not installed (", tried,
        "): install the NVIDIA driver, or set BATHY_CUDA_DRIVER to its "
        "libcuda.so.1");
    return nullptr;
  }
  bool missing = false;
  auto bind = [&](auto &fn, const char *symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
        dlsym(driver.handle, symbol));
    if (!fn && !missing) {
      *error = absl::StrCat(driver.path, " has no ", symbol,
                            ": the driver is too old for bathy");
      missing = true;
    }
  };
  bind(driver.cuInit, "cuInit");
  bind(driver.cuDriverGetVersion, "cuDriverGetVersion");
  bind(driver.cuDeviceGetCount, "cuDeviceGetCount");
  bind(driver.cuDeviceGet, "cuDeviceGet");
  bind(driver.cuDeviceGetName, "cuDeviceGetName");
  bind(driver.cuDeviceGetAttribute, "cuDeviceGetAttribute");
  bind(driver.cuGetErrorName, "cuGetErrorName");
  bind(driver.cuGetErrorString, "cuGetErrorString");
  if (missing) {
    dlclose(driver.handle);
    driver = Driver();
    return nullptr;
  }
  if (int r = driver.cuInit(0); r != kSuccess) {
    int version = 0;
    driver.cuDriverGetVersion(&version);
    *error = absl::StrCat("cuInit failed with ", ErrorMessage(&driver, r),
                          " (driver ", driver.path);
    if (version > 0)
      absl::StrAppend(error, ", CUDA ", version / 1000, ".",
                      (version % 1000) / 10);
    absl::StrAppend(error, ")");
    return nullptr;
  }
  return &driver;
}

}  // namespace

std::string ErrorMessage(const Driver *driver, int code) {
  const char *name = nullptr, *text = nullptr;
  if (driver && driver->cuGetErrorName &&
      driver->cuGetErrorName(code, &name) != kSuccess)
    name = nullptr;
  if (driver && driver->cuGetErrorString &&
      driver->cuGetErrorString(code, &text) != kSuccess)
    text = nullptr;
  if (!name) name = Name(code);
  std::string out =
      name ? std::string(name) : absl::StrCat("CUDA error ", code);
  if (text)
    absl::StrAppend(&out, " (", text, ")");
  if (const char *advice = Advice(code))
    absl::StrAppend(&out, ": ", advice);
  return out;
}

absl::StatusOr<const Driver *> LoadDriver() {
  static std::once_flag once;
  static Driver *driver = nullptr;
  static std::string error;
  std::call_once(once, [] { driver = Open(&error); });
  if (!driver) return absl::FailedPreconditionError(error);
  return driver;
}

absl::StatusOr<std::string> DescribeDriver() {
  absl::StatusOr<const Driver *> loaded = LoadDriver();
  if (!loaded.ok()) return loaded.status();
  const Driver &d = **loaded;
  int version = 0, count = 0;
  d.cuDriverGetVersion(&version);
  if (int r = d.cuDeviceGetCount(&count); r != kSuccess)
    return absl::FailedPreconditionError(
        absl::StrCat("cuDeviceGetCount failed with ", ErrorMessage(&d, r)));
  std::string out =
      absl::StrCat("CUDA driver ", version / 1000, ".", (version % 1000) / 10,
                   " (", d.path, "), ", count, count == 1 ? " device" : " devices");
  for (int i = 0; i < count; ++i) {
    int dev = 0, major = 0, minor = 0;
    char name[256] = {};
    if (d.cuDeviceGet(&dev, i) != kSuccess) continue;
    d.cuDeviceGetName(name, sizeof name - 1, dev);
    d.cuDeviceGetAttribute(&major, kComputeCapabilityMajor, dev);
    d.cuDeviceGetAttribute(&minor, kComputeCapabilityMinor, dev);
    absl::StrAppend(&out, i ? "; " : ": ", i, " ", name, " (sm_", major, minor,
                    ")");
  }
  return out;
}

}  // namespace bathy::rt::cuda
