//===- auth.cc - Bearer tokens with per-model scopes ----------------------===//

#include "serve/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "simdjson.h"

namespace bathy::serve {

const char *ScopeName(Scope scope) {
  switch (scope) {
  case Scope::kRead: return "read";
  case Scope::kInfer: return "infer";
  case Scope::kAdmin: return "admin";
  }
  return "?";
}

absl::StatusOr<TokenTable> TokenTable::Parse(absl::string_view json,
                                             const std::string &source) {
  auto bad = [&](const std::string &what) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", what));
  };
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json.data(), json.size());
  simdjson::dom::element doc;
  if (auto err = parser.parse(padded).get(doc); err)
    return bad(absl::StrCat("not valid JSON: ", simdjson::error_message(err)));
  simdjson::dom::array tokens;
  if (doc["tokens"].get_array().get(tokens))
    return bad("needs a \"tokens\" array");
  TokenTable table;
  size_t n = 0;
  for (simdjson::dom::element t : tokens) {
    std::string where = absl::StrCat("token ", n++);
    Entry e;
    std::string_view s;
    if (t["identity"].get_string().get(s) || s.empty())
      return bad(where + " needs an \"identity\"");
    e.identity = std::string(s);
    where = absl::StrCat(where, " (", e.identity, ")");
    std::string_view plain, hex;
    bool has_plain = t["token"].get_string().get(plain) == simdjson::SUCCESS;
    bool has_hex = t["token_sha256"].get_string().get(hex) == simdjson::SUCCESS;
    if (has_plain == has_hex)
      return bad(where + " needs one of \"token\" and \"token_sha256\"");
    if (has_plain) {
      if (plain.size() < 16)
        return bad(where + ": a token must have at least 16 characters");
      SHA256(reinterpret_cast<const unsigned char *>(plain.data()), plain.size(),
             e.sha256);
    } else {
      if (hex.size() != 64)
        return bad(where + ": token_sha256 must be 64 hex digits");
      for (size_t i = 0; i < 32; ++i) {
        auto nib = [&](char c) -> int {
          if (c >= '0' && c <= '9') return c - '0';
          c = absl::ascii_tolower(c);
          if (c >= 'a' && c <= 'f') return c - 'a' + 10;
          return -1;
        };
        int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
          return bad(where + ": token_sha256 must be 64 hex digits");
        e.sha256[i] = static_cast<unsigned char>(hi << 4 | lo);
      }
    }
    simdjson::dom::object scopes;
    if (t["scopes"].get_object().get(scopes))
      return bad(where + " needs a \"scopes\" object (model -> [scopes])");
    for (auto [model, list] : scopes) {
      simdjson::dom::array a;
      if (list.get_array().get(a))
        return bad(absl::StrCat(where, ": scopes of '", std::string(model),
                                "' must be an array"));
      unsigned bits = 0;
      for (simdjson::dom::element x : a) {
        std::string_view name;
        if (x.get_string().get(name))
          return bad(where + ": a scope must be a string");
        if (name == "read") bits |= 1;
        else if (name == "infer") bits |= 2;
        else if (name == "admin") bits |= 7;
        else
          return bad(absl::StrCat(where, ": unknown scope '", std::string(name),
                                  "' (read, infer, admin)"));
      }
      e.scopes[std::string(model)] = bits;
    }
    table.entries_.push_back(std::move(e));
  }
  return table;
}

absl::StatusOr<std::string> TokenTable::Check(absl::string_view authorization,
                                              const std::string &model,
                                              Scope scope) const {
  if (entries_.empty())
    return std::string("anonymous");
  absl::string_view value = absl::StripAsciiWhitespace(authorization);
  if (!absl::StartsWithIgnoreCase(value, "bearer "))
    return absl::UnauthenticatedError(
        "this server needs a bearer token (Authorization: Bearer ...)");
  absl::string_view token = absl::StripAsciiWhitespace(value.substr(7));
  unsigned char digest[32];
  SHA256(reinterpret_cast<const unsigned char *>(token.data()), token.size(),
         digest);
  const Entry *found = nullptr;
  for (const Entry &e : entries_)
    if (CRYPTO_memcmp(e.sha256, digest, 32) == 0)
      found = &e;
  if (!found)
    return absl::UnauthenticatedError("the bearer token is not known");
  auto it = found->scopes.find(model);
  if (it == found->scopes.end())
    it = found->scopes.find("*");
  unsigned bits = it == found->scopes.end() ? 0 : it->second;
  if (!(bits & static_cast<unsigned>(scope)))
    return absl::PermissionDeniedError(
        absl::StrCat("'", found->identity, "' may not ", ScopeName(scope),
                     model == "*" ? std::string(" on this server")
                                  : absl::StrCat(" model '", model, "'")));
  return found->identity;
}

} // namespace bathy::serve
