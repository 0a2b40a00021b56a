//===- grpc.cc - The KServe v2 protocol over gRPC (gRPC C++) --------------===//

#include <chrono>
#include <cstring>
#include <limits>
#include <type_traits>

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/file.h"
#include "serve/frontends.h"
#include "serve/kserve.grpc.pb.h"

namespace bathy::serve {
namespace {

using Clock = std::chrono::steady_clock;

grpc::Status ToGrpc(const absl::Status &s) {
  if (s.ok())
    return grpc::Status::OK;
  grpc::StatusCode code;
  switch (s.code()) {
  case absl::StatusCode::kInvalidArgument: code = grpc::INVALID_ARGUMENT; break;
  case absl::StatusCode::kFailedPrecondition: code = grpc::FAILED_PRECONDITION; break;
  case absl::StatusCode::kOutOfRange: code = grpc::OUT_OF_RANGE; break;
  case absl::StatusCode::kUnauthenticated: code = grpc::UNAUTHENTICATED; break;
  case absl::StatusCode::kPermissionDenied: code = grpc::PERMISSION_DENIED; break;
  case absl::StatusCode::kNotFound: code = grpc::NOT_FOUND; break;
  case absl::StatusCode::kResourceExhausted: code = grpc::RESOURCE_EXHAUSTED; break;
  case absl::StatusCode::kUnavailable: code = grpc::UNAVAILABLE; break;
  case absl::StatusCode::kDeadlineExceeded: code = grpc::DEADLINE_EXCEEDED; break;
  case absl::StatusCode::kUnimplemented: code = grpc::UNIMPLEMENTED; break;
  default: code = grpc::INTERNAL; break;
  }
  return grpc::Status(code, std::string(s.message()));
}

inference::DataType TritonType(rt::DType d) {
  inference::DataType t = inference::TYPE_INVALID;
  inference::DataType_Parse(TritonDataType(d), &t);
  return t;
}

/// Typed contents into `t` (checked count and range).
template <typename From, typename To>
absl::Status CopyContents(const google::protobuf::RepeatedField<From> &src,
                          rt::HostTensor &t, const std::string &name) {
  if (static_cast<int64_t>(src.size()) != t.num_elements())
    return absl::InvalidArgumentError(absl::StrCat(
        "input '", name, "': contents have ", src.size(), " elements; shape ",
        rt::ShapeToString(t.shape()), " holds ", t.num_elements()));
  To *dst = t.data_as<To>();
  for (int i = 0; i < src.size(); ++i) {
    From v = src.Get(i);
    if constexpr (std::is_integral_v<To>) {
      bool out_of_range;
      if constexpr (std::is_signed_v<From>)
        out_of_range =
            static_cast<int64_t>(v) <
                static_cast<int64_t>(std::numeric_limits<To>::min()) ||
            (v > 0 && static_cast<uint64_t>(v) >
                          static_cast<uint64_t>(std::numeric_limits<To>::max()));
      else
        out_of_range = static_cast<uint64_t>(v) >
                       static_cast<uint64_t>(std::numeric_limits<To>::max());
      if (out_of_range)
        return absl::InvalidArgumentError(
            absl::StrCat("input '", name, "': element ", i, " (", v,
                         ") is out of range"));
    }
    dst[i] = static_cast<To>(v);
  }
  return absl::OkStatus();
}

absl::Status ReadContents(const inference::InferTensorContents &c,
                          rt::HostTensor &t, const std::string &name) {
  using rt::DType;
  switch (t.dtype()) {
  case DType::kBool: {
    if (static_cast<int64_t>(c.bool_contents_size()) != t.num_elements())
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", name, "': contents have ", c.bool_contents_size(),
          " elements; shape ", rt::ShapeToString(t.shape()), " holds ",
          t.num_elements()));
    for (int i = 0; i < c.bool_contents_size(); ++i)
      t.data_as<uint8_t>()[i] = c.bool_contents(i) ? 1 : 0;
    return absl::OkStatus();
  }
  case DType::kI8: return CopyContents<int32_t, int8_t>(c.int_contents(), t, name);
  case DType::kI16: return CopyContents<int32_t, int16_t>(c.int_contents(), t, name);
  case DType::kI32: return CopyContents<int32_t, int32_t>(c.int_contents(), t, name);
  case DType::kI64: return CopyContents<int64_t, int64_t>(c.int64_contents(), t, name);
  case DType::kU8: return CopyContents<uint32_t, uint8_t>(c.uint_contents(), t, name);
  case DType::kU16: return CopyContents<uint32_t, uint16_t>(c.uint_contents(), t, name);
  case DType::kU32: return CopyContents<uint32_t, uint32_t>(c.uint_contents(), t, name);
  case DType::kU64: return CopyContents<uint64_t, uint64_t>(c.uint64_contents(), t, name);
  case DType::kF32: return CopyContents<float, float>(c.fp32_contents(), t, name);
  case DType::kF64: return CopyContents<double, double>(c.fp64_contents(), t, name);
  default:
    return absl::InvalidArgumentError(absl::StrCat(
        "input '", name, "': ", KServeDatatype(t.dtype()),
        " data must come in raw_input_contents"));
  }
}

uint64_t UnsignedParameter(const inference::InferParameter &p) {
  switch (p.parameter_choice_case()) {
  case inference::InferParameter::kInt64Param:
    return p.int64_param() > 0 ? static_cast<uint64_t>(p.int64_param()) : 0;
  case inference::InferParameter::kUint64Param: return p.uint64_param();
  default: return 0;
  }
}

absl::StatusOr<InferRequest> Decode(const inference::ModelInferRequest &in,
                                    const LoadedModel &m) {
  const std::vector<rt::TensorSpec> &specs = m.inputs();
  InferRequest req;
  req.id = in.id().substr(0, 256);
  for (const auto &[k, v] : in.parameters()) {
    if (k == "priority")
      req.priority = UnsignedParameter(v);
    else if (k == "timeout")
      req.timeout_us = UnsignedParameter(v);
  }
  bool raw = in.raw_input_contents_size() > 0;
  if (raw && in.raw_input_contents_size() != in.inputs_size())
    return absl::InvalidArgumentError(absl::StrCat(
        "the request has ", in.inputs_size(), " inputs but ",
        in.raw_input_contents_size(), " raw_input_contents"));
  std::vector<bool> seen(specs.size(), false);
  req.inputs.resize(specs.size());
  for (int i = 0; i < in.inputs_size(); ++i) {
    const auto &x = in.inputs(i);
    InputHeader h;
    h.name = x.name();
    h.datatype = x.datatype();
    if (x.shape_size() > 32)
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", h.name.substr(0, 64), "': shape has more than 32 dims"));
    h.shape.assign(x.shape().begin(), x.shape().end());
    auto input = CheckAndAllocateInput(h, specs, m.batch_dim, m.config.limits,
                                       seen, req.input_bytes);
    if (!input.ok())
      return input.status();
    size_t index = input->first;
    rt::HostTensor *t = &input->second;
    if (raw) {
      const std::string &bytes = in.raw_input_contents(i);
      if (bytes.size() != t->size_bytes())
        return absl::InvalidArgumentError(absl::StrCat(
            "input '", h.name, "': raw_input_contents has ", bytes.size(),
            " bytes; shape ", rt::ShapeToString(h.shape), " of ", h.datatype,
            " is ", t->size_bytes()));
      if (!bytes.empty())
        std::memcpy(t->data(), bytes.data(), bytes.size());
    } else if (absl::Status s = ReadContents(x.contents(), *t, h.name);
               !s.ok()) {
      return s;
    }
    req.inputs[index] = std::move(*t);
  }
  if (absl::Status s = CheckAllInputsGiven(specs, seen); !s.ok())
    return s;
  for (const auto &o : in.outputs()) {
    RequestedOutput r;
    r.name = o.name();
    req.outputs.push_back(std::move(r));
  }
  if (absl::StatusOr<std::vector<size_t>> sel =
          SelectOutputs(req.outputs, m.outputs());
      !sel.ok())
    return sel.status();
  return req;
}

class Service final : public inference::GRPCInferenceService::Service {
public:
  explicit Service(Server &server) : server_(server) {}

  grpc::Status ServerLive(grpc::ServerContext *, const inference::ServerLiveRequest *,
                          inference::ServerLiveResponse *r) override {
    r->set_live(true);
    return grpc::Status::OK;
  }
  grpc::Status ServerReady(grpc::ServerContext *, const inference::ServerReadyRequest *,
                           inference::ServerReadyResponse *r) override {
    r->set_ready(server_.Ready());
    return grpc::Status::OK;
  }
  grpc::Status ModelReady(grpc::ServerContext *ctx,
                          const inference::ModelReadyRequest *q,
                          inference::ModelReadyResponse *r) override {
    if (auto who = Authorize(ctx, q->name(), Scope::kRead, "ready"); !who.ok())
      return ToGrpc(who.status());
    r->set_ready(server_.Find(q->name(), q->version()).ok());
    return grpc::Status::OK;
  }
  grpc::Status ServerMetadata(grpc::ServerContext *ctx,
                              const inference::ServerMetadataRequest *,
                              inference::ServerMetadataResponse *r) override {
    if (auto who = Authorize(ctx, "*", Scope::kRead, "metadata"); !who.ok())
      return ToGrpc(who.status());
    r->set_name("bathy");
    r->set_version("0.1.0");
    r->add_extensions("binary_tensor_data");
    r->add_extensions("model_repository");
    r->add_extensions("model_configuration");
    return grpc::Status::OK;
  }
  grpc::Status ModelMetadata(grpc::ServerContext *ctx,
                             const inference::ModelMetadataRequest *q,
                             inference::ModelMetadataResponse *r) override {
    if (auto who = Authorize(ctx, q->name(), Scope::kRead, "metadata"); !who.ok())
      return ToGrpc(who.status());
    absl::StatusOr<std::shared_ptr<LoadedModel>> m =
        server_.Find(q->name(), q->version());
    if (!m.ok())
      return ToGrpc(m.status());
    r->set_name((*m)->name);
    r->add_versions((*m)->version_text);
    r->set_platform("bathy");
    auto fill = [](const rt::TensorSpec &s,
                   inference::ModelMetadataResponse::TensorMetadata *t) {
      t->set_name(s.name);
      t->set_datatype(KServeDatatype(s.dtype));
      for (int64_t d : s.shape)
        t->add_shape(d < 0 ? -1 : d);
    };
    for (const rt::TensorSpec &s : (*m)->inputs())
      fill(s, r->add_inputs());
    for (const rt::TensorSpec &s : (*m)->outputs())
      fill(s, r->add_outputs());
    return grpc::Status::OK;
  }
  grpc::Status ModelConfig(grpc::ServerContext *ctx,
                           const inference::ModelConfigRequest *q,
                           inference::ModelConfigResponse *r) override {
    if (auto who = Authorize(ctx, q->name(), Scope::kRead, "config"); !who.ok())
      return ToGrpc(who.status());
    absl::StatusOr<std::shared_ptr<LoadedModel>> found =
        server_.Find(q->name(), q->version());
    if (!found.ok())
      return ToGrpc(found.status());
    const LoadedModel &m = **found;
    inference::ModelConfig *c = r->mutable_config();
    int64_t max_batch = m.batch_dim.empty() ? 0 : m.config.batcher.max_batch_size;
    c->set_name(m.name);
    c->set_platform("bathy");
    c->set_backend("bathy");
    c->set_max_batch_size(static_cast<int32_t>(max_batch));
    for (const rt::TensorSpec &s : m.inputs()) {
      inference::ModelInput *in = c->add_input();
      in->set_name(s.name);
      in->set_data_type(TritonType(s.dtype));
      for (size_t d = max_batch > 0 ? 1 : 0; d < s.shape.size(); ++d)
        in->add_dims(s.shape[d] < 0 ? -1 : s.shape[d]);
    }
    for (const rt::TensorSpec &s : m.outputs()) {
      inference::ModelOutput *out = c->add_output();
      out->set_name(s.name);
      out->set_data_type(TritonType(s.dtype));
      for (size_t d = max_batch > 0 ? 1 : 0; d < s.shape.size(); ++d)
        out->add_dims(s.shape[d] < 0 ? -1 : s.shape[d]);
    }
    if (max_batch > 0) {
      inference::ModelDynamicBatching *b = c->mutable_dynamic_batching();
      for (int64_t p : m.config.batcher.preferred_batch_sizes)
        b->add_preferred_batch_size(static_cast<int32_t>(p));
      b->set_max_queue_delay_microseconds(m.config.batcher.max_queue_delay_us);
      b->set_priority_levels(m.config.batcher.priority_levels);
      b->set_default_priority_level(m.config.batcher.default_priority);
    }
    return grpc::Status::OK;
  }
  grpc::Status ModelInfer(grpc::ServerContext *ctx,
                          const inference::ModelInferRequest *q,
                          inference::ModelInferResponse *r) override {
    auto start = Clock::now();
    AuditRecord rec;
    rec.client = ctx->peer();
    rec.model = q->model_name();
    rec.action = "infer";
    rec.bytes_in = q->ByteSizeLong();
    auto finish = [&](const absl::Status &st) {
      rec.status = HttpStatus(st);
      rec.outcome = st.ok() ? "ok" : "failed";
      if (!st.ok())
        rec.detail = std::string(st.message());
      rec.latency_ms =
          std::chrono::duration<double>(Clock::now() - start).count() * 1e3;
      server_.audit().Write(rec);
      return ToGrpc(st);
    };
    absl::StatusOr<std::string> who =
        Authorize(ctx, q->model_name(), Scope::kInfer, nullptr);
    if (!who.ok()) {
      rec.identity = "?";
      rec.outcome = "denied";
      rec.status = HttpStatus(who.status());
      rec.detail = std::string(who.status().message());
      server_.audit().Write(rec);
      return ToGrpc(who.status());
    }
    rec.identity = *who;
    absl::StatusOr<std::shared_ptr<LoadedModel>> found =
        server_.Find(q->model_name(), q->model_version());
    if (!found.ok())
      return finish(found.status());
    LoadedModel &m = **found;
    rec.version = m.version_text;
    absl::StatusOr<InferRequest> req = Decode(*q, m);
    if (!req.ok())
      return finish(req.status());
    BatchInfo info;
    absl::StatusOr<std::vector<rt::HostTensor>> outputs =
        server_.Infer(m, *req, &info);
    if (!outputs.ok())
      return finish(outputs.status());
    absl::StatusOr<std::vector<size_t>> sel =
        SelectOutputs(req->outputs, m.outputs());
    if (!sel.ok())
      return finish(sel.status());
    r->set_model_name(m.name);
    r->set_model_version(m.version_text);
    r->set_id(req->id);
    for (size_t i : *sel) {
      const rt::HostTensor &t = (*outputs)[i];
      auto *o = r->add_outputs();
      o->set_name(m.outputs()[i].name);
      o->set_datatype(KServeDatatype(t.dtype()));
      for (int64_t d : t.shape())
        o->add_shape(d);
      r->add_raw_output_contents(reinterpret_cast<const char *>(t.data()),
                                 t.size_bytes());
    }
    rec.bytes_out = r->ByteSizeLong();
    return finish(absl::OkStatus());
  }
  grpc::Status RepositoryIndex(grpc::ServerContext *ctx,
                               const inference::RepositoryIndexRequest *q,
                               inference::RepositoryIndexResponse *r) override {
    if (auto who = Authorize(ctx, "*", Scope::kRead, "index"); !who.ok())
      return ToGrpc(who.status());
    for (const IndexEntry &e : server_.Index()) {
      if (q->ready() && e.state != "READY")
        continue;
      auto *m = r->add_models();
      m->set_name(e.name);
      m->set_version(e.version);
      m->set_state(e.state);
      m->set_reason(e.reason);
    }
    return grpc::Status::OK;
  }
  grpc::Status RepositoryModelLoad(grpc::ServerContext *ctx,
                                   const inference::RepositoryModelLoadRequest *q,
                                   inference::RepositoryModelLoadResponse *) override {
    return Repository(ctx, q->model_name(), true);
  }
  grpc::Status RepositoryModelUnload(grpc::ServerContext *ctx,
                                     const inference::RepositoryModelUnloadRequest *q,
                                     inference::RepositoryModelUnloadResponse *) override {
    return Repository(ctx, q->model_name(), false);
  }

private:
  grpc::Status Repository(grpc::ServerContext *ctx, const std::string &model,
                          bool load) {
    const char *action = load ? "repository_load" : "repository_unload";
    absl::StatusOr<std::string> who =
        Authorize(ctx, model, Scope::kAdmin, action);
    if (!who.ok())
      return ToGrpc(who.status());
    auto start = Clock::now();
    absl::Status st = load ? server_.Load(model) : server_.Unload(model);
    AuditRecord rec;
    rec.client = ctx->peer();
    rec.identity = *who;
    rec.model = model;
    rec.action = action;
    rec.outcome = st.ok() ? "ok" : "failed";
    rec.status = HttpStatus(st);
    rec.detail = std::string(st.message());
    rec.latency_ms =
        std::chrono::duration<double>(Clock::now() - start).count() * 1e3;
    server_.audit().Write(rec);
    return ToGrpc(st);
  }

  /// The caller's identity; a refusal is audited when `action` is given.
  absl::StatusOr<std::string> Authorize(grpc::ServerContext *ctx,
                                        const std::string &model, Scope scope,
                                        const char *action) {
    std::string header;
    auto it = ctx->client_metadata().find("authorization");
    if (it != ctx->client_metadata().end())
      header.assign(it->second.data(), it->second.size());
    absl::StatusOr<std::string> who =
        server_.tokens().Check(header, model, scope);
    if (!who.ok() && action) {
      AuditRecord r;
      r.client = ctx->peer();
      r.identity = "?";
      r.model = model;
      r.action = action;
      r.outcome = "denied";
      r.status = HttpStatus(who.status());
      r.detail = std::string(who.status().message());
      server_.audit().Write(r);
    }
    return who;
  }

  Server &server_;
};

class GrpcFrontend : public Frontend {
public:
  GrpcFrontend(Server &server, TransportOptions options)
      : service_(server), options_(std::move(options)) {}
  ~GrpcFrontend() override { Stop(); }

  absl::Status Start() {
    std::shared_ptr<grpc::ServerCredentials> creds;
    if (!options_.tls_cert.empty()) {
      auto read = [](const std::string &path) -> absl::StatusOr<std::string> {
        return rt::ReadRegularFile(path, 1 << 20);
      };
      absl::StatusOr<std::string> cert = read(options_.tls_cert),
                                  key = read(options_.tls_key);
      if (!cert.ok())
        return cert.status();
      if (!key.ok())
        return key.status();
      grpc::SslServerCredentialsOptions o(
          GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
      o.pem_key_cert_pairs.push_back({*key, *cert});
      if (!options_.tls_client_ca.empty()) {
        absl::StatusOr<std::string> ca = read(options_.tls_client_ca);
        if (!ca.ok())
          return ca.status();
        o.pem_root_certs = *ca;
        o.client_certificate_request =
            GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
      }
      creds = grpc::SslServerCredentials(o);
    } else {
      creds = grpc::InsecureServerCredentials();
    }
    grpc::ServerBuilder b;
    b.AddListeningPort(absl::StrCat(options_.host, ":", options_.port), creds,
                       &port_);
    b.RegisterService(&service_);
    b.SetMaxReceiveMessageSize(
        static_cast<int>(std::min<uint64_t>(options_.max_body_bytes, INT32_MAX)));
    b.SetMaxSendMessageSize(INT32_MAX);
    grpc::ResourceQuota quota("bathy-serve");
    quota.SetMaxThreads(std::max(4, options_.threads));
    b.SetResourceQuota(quota);
    server_ = b.BuildAndStart();
    if (!server_ || port_ == 0)
      return absl::UnavailableError(absl::StrCat(
          "gRPC: cannot listen on ", options_.host, ":", options_.port,
          " (in use?)"));
    return absl::OkStatus();
  }

  int port() const override { return port_; }
  void Stop() override {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
      server_->Wait();
      server_.reset();
    }
  }

private:
  Service service_;
  TransportOptions options_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

} // namespace

absl::StatusOr<std::unique_ptr<Frontend>> StartGrpc(Server &server,
                                                    TransportOptions options) {
  auto f = std::make_unique<GrpcFrontend>(server, std::move(options));
  if (absl::Status s = f->Start(); !s.ok())
    return s;
  return std::unique_ptr<Frontend>(std::move(f));
}

} // namespace bathy::serve
