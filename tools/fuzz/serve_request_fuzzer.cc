//===- serve_request_fuzzer.cc - libFuzzer target for request decoding ----===//
//
// bathy-serve's HTTP request decoding: the JSON body and the binary tensor
// extension's tail, against a model with inputs of several dtypes and a
// batch dim. The first 4 bytes of an input, when present, are the
// Inference-Header-Content-Length (little-endian, 0xffffffff: none). A
// decoded request is also encoded back, as a response would be.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstring>
#include <string>

#include "serve/codec.h"

using namespace bathy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::vector<rt::TensorSpec> specs = {
      {"x", rt::DType::kF32, {-1, 3}, {"batch", ""}},
      {"ids", rt::DType::kI64, {-1, -1}, {"batch", "seq"}},
      {"mask", rt::DType::kBool, {-1}, {"batch"}},
      {"h", rt::DType::kF16, {2}, {""}},
      {"u", rt::DType::kU8, {-1}, {"n"}},
  };
  std::optional<uint64_t> json_length;
  if (size >= 4) {
    uint32_t n;
    std::memcpy(&n, data, 4);
    if (n != 0xffffffffu)
      json_length = n;
    data += 4;
    size -= 4;
  }
  serve::RequestLimits limits;
  limits.max_batch = 16;
  limits.max_tensor_bytes = 1 << 16;
  limits.max_request_bytes = 1 << 18;
  std::string body(reinterpret_cast<const char *>(data), size);
  absl::StatusOr<serve::InferRequest> r =
      serve::DecodeJsonRequest(body, json_length, specs, "batch", limits);
  if (!r.ok())
    return 0;
  // What a model would answer: its inputs as outputs.
  std::vector<rt::HostTensor> outputs;
  for (const rt::HostTensor &t : r->inputs) {
    absl::StatusOr<rt::HostTensor> copy = rt::HostTensor::Create(t.dtype(), t.shape());
    if (!copy.ok())
      __builtin_trap();
    if (t.size_bytes())
      std::memcpy(copy->data(), t.data(), t.size_bytes());
    outputs.push_back(std::move(*copy));
  }
  (void)serve::EncodeJsonResponse("m", "1", *r, specs, outputs);
  return 0;
}
