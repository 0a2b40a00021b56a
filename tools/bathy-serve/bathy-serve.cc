//===- bathy-serve.cc - The KServe v2 inference server --------------------===//
//
// Serves the .bathy artifacts of a model repository over HTTP/REST and
// gRPC (the KServe v2 / Open Inference Protocol, as Triton's clients speak
// it). Runtime only: no LLVM, MLIR or ONNX in the process. The logic lives
// in serve/; this is flags and signals.
//
//===----------------------------------------------------------------------===//

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/cpu/thread_pool.h"
#include "runtime/file.h"
#include "runtime/memory.h"
#include "serve/frontends.h"

namespace {

const char kHelp[] =
    "usage: bathy-serve --model-repository=DIR [options]\n"
    "\n"
    "Serves the models of DIR (DIR/<model>/<version>/model.bathy, an optional\n"
    "DIR/<model>/config.json) over the KServe v2 protocol: HTTP/REST and gRPC,\n"
    "as Triton Inference Server's clients (tritonclient, perf_analyzer) and the\n"
    "kserve SDK speak it. See docs/serving.md.\n"
    "\n"
    "Listening:\n"
    "  --host=ADDR                  address to listen on (127.0.0.1; 0.0.0.0 for\n"
    "                               all interfaces)\n"
    "  --http-port=N                HTTP port (8000; 0: any free port; -1: off)\n"
    "  --grpc-port=N                gRPC port (8001; 0: any free port; -1: off)\n"
    "  --port-file=FILE             write {\"http\": N, \"grpc\": N} once listening\n"
    "  --http-threads=N             connection threads per transport (64)\n"
    "  --read-timeout-s=N           drop an HTTP client silent this long (30)\n"
    "  --max-request-bytes=BYTES    largest request body / gRPC message (64M)\n"
    "Security:\n"
    "  --tls-cert=PEM --tls-key=PEM serve TLS (HTTP: TLS 1.3 only)\n"
    "  --tls-client-ca=PEM          and require client certificates it signed\n"
    "  --tokens=FILE                bearer tokens with per-model read/infer/admin\n"
    "                               scopes (JSON; docs/serving.md)\n"
    "  --trusted-key=PEM            load only artifacts this Ed25519 key signed\n"
    "  --audit-log=PATH             audit log (JSON lines)\n"
    "  --audit-rotation-interval=S  rotate it every S seconds (0: never)\n"
    "  --audit-max-size=BYTES       or when it would pass BYTES (0: never)\n"
    "  --audit-retention-days=D     delete rotated logs older than D days\n"
    "Models:\n"
    "  --poll-secs=S                look for new versions every S seconds and swap\n"
    "                               them in (0: only through the repository API)\n"
    "  --max-memory=BYTES           most tensor memory all requests may hold\n"
    "  --threads=N                  compute threads (all cores)\n"
    "Batching (defaults for models whose config.json leaves them out):\n"
    "  --max-batch-size=N           rows per batch (8; 1: no batching)\n"
    "  --preferred-batch-sizes=A,B  send a batch as soon as it has one of these\n"
    "                               (default: the artifact's batch buckets)\n"
    "  --max-queue-delay-us=N       wait at most this for a batch to fill (500)\n"
    "  --max-queue-size=N           queued requests per model before 429 (1024)\n"
    "  --priority-levels=N          priority queues (1; 1 is the highest, requests\n"
    "                               naming none get the lowest)\n"
    "  --default-timeout-us=N       a request's queue timeout if it sets none\n"
    "  --instances=N                batches computed at once per model (1)\n"
    "  --prefetch-batches=N         batches gathered ahead while one computes (1)\n"
    "  --latency-target-ms=MS       adapt the batch size to load to meet MS\n"
    "  --cpu-affinity=LIST          pin the batch workers (\"0-3,8\"); for the\n"
    "                               compute pool, start under taskset\n"
    "\n"
    "  --help, --version\n"
    "SIGTERM or SIGINT: stop accepting, finish requests in flight, exit 0.\n";

int Fail(const std::string &message) {
  std::cerr << "bathy-serve: " << message << "\n";
  return 2;
}

bool Value(const std::string &arg, const char *name, std::string &out) {
  std::string prefix = absl::StrCat("--", name, "=");
  if (arg.compare(0, prefix.size(), prefix) != 0)
    return false;
  out = arg.substr(prefix.size());
  return true;
}

bool Int(const std::string &s, int64_t &out, int64_t lo, int64_t hi) {
  return absl::SimpleAtoi(s, &out) && out >= lo && out <= hi;
}

bool CpuList(const std::string &s, std::vector<int> &out) {
  for (absl::string_view part : absl::StrSplit(s, ',')) {
    std::vector<std::string> ends = absl::StrSplit(part, '-');
    int a, b;
    // cpu_set_t holds CPU_SETSIZE CPUs.
    if (ends.size() == 1 && absl::SimpleAtoi(ends[0], &a) && a >= 0 &&
        a < CPU_SETSIZE) {
      out.push_back(a);
    } else if (ends.size() == 2 && absl::SimpleAtoi(ends[0], &a) &&
               absl::SimpleAtoi(ends[1], &b) && a >= 0 && a <= b &&
               b < CPU_SETSIZE) {
      for (int c = a; c <= b; ++c)
        out.push_back(c);
    } else {
      return false;
    }
  }
  return !out.empty();
}

} // namespace

int main(int argc, char **argv) {
  using namespace bathy;
  // SIGTERM and SIGINT are taken by sigwait below; every thread (the
  // compute pool, the batchers, the transports) inherits the blocked mask,
  // so none of them is killed by one.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  serve::ServerOptions options;
  serve::TransportOptions http, grpc;
  http.port = 8000;
  grpc.port = 8001;
  serve::AuditOptions audit;
  std::string tokens_path, port_file, trusted_key;
  int64_t threads = 0;
  serve::ModelConfig &d = options.defaults;
  d.batcher.max_batch_size = 8;
  d.limits.max_batch = 8;
  d.batcher.max_queue_delay_us = 500;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], v;
    int64_t n = 0;
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return 0;
    } else if (a == "--version") {
      std::cout << "bathy-serve 0.1.0\n";
      return 0;
    } else if (Value(a, "model-repository", v)) {
      options.repository = v;
    } else if (Value(a, "host", v)) {
      http.host = grpc.host = v;
    } else if (Value(a, "http-port", v) && Int(v, n, -1, 65535)) {
      http.port = static_cast<int>(n);
    } else if (Value(a, "grpc-port", v) && Int(v, n, -1, 65535)) {
      grpc.port = static_cast<int>(n);
    } else if (Value(a, "port-file", v)) {
      port_file = v;
    } else if (Value(a, "http-threads", v) && Int(v, n, 1, 4096)) {
      http.threads = grpc.threads = static_cast<int>(n);
    } else if (Value(a, "read-timeout-s", v) && Int(v, n, 1, 3600)) {
      http.read_timeout_s = static_cast<int>(n);
    } else if (Value(a, "max-request-bytes", v)) {
      int64_t bytes = 0;
      if (absl::Status s = rt::ParseByteSize(v, &bytes); !s.ok() || bytes <= 0)
        return Fail("--max-request-bytes: expects a size such as 64M");
      http.max_body_bytes = grpc.max_body_bytes = static_cast<uint64_t>(bytes);
      d.limits.max_request_bytes =
          std::min<uint64_t>(d.limits.max_request_bytes, bytes);
      d.limits.max_tensor_bytes =
          std::min<uint64_t>(d.limits.max_tensor_bytes, bytes);
    } else if (Value(a, "tls-cert", v)) {
      http.tls_cert = grpc.tls_cert = v;
    } else if (Value(a, "tls-key", v)) {
      http.tls_key = grpc.tls_key = v;
    } else if (Value(a, "tls-client-ca", v)) {
      http.tls_client_ca = grpc.tls_client_ca = v;
    } else if (Value(a, "tokens", v)) {
      tokens_path = v;
    } else if (Value(a, "trusted-key", v)) {
      trusted_key = v;
    } else if (Value(a, "audit-log", v)) {
      audit.log_path = v;
    } else if (Value(a, "audit-rotation-interval", v) &&
               absl::SimpleAtod(v, &audit.rotation_interval_s) &&
               audit.rotation_interval_s >= 0) {
    } else if (Value(a, "audit-max-size", v)) {
      int64_t bytes = 0;
      if (absl::Status s = rt::ParseByteSize(v, &bytes); !s.ok())
        return Fail("--audit-max-size: expects a size such as 100M");
      audit.max_size = static_cast<uint64_t>(bytes);
    } else if (Value(a, "audit-retention-days", v) &&
               absl::SimpleAtod(v, &audit.retention_days) &&
               audit.retention_days >= 0) {
    } else if (Value(a, "poll-secs", v) &&
               absl::SimpleAtod(v, &options.poll_seconds) &&
               options.poll_seconds >= 0) {
    } else if (Value(a, "max-memory", v)) {
      int64_t bytes = 0;
      if (absl::Status s = rt::ParseByteSize(v, &bytes); !s.ok())
        return Fail("--max-memory: " + std::string(s.message()));
      rt::SetMemoryLimit(bytes);
    } else if (Value(a, "threads", v) && Int(v, n, 1, 1024)) {
      threads = n;
    } else if (Value(a, "max-batch-size", v) && Int(v, n, 1, 1 << 16)) {
      d.batcher.max_batch_size = n;
      d.limits.max_batch = n;
    } else if (Value(a, "preferred-batch-sizes", v)) {
      for (absl::string_view p : absl::StrSplit(v, ',')) {
        int64_t b;
        if (!absl::SimpleAtoi(p, &b) || b < 1)
          return Fail("--preferred-batch-sizes: expects sizes such as 4,8");
        d.batcher.preferred_batch_sizes.push_back(b);
      }
      d.preferred_given = true;
    } else if (Value(a, "max-queue-delay-us", v) && Int(v, n, 0, 60'000'000)) {
      d.batcher.max_queue_delay_us = static_cast<uint64_t>(n);
    } else if (Value(a, "max-queue-size", v) && Int(v, n, 1, 1 << 20)) {
      d.batcher.max_queue_size = static_cast<uint32_t>(n);
    } else if (Value(a, "priority-levels", v) && Int(v, n, 1, 16)) {
      d.batcher.priority_levels = static_cast<uint32_t>(n);
      d.batcher.default_priority = static_cast<uint32_t>(n);
    } else if (Value(a, "default-timeout-us", v) &&
               Int(v, n, 0, 3'600'000'000)) {
      d.batcher.default_timeout_us = static_cast<uint64_t>(n);
    } else if (Value(a, "instances", v) && Int(v, n, 1, 64)) {
      d.batcher.instances = static_cast<uint32_t>(n);
    } else if (Value(a, "prefetch-batches", v) && Int(v, n, 1, 64)) {
      d.batcher.prefetch_batches = static_cast<uint32_t>(n);
    } else if (Value(a, "latency-target-ms", v) &&
               absl::SimpleAtod(v, &d.batcher.latency_target_ms) &&
               d.batcher.latency_target_ms >= 0) {
    } else if (Value(a, "cpu-affinity", v)) {
      if (!CpuList(v, d.batcher.cpu_affinity))
        return Fail("--cpu-affinity: expects CPUs such as 0-3,8");
    } else {
      return Fail("unknown or malformed argument '" + a.substr(0, 200) +
                  "' (see --help)");
    }
  }
  if (options.repository.empty())
    return Fail("--model-repository=DIR is required (see --help)");
  if (http.tls_cert.empty() != http.tls_key.empty())
    return Fail("--tls-cert and --tls-key go together");
  if (!http.tls_client_ca.empty() && http.tls_cert.empty())
    return Fail("--tls-client-ca needs --tls-cert and --tls-key");
  if (http.port < 0 && grpc.port < 0)
    return Fail("both transports are off (--http-port=-1 --grpc-port=-1)");
  if (threads > 0)
    rt::ThreadPool::SetDefaultThreads(static_cast<int>(threads));
  if (!trusted_key.empty()) {
    absl::StatusOr<std::string> pem = rt::ReadRegularFile(trusted_key, 1 << 16);
    if (!pem.ok())
      return Fail("--trusted-key: " + std::string(pem.status().message()));
    options.trusted_key_pem = *pem;
  }
  serve::TokenTable tokens;
  if (!tokens_path.empty()) {
    absl::StatusOr<std::string> text = rt::ReadRegularFile(tokens_path, 1 << 22);
    if (!text.ok())
      return Fail("--tokens: " + std::string(text.status().message()));
    absl::StatusOr<serve::TokenTable> t =
        serve::TokenTable::Parse(*text, tokens_path);
    if (!t.ok())
      return Fail(std::string(t.status().message()));
    tokens = std::move(*t);
  }
  absl::StatusOr<std::unique_ptr<serve::AuditLog>> log =
      serve::AuditLog::Open(audit);
  if (!log.ok())
    return Fail(std::string(log.status().message()));

  options.log = [](const std::string &m) {
    std::cerr << "bathy-serve: " << m << "\n";
  };
  absl::StatusOr<std::unique_ptr<serve::Server>> server =
      serve::Server::Create(options, std::move(*log), std::move(tokens));
  if (!server.ok())
    return Fail(std::string(server.status().message()));
  if (!(*server)->tokens().enabled())
    std::cerr << "bathy-serve: no --tokens: every client may read, infer and "
                 "load/unload models\n";
  std::unique_ptr<serve::Frontend> h, g;
  if (http.port >= 0) {
    absl::StatusOr<std::unique_ptr<serve::Frontend>> f =
        serve::StartHttp(**server, http);
    if (!f.ok())
      return Fail(std::string(f.status().message()));
    h = std::move(*f);
  }
  if (grpc.port >= 0) {
    absl::StatusOr<std::unique_ptr<serve::Frontend>> f =
        serve::StartGrpc(**server, grpc);
    if (!f.ok())
      return Fail(std::string(f.status().message()));
    g = std::move(*f);
  }
  const char *scheme = http.tls_cert.empty() ? "" : " (TLS)";
  std::cerr << "bathy-serve: serving " << options.repository;
  if (h)
    std::cerr << "; HTTP" << scheme << " on " << http.host << ":" << h->port();
  if (g)
    std::cerr << "; gRPC" << scheme << " on " << grpc.host << ":" << g->port();
  std::cerr << std::endl;
  if (!port_file.empty()) {
    std::string text = absl::StrCat("{\"http\": ", h ? h->port() : -1,
                                    ", \"grpc\": ", g ? g->port() : -1, "}\n");
    std::string dir = ".", name = port_file;
    if (size_t slash = port_file.rfind('/'); slash != std::string::npos) {
      dir = port_file.substr(0, slash);
      name = port_file.substr(slash + 1);
    }
    if (absl::Status s = rt::WriteFileAtomically(dir, name, text); !s.ok())
      return Fail("--port-file: " + std::string(s.message()));
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cerr << "bathy-serve: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
            << ": finishing requests in flight" << std::endl;
  (*server)->BeginShutdown();
  if (h)
    h->Stop();
  if (g)
    g->Stop();
  server->reset();
  std::cerr << "bathy-serve: stopped" << std::endl;
  return 0;
}
