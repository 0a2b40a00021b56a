//===- codec.h - KServe v2 inference requests in and responses out --------===//
//
// The Open Inference Protocol's tensors as bathy's host tensors. A request
// (the HTTP JSON body with the binary tensor extension's tail, or a gRPC
// ModelInferRequest after grpc.cc has taken it apart) is checked against the
// model's inputs here, before any memory sized by the request is taken:
// every input named once and known, its datatype the model's, its shape of
// the model's rank with non-negative dims that fit the static ones, its
// elements and bytes under the model's limits, JSON values of the right kind
// and in range, binary sizes that add up to exactly the tail. An error is an
// InvalidArgument (or ResourceExhausted for a limit) naming the input.
//
// Nothing here knows HTTP or gRPC; tools/fuzz/serve_request_fuzzer.cc feeds
// DecodeJsonRequest arbitrary bytes.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_SERVE_CODEC_H
#define BATHY_SERVE_CODEC_H

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/plan.h"
#include "runtime/tensor.h"

namespace bathy::serve {

/// The protocol's datatype name ("FP32", "INT64", "BOOL", ...).
const char *KServeDatatype(rt::DType dtype);
/// The dtype a protocol name stands for; an error for "BYTES" and unknown
/// names.
absl::StatusOr<rt::DType> DTypeFromKServe(absl::string_view name);

/// Per-request limits (from the model's config; the server's defaults
/// otherwise).
struct RequestLimits {
  /// Bytes of one input tensor.
  uint64_t max_tensor_bytes = uint64_t{256} << 20;
  /// Bytes of all inputs together.
  uint64_t max_request_bytes = uint64_t{512} << 20;
  /// The batch dim's size (0: no limit beyond the bytes).
  int64_t max_batch = 0;
};

/// What a request asks of one output.
struct RequestedOutput {
  std::string name;
  /// Its parameters.binary_data, when given.
  std::optional<bool> binary;
};

/// A decoded, checked request: inputs in the model's input order.
struct InferRequest {
  std::string id;
  std::vector<rt::HostTensor> inputs;
  /// Empty: every output.
  std::vector<RequestedOutput> outputs;
  /// parameters.priority (0: the model's default), parameters.timeout
  /// (microseconds, 0: none), parameters.binary_data_output.
  uint64_t priority = 0;
  uint64_t timeout_us = 0;
  bool binary_data_output = false;
  /// Bytes of the inputs' data.
  uint64_t input_bytes = 0;
};

/// One tensor as a request names it, before its data is read: checked
/// against the model (`specs[index]`) and the limits.
struct InputHeader {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
};
/// Checks a header and returns the input's index in `specs`; `seen` marks
/// the inputs already given (a second one is an error).
absl::StatusOr<size_t> CheckInputHeader(const InputHeader &header,
                                        const std::vector<rt::TensorSpec> &specs,
                                        const std::string &batch_dim,
                                        const RequestLimits &limits,
                                        std::vector<bool> &seen,
                                        uint64_t &request_bytes);
/// CheckInputHeader, then the input's zero-filled tensor: its index in
/// `specs` and the tensor.
absl::StatusOr<std::pair<size_t, rt::HostTensor>>
CheckAndAllocateInput(const InputHeader &header,
                      const std::vector<rt::TensorSpec> &specs,
                      const std::string &batch_dim, const RequestLimits &limits,
                      std::vector<bool> &seen, uint64_t &request_bytes);
/// Triton's model-configuration name of a dtype ("TYPE_FP32").
const char *TritonDataType(rt::DType dtype);
/// An error naming the first input the request left out.
absl::Status CheckAllInputsGiven(const std::vector<rt::TensorSpec> &specs,
                                 const std::vector<bool> &seen);

/// Decodes an HTTP infer request: `body` is the JSON header followed by the
/// binary tail when `json_length` (Inference-Header-Content-Length) is
/// given. The outputs it asks for are checked by SelectOutputs. `batch_dim` names the dim the batcher batches along ("" when
/// none), for RequestLimits::max_batch.
absl::StatusOr<InferRequest>
DecodeJsonRequest(absl::string_view body, std::optional<uint64_t> json_length,
                  const std::vector<rt::TensorSpec> &specs,
                  const std::string &batch_dim, const RequestLimits &limits);

/// An HTTP infer response: the JSON, then the binary tail (empty when every
/// output went as JSON); `json_length` is what Inference-Header-Content-
/// Length must say when the tail is not empty.
struct EncodedResponse {
  std::string body;
  uint64_t json_length = 0;
  bool has_binary = false;
};
/// Encodes `outputs` (in the model's output order, `specs`) as `request`
/// asked: only the outputs it named, each binary or JSON.
absl::StatusOr<EncodedResponse>
EncodeJsonResponse(const std::string &model, const std::string &version,
                   const InferRequest &request,
                   const std::vector<rt::TensorSpec> &specs,
                   const std::vector<rt::HostTensor> &outputs);

/// Which outputs (indices into `specs`) a request asked for, in the
/// request's order; every output when it named none. An error names an
/// unknown or repeated output.
absl::StatusOr<std::vector<size_t>>
SelectOutputs(const std::vector<RequestedOutput> &requested,
              const std::vector<rt::TensorSpec> &specs);

/// A JSON string literal (quoted and escaped) for `s`.
std::string JsonString(absl::string_view s);

} // namespace bathy::serve

#endif // BATHY_SERVE_CODEC_H
