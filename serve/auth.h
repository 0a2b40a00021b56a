//===- auth.h - Bearer tokens with per-model scopes -----------------------===//
//
// `--tokens=FILE` (JSON): who may do what to which model.
//
//   {"tokens": [
//     {"identity": "ci", "token_sha256": "<hex>",
//      "scopes": {"*": ["read"], "bert": ["read", "infer"]}},
//     {"identity": "ops", "token": "plain-text-token", "scopes": {"*": ["admin"]}}]}
//
// Scopes: `read` (metadata, readiness, the repository index, /metrics on
// "*"), `infer`, `admin` (load and unload; implies the others). A model's
// own entry wins over "*". Tokens are compared by their SHA-256 in constant
// time; storing only `token_sha256` keeps the file free of secrets. No
// token: 401; a token without the scope: 403. Health (live/ready) needs
// none, as load balancers probe it.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_SERVE_AUTH_H
#define BATHY_SERVE_AUTH_H

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace bathy::serve {

enum class Scope : uint8_t { kRead = 1, kInfer = 2, kAdmin = 4 };
const char *ScopeName(Scope scope);

class TokenTable {
public:
  /// Parses a tokens file's text; `source` names it in errors.
  static absl::StatusOr<TokenTable> Parse(absl::string_view json,
                                          const std::string &source);
  /// Whether any token is configured (else every request is allowed and
  /// its identity is "anonymous").
  bool enabled() const { return !entries_.empty(); }
  /// The identity of `authorization` (the header's value, "Bearer ..."):
  /// Unauthenticated when missing or unknown, PermissionDenied when its
  /// scopes lack `scope` for `model` ("*" for server-wide actions).
  absl::StatusOr<std::string> Check(absl::string_view authorization,
                                    const std::string &model,
                                    Scope scope) const;

private:
  struct Entry {
    std::string identity;
    unsigned char sha256[32];
    /// Model ("*" for all) -> scope bits.
    std::map<std::string, unsigned> scopes;
  };
  std::vector<Entry> entries_;
};

} // namespace bathy::serve

#endif // BATHY_SERVE_AUTH_H
