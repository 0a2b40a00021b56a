//===- http.cc - The KServe v2 protocol over HTTP/REST (cpp-httplib) ------===//

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "serve/frontends.h"

namespace bathy::serve {

Frontend::~Frontend() = default;

int HttpStatus(const absl::Status &s) {
  switch (s.code()) {
  case absl::StatusCode::kOk: return 200;
  case absl::StatusCode::kInvalidArgument:
  case absl::StatusCode::kFailedPrecondition:
  case absl::StatusCode::kOutOfRange: return 400;
  case absl::StatusCode::kUnauthenticated: return 401;
  case absl::StatusCode::kPermissionDenied: return 403;
  case absl::StatusCode::kNotFound: return 404;
  case absl::StatusCode::kResourceExhausted: return 429;
  case absl::StatusCode::kUnavailable: return 503;
  case absl::StatusCode::kDeadlineExceeded: return 504;
  case absl::StatusCode::kUnimplemented: return 501;
  default: return 500;
  }
}

namespace {

using Clock = std::chrono::steady_clock;

std::string ErrorJson(absl::string_view message) {
  return absl::StrCat("{\"error\":", JsonString(message), "}");
}

void ReplyError(httplib::Response &res, const absl::Status &s) {
  res.status = HttpStatus(s);
  if (res.status == 401)
    res.set_header("WWW-Authenticate", "Bearer");
  res.set_content(ErrorJson(s.message()), "application/json");
}

std::string Client(const httplib::Request &req) {
  std::string c = absl::StrCat(req.remote_addr, ":", req.remote_port);
  if (req.ssl) {
    if (X509 *cert = SSL_get_peer_certificate(req.ssl)) {
      char name[256];
      X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof name);
      absl::StrAppend(&c, " cert=", name);
      X509_free(cert);
    }
  }
  return c;
}

std::string TensorMetadataJson(const rt::TensorSpec &s) {
  std::string shape = "[";
  for (size_t d = 0; d < s.shape.size(); ++d)
    absl::StrAppend(&shape, d ? "," : "", s.shape[d] < 0 ? -1 : s.shape[d]);
  shape += "]";
  return absl::StrCat("{\"name\":", JsonString(s.name), ",\"datatype\":\"",
                      KServeDatatype(s.dtype), "\",\"shape\":", shape, "}");
}

/// Triton's model configuration: dims without the batch dim when the model
/// batches (max_batch_size > 0).
std::string ConfigJson(const LoadedModel &m) {
  int64_t max_batch = m.batch_dim.empty() ? 0 : m.config.batcher.max_batch_size;
  auto dims = [&](const rt::TensorSpec &s) {
    std::string out = "[";
    bool first = true;
    for (size_t d = max_batch > 0 ? 1 : 0; d < s.shape.size(); ++d) {
      absl::StrAppend(&out, first ? "" : ",", s.shape[d] < 0 ? -1 : s.shape[d]);
      first = false;
    }
    return out + "]";
  };
  std::string in, out;
  for (const rt::TensorSpec &s : m.inputs())
    absl::StrAppend(&in, in.empty() ? "" : ",", "{\"name\":", JsonString(s.name),
                    ",\"data_type\":\"", TritonDataType(s.dtype),
                    "\",\"dims\":", dims(s), "}");
  for (const rt::TensorSpec &s : m.outputs())
    absl::StrAppend(&out, out.empty() ? "" : ",",
                    "{\"name\":", JsonString(s.name), ",\"data_type\":\"",
                    TritonDataType(s.dtype), "\",\"dims\":", dims(s), "}");
  std::string preferred = "[";
  for (size_t i = 0; i < m.config.batcher.preferred_batch_sizes.size(); ++i)
    absl::StrAppend(&preferred, i ? "," : "",
                    m.config.batcher.preferred_batch_sizes[i]);
  preferred += "]";
  std::string j = absl::StrCat(
      "{\"name\":", JsonString(m.name), ",\"platform\":\"bathy\",\"backend\":"
      "\"bathy\",\"max_batch_size\":", max_batch, ",\"input\":[", in,
      "],\"output\":[", out, "]");
  if (max_batch > 0)
    absl::StrAppend(&j, ",\"dynamic_batching\":{\"preferred_batch_size\":",
                    preferred, ",\"max_queue_delay_microseconds\":",
                    m.config.batcher.max_queue_delay_us,
                    ",\"priority_levels\":", m.config.batcher.priority_levels,
                    ",\"default_priority_level\":",
                    m.config.batcher.default_priority, "}");
  return j + "}";
}

class HttpFrontend : public Frontend {
public:
  HttpFrontend(Server &server, TransportOptions options)
      : server_(server), options_(std::move(options)) {}
  ~HttpFrontend() override { Stop(); }

  absl::Status Start() {
    if (!options_.tls_cert.empty()) {
      auto ssl = std::make_unique<httplib::SSLServer>(
          options_.tls_cert.c_str(), options_.tls_key.c_str(),
          options_.tls_client_ca.empty() ? nullptr
                                         : options_.tls_client_ca.c_str());
      if (!ssl->is_valid())
        return absl::InvalidArgumentError(absl::StrCat(
            "TLS: cannot use the certificate '", options_.tls_cert,
            "' with the key '", options_.tls_key, "'",
            options_.tls_client_ca.empty()
                ? ""
                : absl::StrCat(" and client CA '", options_.tls_client_ca, "'")));
      // TLS 1.3 only.
      SSL_CTX_set_min_proto_version(ssl->ssl_context(), TLS1_3_VERSION);
      svr_ = std::move(ssl);
    } else {
      svr_ = std::make_unique<httplib::Server>();
    }
    httplib::Server &s = *svr_;
    int threads = options_.threads;
    s.new_task_queue = [threads] {
      return new httplib::ThreadPool(static_cast<size_t>(threads));
    };
    s.set_payload_max_length(options_.max_body_bytes);
    s.set_read_timeout(options_.read_timeout_s, 0);
    s.set_write_timeout(options_.read_timeout_s, 0);
    s.set_keep_alive_timeout(std::max(1, options_.read_timeout_s));
    s.set_error_handler([](const httplib::Request &req, httplib::Response &res) {
      if (res.body.empty()) {
        std::string msg;
        switch (res.status) {
        case 404: msg = absl::StrCat("no such endpoint: ", req.method, " ", req.path.substr(0, 128)); break;
        case 413: msg = "the request body is over the server's limit (--max-request-bytes)"; break;
        case 400: msg = "malformed HTTP request"; break;
        default: msg = absl::StrCat("HTTP ", res.status);
        }
        res.set_content(ErrorJson(msg), "application/json");
      }
    });
    s.set_exception_handler([](const httplib::Request &, httplib::Response &res,
                               std::exception_ptr ep) {
      std::string what = "internal error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception &e) {
        what = absl::StrCat("internal error: ", e.what());
      } catch (...) {
      }
      res.status = 500;
      res.set_content(ErrorJson(what), "application/json");
    });
    Routes();
    if (options_.port == 0) {
      port_ = s.bind_to_any_port(options_.host);
      if (port_ <= 0)
        return absl::UnavailableError(
            absl::StrCat("HTTP: cannot listen on ", options_.host));
    } else {
      if (!s.bind_to_port(options_.host, options_.port))
        return absl::UnavailableError(absl::StrCat(
            "HTTP: cannot listen on ", options_.host, ":", options_.port,
            " (in use?)"));
      port_ = options_.port;
    }
    thread_ = std::thread([this] { svr_->listen_after_bind(); });
    return absl::OkStatus();
  }

  int port() const override { return port_; }

  void Stop() override {
    if (svr_ && thread_.joinable()) {
      svr_->stop();
      thread_.join();
    }
  }

private:
  /// The identity of the request's token for `scope` on `model`, or an
  /// error reply (audited).
  std::optional<std::string> Authorize(const httplib::Request &req,
                                       httplib::Response &res,
                                       const std::string &model, Scope scope,
                                       const char *action) {
    absl::StatusOr<std::string> who = server_.tokens().Check(
        req.get_header_value("Authorization"), model, scope);
    if (who.ok())
      return *who;
    ReplyError(res, who.status());
    AuditRecord r;
    r.client = Client(req);
    r.identity = "?";
    r.model = model;
    r.action = action;
    r.outcome = "denied";
    r.status = res.status;
    r.detail = std::string(who.status().message());
    server_.audit().Write(r);
    return std::nullopt;
  }

  void Routes() {
    httplib::Server &s = *svr_;
    s.Get("/v2/health/live", [](const httplib::Request &, httplib::Response &res) {
      res.set_content("{\"live\":true}", "application/json");
    });
    s.Get("/v2/health/ready", [this](const httplib::Request &, httplib::Response &res) {
      bool ready = server_.Ready();
      res.status = ready ? 200 : 503;
      res.set_content(absl::StrCat("{\"ready\":", ready ? "true" : "false", "}"),
                      "application/json");
    });
    s.Get("/v2", [this](const httplib::Request &req, httplib::Response &res) {
      if (!Authorize(req, res, "*", Scope::kRead, "metadata"))
        return;
      res.set_content(absl::StrCat(
                          "{\"name\":\"bathy\",\"version\":\"", kVersion,
                          "\",\"extensions\":[\"binary_tensor_data\","
                          "\"model_repository\",\"model_configuration\"]}"),
                      "application/json");
    });
    s.Get("/metrics", [this](const httplib::Request &req, httplib::Response &res) {
      if (!Authorize(req, res, "*", Scope::kRead, "metrics"))
        return;
      res.set_content(server_.Metrics(), "text/plain; version=0.0.4");
    });
    const char *model = "/v2/models/([^/]+)";
    const char *version = "/v2/models/([^/]+)/versions/([^/]+)";
    for (const char *prefix : {model, version}) {
      std::string p = prefix;
      s.Get(p, [this](const httplib::Request &req, httplib::Response &res) {
        Metadata(req, res);
      });
      s.Get(p + "/ready", [this](const httplib::Request &req, httplib::Response &res) {
        ModelReady(req, res);
      });
      s.Get(p + "/config", [this](const httplib::Request &req, httplib::Response &res) {
        Config(req, res);
      });
      s.Post(p + "/infer", [this](const httplib::Request &req, httplib::Response &res) {
        Infer(req, res);
      });
    }
    s.Post("/v2/repository/index", [this](const httplib::Request &req,
                                           httplib::Response &res) {
      if (!Authorize(req, res, "*", Scope::kRead, "index"))
        return;
      std::string j = "[";
      bool first = true;
      for (const IndexEntry &e : server_.Index()) {
        absl::StrAppend(&j, first ? "" : ",", "{\"name\":", JsonString(e.name));
        if (!e.version.empty())
          absl::StrAppend(&j, ",\"version\":", JsonString(e.version));
        absl::StrAppend(&j, ",\"state\":", JsonString(e.state));
        if (!e.reason.empty())
          absl::StrAppend(&j, ",\"reason\":", JsonString(e.reason));
        j += "}";
        first = false;
      }
      res.set_content(j + "]", "application/json");
    });
    for (const char *op : {"load", "unload"}) {
      std::string action = op;
      s.Post(absl::StrCat("/v2/repository/models/([^/]+)/", op),
             [this, action](const httplib::Request &req, httplib::Response &res) {
               std::string m = req.matches[1];
               auto who = Authorize(req, res, m, Scope::kAdmin, action.c_str());
               if (!who)
                 return;
               auto start = Clock::now();
               absl::Status st = action == "load" ? server_.Load(m)
                                                  : server_.Unload(m);
               AuditRecord r;
               r.client = Client(req);
               r.identity = *who;
               r.model = m;
               r.action = "repository_" + action;
               r.outcome = st.ok() ? "ok" : "failed";
               r.detail = std::string(st.message());
               r.latency_ms =
                   std::chrono::duration<double>(Clock::now() - start).count() * 1e3;
               if (!st.ok()) {
                 ReplyError(res, st);
               } else {
                 res.set_content("{}", "application/json");
               }
               r.status = res.status;
               server_.audit().Write(r);
             });
    }
  }

  std::shared_ptr<LoadedModel> FindOrReply(const httplib::Request &req,
                                           httplib::Response &res) {
    std::string version = req.matches.size() > 2 ? std::string(req.matches[2]) : "";
    absl::StatusOr<std::shared_ptr<LoadedModel>> m =
        server_.Find(req.matches[1], version);
    if (!m.ok()) {
      ReplyError(res, m.status());
      return nullptr;
    }
    return *m;
  }

  void Metadata(const httplib::Request &req, httplib::Response &res) {
    if (!Authorize(req, res, req.matches[1], Scope::kRead, "metadata"))
      return;
    std::shared_ptr<LoadedModel> m = FindOrReply(req, res);
    if (!m)
      return;
    std::string in, out;
    for (const rt::TensorSpec &s : m->inputs())
      absl::StrAppend(&in, in.empty() ? "" : ",", TensorMetadataJson(s));
    for (const rt::TensorSpec &s : m->outputs())
      absl::StrAppend(&out, out.empty() ? "" : ",", TensorMetadataJson(s));
    res.set_content(absl::StrCat("{\"name\":", JsonString(m->name),
                                 ",\"versions\":[", JsonString(m->version_text),
                                 "],\"platform\":\"bathy\",\"inputs\":[", in,
                                 "],\"outputs\":[", out, "]}"),
                    "application/json");
  }

  void ModelReady(const httplib::Request &req, httplib::Response &res) {
    if (!Authorize(req, res, req.matches[1], Scope::kRead, "ready"))
      return;
    std::shared_ptr<LoadedModel> m = FindOrReply(req, res);
    if (!m)
      return;
    res.set_content("{\"ready\":true}", "application/json");
  }

  void Config(const httplib::Request &req, httplib::Response &res) {
    if (!Authorize(req, res, req.matches[1], Scope::kRead, "config"))
      return;
    std::shared_ptr<LoadedModel> m = FindOrReply(req, res);
    if (!m)
      return;
    res.set_content(ConfigJson(*m), "application/json");
  }

  void Infer(const httplib::Request &req, httplib::Response &res) {
    auto start = Clock::now();
    std::string model = req.matches[1];
    AuditRecord r;
    r.client = Client(req);
    r.model = model;
    r.action = "infer";
    r.bytes_in = req.body.size();
    std::optional<std::string> who =
        Authorize(req, res, model, Scope::kInfer, "infer");
    if (!who)
      return;
    r.identity = *who;
    auto finish = [&](const absl::Status &st) {
      if (!st.ok())
        ReplyError(res, st);
      r.status = res.status;
      r.outcome = st.ok() ? "ok" : "failed";
      if (!st.ok())
        r.detail = std::string(st.message());
      r.latency_ms =
          std::chrono::duration<double>(Clock::now() - start).count() * 1e3;
      server_.audit().Write(r);
    };
    std::shared_ptr<LoadedModel> m = FindOrReply(req, res);
    if (!m) {
      r.status = res.status;
      r.outcome = "failed";
      server_.audit().Write(r);
      return;
    }
    r.version = m->version_text;
    std::optional<uint64_t> json_length;
    if (req.has_header("Inference-Header-Content-Length")) {
      uint64_t n;
      std::string v = req.get_header_value("Inference-Header-Content-Length");
      if (!absl::SimpleAtoi(v, &n))
        return finish(absl::InvalidArgumentError(absl::StrCat(
            "Inference-Header-Content-Length '", v.substr(0, 32),
            "' is not a byte count")));
      json_length = n;
    }
    absl::StatusOr<InferRequest> request = DecodeJsonRequest(
        req.body, json_length, m->inputs(), m->batch_dim, m->config.limits);
    if (!request.ok())
      return finish(request.status());
    if (auto sel = SelectOutputs(request->outputs, m->outputs()); !sel.ok())
      return finish(sel.status());
    BatchInfo info;
    absl::StatusOr<std::vector<rt::HostTensor>> outputs =
        server_.Infer(*m, *request, &info);
    if (!outputs.ok())
      return finish(outputs.status());
    absl::StatusOr<EncodedResponse> enc = EncodeJsonResponse(
        m->name, m->version_text, *request, m->outputs(), *outputs);
    if (!enc.ok())
      return finish(enc.status());
    r.bytes_out = enc->body.size();
    if (enc->has_binary) {
      res.set_header("Inference-Header-Content-Length",
                     std::to_string(enc->json_length));
      res.set_content(std::move(enc->body), "application/octet-stream");
    } else {
      res.set_content(std::move(enc->body), "application/json");
    }
    finish(absl::OkStatus());
  }

  static constexpr const char *kVersion = "0.1.0";
  Server &server_;
  TransportOptions options_;
  std::unique_ptr<httplib::Server> svr_;
  std::thread thread_;
  int port_ = 0;
};

} // namespace

absl::StatusOr<std::unique_ptr<Frontend>> StartHttp(Server &server,
                                                    TransportOptions options) {
  auto f = std::make_unique<HttpFrontend>(server, std::move(options));
  if (absl::Status s = f->Start(); !s.ok())
    return s;
  return std::unique_ptr<Frontend>(std::move(f));
}

} // namespace bathy::serve
