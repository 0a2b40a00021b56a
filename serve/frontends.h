//===- frontends.h - The transports in front of a Server ------------------===//
//
// The KServe v2 protocol over HTTP/REST (http.cc, cpp-httplib) and gRPC
// (grpc.cc, gRPC C++). Both turn requests into Server calls and absl
// status codes into the transport's: InvalidArgument 400 /
// INVALID_ARGUMENT, Unauthenticated 401 / UNAUTHENTICATED, PermissionDenied
// 403 / PERMISSION_DENIED, NotFound 404 / NOT_FOUND, ResourceExhausted 429 /
// RESOURCE_EXHAUSTED, Unavailable 503 / UNAVAILABLE, DeadlineExceeded 504 /
// DEADLINE_EXCEEDED.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_SERVE_FRONTENDS_H
#define BATHY_SERVE_FRONTENDS_H

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "serve/server.h"

namespace bathy::serve {

struct TransportOptions {
  std::string host = "127.0.0.1";
  /// 0: any free port (port() says which).
  int port = 0;
  /// TLS: PEM certificate chain and key; with `tls_client_ca`, clients must
  /// present a certificate that CA signed.
  std::string tls_cert, tls_key, tls_client_ca;
  /// Largest request body (HTTP) or message (gRPC).
  uint64_t max_body_bytes = uint64_t{64} << 20;
  /// A client that sends nothing for this long is dropped (HTTP).
  int read_timeout_s = 30;
  /// Threads serving connections.
  int threads = 64;
};

class Frontend {
public:
  virtual ~Frontend();
  virtual int port() const = 0;
  /// Stops accepting and waits for requests in flight.
  virtual void Stop() = 0;
};

absl::StatusOr<std::unique_ptr<Frontend>> StartHttp(Server &server,
                                                    TransportOptions options);
absl::StatusOr<std::unique_ptr<Frontend>> StartGrpc(Server &server,
                                                    TransportOptions options);

/// The HTTP status for an absl status.
int HttpStatus(const absl::Status &status);

} // namespace bathy::serve

#endif // BATHY_SERVE_FRONTENDS_H
