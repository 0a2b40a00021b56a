//===- serve_test.cc - The server's request decoding, tokens, audit log ---===//

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <utime.h>

#include "gtest/gtest.h"
#include "serve/audit.h"
#include "serve/auth.h"
#include "serve/batcher.h"
#include "serve/codec.h"
#include "serve/server.h"

namespace bathy::serve {
namespace {

std::vector<rt::TensorSpec> Specs() {
  rt::TensorSpec a{"x", rt::DType::kF32, {-1, 3}, {"batch", ""}};
  rt::TensorSpec b{"ids", rt::DType::kI8, {-1}, {"batch"}};
  return {a, b};
}

absl::StatusOr<InferRequest> Decode(const std::string &body,
                                    std::optional<uint64_t> len = std::nullopt) {
  RequestLimits limits;
  limits.max_batch = 4;
  limits.max_tensor_bytes = 1024;
  return DecodeJsonRequest(body, len, Specs(), "batch", limits);
}

TEST(Codec, DecodesJsonAndBinary) {
  auto r = Decode(R"({"id":"7","inputs":[
      {"name":"x","datatype":"FP32","shape":[2,3],"data":[[1,2,3],[4,5,6.5]]},
      {"name":"ids","datatype":"INT8","shape":[2],"data":[-128,127]}],
      "parameters":{"priority":2,"timeout":100}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, "7");
  EXPECT_EQ(r->priority, 2u);
  EXPECT_EQ(r->timeout_us, 100u);
  EXPECT_FLOAT_EQ(r->inputs[0].data_as<float>()[5], 6.5f);
  EXPECT_EQ(r->inputs[1].data_as<int8_t>()[0], -128);

  std::string json = R"({"inputs":[
      {"name":"ids","datatype":"INT8","shape":[2],"parameters":{"binary_data_size":2}},
      {"name":"x","datatype":"FP32","shape":[1,3],"data":[0,0,0]}]})";
  std::string body = json + std::string("\x05\x06", 2);
  auto b = Decode(body, json.size());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->inputs[1].data_as<int8_t>()[1], 6);
}

TEST(Codec, RefusesHostileRequests) {
  const char *x = R"({"name":"x","datatype":"FP32","shape":[1,3],"data":[1,2,3]})";
  const char *ids = R"({"name":"ids","datatype":"INT8","shape":[1],"data":[1]})";
  auto with = [&](const std::string &a, const std::string &b) {
    return absl::StrCat("{\"inputs\":[", a, ",", b, "]}");
  };
  struct Case {
    std::string body;
    const char *message;
  } cases[] = {
      {"{", "not valid JSON"},
      {"[]", "JSON object"},
      {"{\"inputs\":[]}", "no input 'x'"},
      {with(x, x), "given twice"},
      {with(x, R"({"name":"y","datatype":"INT8","shape":[1],"data":[1]})"), "unknown input 'y'"},
      {with(x, R"({"name":"ids","datatype":"INT16","shape":[1],"data":[1]})"), "the model takes INT8"},
      {with(x, R"({"name":"ids","datatype":"INT8","shape":[1,1],"data":[1]})"), "rank"},
      {with(x, R"({"name":"ids","datatype":"INT8","shape":[-1],"data":[1]})"), "is -1"},
      {with(x, R"({"name":"ids","datatype":"INT8","shape":[1],"data":[300]})"), "out of range"},
      {with(x, R"({"name":"ids","datatype":"INT8","shape":[1],"data":[1.5]})"), "not an integer"},
      {with(x, R"({"name":"ids","datatype":"INT8","shape":[2],"data":[1]})"), "has 1 elements"},
      {with(x, R"({"name":"ids","datatype":"INT8","shape":[1],"data":[1,2]})"), "more than"},
      {with(x, R"({"name":"ids","datatype":"INT8","shape":[5],"data":[1,2,3,4,5]})"), "max_batch_size"},
      {with(R"({"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]})", ids), "the model takes"},
      {with(R"({"name":"x","datatype":"FP32","shape":[1,3],"data":[1,"a",3]})", ids), "not a number"},
      {with(R"({"name":"x","datatype":"FP32","shape":[3037000500,3037000500],"data":[]})", ids), "x"},
      {with(x, R"({"name":"ids","datatype":"INT8","shape":[1],"parameters":{"binary_data_size":1}})"), "runs past"},
      {with(x, R"({"name":"ids","datatype":"BYTES","shape":[1],"data":["a"]})"), "BYTES"},
  };
  for (const Case &c : cases) {
    auto r = Decode(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_NE(std::string(r.status().message()).find(c.message), std::string::npos)
        << c.body << " -> " << r.status();
  }
  // Binary sizes must add up to the tail exactly, and match the shape.
  std::string json = absl::StrCat("{\"inputs\":[", x,
      R"(,{"name":"ids","datatype":"INT8","shape":[1],"parameters":{"binary_data_size":1}}]})");
  EXPECT_FALSE(Decode(json + "ab", json.size()).ok());
  EXPECT_FALSE(Decode(json, json.size() + 1).ok());
  EXPECT_TRUE(Decode(json + "a", json.size()).ok());
  // Over the per-tensor limit (1024 bytes) before anything is allocated.
  auto big = Decode(with(R"({"name":"x","datatype":"FP32","shape":[4,1000000],"data":[]})", ids));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Codec, EncodesJsonAndBinaryOutputs) {
  std::vector<rt::TensorSpec> specs = {{"y", rt::DType::kF32, {2}, {}},
                                       {"z", rt::DType::kI64, {1}, {}}};
  std::vector<rt::HostTensor> outs;
  outs.push_back(*rt::HostTensor::Create(rt::DType::kF32, {2}));
  outs.push_back(*rt::HostTensor::Create(rt::DType::kI64, {1}));
  outs[0].data_as<float>()[0] = 0.1f;
  outs[0].data_as<float>()[1] = -2.0f;
  outs[1].data_as<int64_t>()[0] = -5;
  InferRequest req;
  req.id = "a\"b";
  auto all = EncodeJsonResponse("m", "1", req, specs, outs);
  ASSERT_TRUE(all.ok());
  EXPECT_FALSE(all->has_binary);
  EXPECT_NE(all->body.find("\"data\":[0.1,-2]"), std::string::npos) << all->body;
  EXPECT_NE(all->body.find("\"id\":\"a\\\"b\""), std::string::npos);
  req.outputs.push_back({"z", true});
  auto one = EncodeJsonResponse("m", "1", req, specs, outs);
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(one->has_binary);
  EXPECT_EQ(one->body.size(), one->json_length + 8);
  EXPECT_EQ(one->body.find("\"y\""), std::string::npos);
  req.outputs.push_back({"nope", std::nullopt});
  EXPECT_FALSE(EncodeJsonResponse("m", "1", req, specs, outs).ok());
}

TEST(Auth, ScopesPerModel) {
  auto t = TokenTable::Parse(R"({"tokens":[
      {"identity":"reader","token":"read-token-0123456789","scopes":{"*":["read"],"bert":["infer"]}},
      {"identity":"ops","token_sha256":"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8","scopes":{"*":["admin"]}}]})",
                             "tokens.json");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->Check("", "bert", Scope::kRead).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(t->Check("Bearer wrong-token-000000000", "bert", Scope::kRead).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(*t->Check("Bearer read-token-0123456789", "resnet", Scope::kRead), "reader");
  EXPECT_EQ(t->Check("Bearer read-token-0123456789", "resnet", Scope::kInfer).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(t->Check("Bearer read-token-0123456789", "bert", Scope::kInfer).ok());
  // sha256("password"): admin implies the others.
  EXPECT_EQ(*t->Check("bearer password", "any", Scope::kInfer), "ops");
  EXPECT_FALSE(TokenTable::Parse(R"({"tokens":[{"identity":"a","token":"short","scopes":{}}]})", "f").ok());
  EXPECT_FALSE(TokenTable::Parse(R"({"tokens":[{"identity":"a","token":"0123456789abcdefg","scopes":{"*":["write"]}}]})", "f").ok());
}

TEST(Audit, RotatesBySizeAndRetains) {
  char tmpl[] = "/tmp/bathy-audit-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl, path = dir + "/audit.log";
  // An old rotated file: removed by retention at start.
  std::string old = path + ".20000101T000000.000000Z";
  std::ofstream(old) << "{}\n";
  struct utimbuf times = {1000000000, 1000000000};
  utime(old.c_str(), &times);
  AuditOptions o;
  o.log_path = path;
  o.max_size = 400;
  o.retention_days = 30;
  auto log = AuditLog::Open(o);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ((*log)->removed(), 1u);
  for (int i = 0; i < 10; ++i) {
    AuditRecord r;
    r.action = "infer";
    r.model = "m\"x";
    r.outcome = "ok";
    (*log)->Write(r);
  }
  int rotated = 0;
  std::string cmd = "ls " + dir + " | grep -c 'audit.log.'";
  FILE *p = popen(cmd.c_str(), "r");
  ASSERT_EQ(fscanf(p, "%d", &rotated), 1);
  pclose(p);
  EXPECT_GE(rotated, 2);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_LE(st.st_size, 400);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::system(("rm -rf " + dir).c_str());
}

TEST(Batcher, AdaptiveCapFitsTheTarget) {
  // 1 ms fixed + 1 ms per row, a row every 1 ms, a 10 ms target:
  // (b - 1) * 1 ms + 1 ms + b ms <= 10 ms  =>  b = 5, 0 ms left.
  AdaptiveChoice c = ChooseAdaptive(0.001, 0.001, 1000, 0.010, 64, 0);
  EXPECT_EQ(c.cap, 5);
  EXPECT_LE(c.delay_us, 4000u);
  // Slower arrivals: waiting to fill a batch costs more than it saves.
  EXPECT_EQ(ChooseAdaptive(0.001, 0.001, 50, 0.010, 64, 0).cap, 1);
  // Faster ones: bounded by max_batch_size.
  EXPECT_EQ(ChooseAdaptive(0.0, 0.0001, 1e6, 0.010, 8, 0).cap, 8);
  // A target that even one row misses: still one row, no delay.
  AdaptiveChoice late = ChooseAdaptive(0.020, 0.001, 1000, 0.010, 8, 0);
  EXPECT_EQ(late.cap, 1);
  EXPECT_EQ(late.delay_us, 0u);
  // The delay is what is left of the target, at most max_queue_delay_us.
  EXPECT_EQ(ChooseAdaptive(0.0, 0.001, 10, 0.050, 8, 2000).delay_us, 2000u);
}

TEST(Config, ParsesAndRefusesTypos) {
  ModelConfig d;
  auto c = ParseModelConfig(R"({"max_batch_size":4,"preferred_batch_sizes":[2,4],
      "priority_levels":2,"default_priority":2,"pad":["seq:mask=attention_mask"]})",
                            "config.json", d);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->batcher.max_batch_size, 4);
  EXPECT_EQ(c->pad.size(), 1u);
  EXPECT_FALSE(ParseModelConfig(R"({"max_batch":4})", "c", d).ok());
  EXPECT_FALSE(ParseModelConfig(R"({"max_batch_size":-1})", "c", d).ok());
  EXPECT_FALSE(ParseModelConfig(R"({"priority_levels":1,"default_priority":3})", "c", d).ok());
  EXPECT_FALSE(ValidModelName(".."));
  EXPECT_FALSE(ValidModelName("a/b"));
  EXPECT_FALSE(ValidModelName(".hidden"));
  EXPECT_TRUE(ValidModelName("bert-base_v1.2"));
}

} // namespace
} // namespace bathy::serve
