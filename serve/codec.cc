//===- codec.cc - KServe v2 inference requests in and responses out -------===//

#include "serve/codec.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "simdjson.h"

namespace bathy::serve {
namespace {

using rt::DType;

struct NameOf {
  DType dtype;
  const char *name;
};
constexpr NameOf kNames[] = {
    {DType::kBool, "BOOL"},  {DType::kU8, "UINT8"},   {DType::kU16, "UINT16"},
    {DType::kU32, "UINT32"}, {DType::kU64, "UINT64"}, {DType::kI8, "INT8"},
    {DType::kI16, "INT16"},  {DType::kI32, "INT32"},  {DType::kI64, "INT64"},
    {DType::kF16, "FP16"},   {DType::kF32, "FP32"},   {DType::kF64, "FP64"},
    {DType::kBF16, "BF16"},
};

absl::Status Bad(absl::string_view what) {
  return absl::InvalidArgumentError(std::string(what));
}

float HalfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31, exp = (h >> 10) & 0x1f,
           mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      bits = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float BFloat16ToFloat(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// Writes JSON elements into a tensor of a known element count.
class ElementWriter {
public:
  ElementWriter(rt::HostTensor &t, const std::string &input)
      : t_(t), input_(input) {}

  absl::Status Add(simdjson::dom::element e) {
    if (e.is_array()) {
      // Nested arrays are the same elements, row-major.
      simdjson::dom::array items;
      if (e.get_array().get(items))
        return Bad(absl::StrCat("input '", input_, "': malformed 'data'"));
      for (simdjson::dom::element child : items)
        if (absl::Status s = Add(child); !s.ok())
          return s;
      return absl::OkStatus();
    }
    if (n_ >= t_.num_elements())
      return Bad(absl::StrCat("input '", input_, "': 'data' has more than the ",
                              t_.num_elements(), " elements its shape holds"));
    int64_t i = n_++;
    DType d = t_.dtype();
    if (d == DType::kBool) {
      bool b;
      if (e.get_bool().get(b) != simdjson::SUCCESS)
        return Wrong(i, "true or false");
      t_.data_as<uint8_t>()[i] = b ? 1 : 0;
      return absl::OkStatus();
    }
    if (d == DType::kF32 || d == DType::kF64 || d == DType::kF16 ||
        d == DType::kBF16) {
      double v;
      if (e.is_int64())
        v = static_cast<double>(e.get_int64().value_unsafe());
      else if (e.is_uint64())
        v = static_cast<double>(e.get_uint64().value_unsafe());
      else if (e.get_double().get(v) != simdjson::SUCCESS)
        return Wrong(i, "a number");
      switch (d) {
      case DType::kF32:
        t_.data_as<float>()[i] = static_cast<float>(v);
        break;
      case DType::kF64:
        t_.data_as<double>()[i] = v;
        break;
      case DType::kF16:
        t_.data_as<uint16_t>()[i] = rt::FloatToHalf(static_cast<float>(v));
        break;
      default:
        t_.data_as<uint16_t>()[i] = rt::FloatToBFloat16(static_cast<float>(v));
        break;
      }
      return absl::OkStatus();
    }
    // Integers: exact, and in the type's range.
    if (d == DType::kU64) {
      uint64_t u;
      if (e.is_int64() && e.get_int64().value_unsafe() >= 0)
        u = static_cast<uint64_t>(e.get_int64().value_unsafe());
      else if (e.get_uint64().get(u) != simdjson::SUCCESS)
        return Wrong(i, "an integer in [0, 2^64)");
      t_.data_as<uint64_t>()[i] = u;
      return absl::OkStatus();
    }
    int64_t v;
    if (e.get_int64().get(v) != simdjson::SUCCESS)
      return Wrong(i, "an integer");
    int64_t lo, hi;
    switch (d) {
    case DType::kI8: lo = INT8_MIN; hi = INT8_MAX; break;
    case DType::kU8: lo = 0; hi = UINT8_MAX; break;
    case DType::kI16: lo = INT16_MIN; hi = INT16_MAX; break;
    case DType::kU16: lo = 0; hi = UINT16_MAX; break;
    case DType::kI32: lo = INT32_MIN; hi = INT32_MAX; break;
    case DType::kU32: lo = 0; hi = UINT32_MAX; break;
    default: lo = INT64_MIN; hi = INT64_MAX; break;
    }
    if (v < lo || v > hi)
      return Bad(absl::StrCat("input '", input_, "': element ", i, " (", v,
                              ") is out of range for ",
                              KServeDatatype(d)));
    switch (d) {
    case DType::kI8: t_.data_as<int8_t>()[i] = static_cast<int8_t>(v); break;
    case DType::kU8: t_.data_as<uint8_t>()[i] = static_cast<uint8_t>(v); break;
    case DType::kI16: t_.data_as<int16_t>()[i] = static_cast<int16_t>(v); break;
    case DType::kU16: t_.data_as<uint16_t>()[i] = static_cast<uint16_t>(v); break;
    case DType::kI32: t_.data_as<int32_t>()[i] = static_cast<int32_t>(v); break;
    case DType::kU32: t_.data_as<uint32_t>()[i] = static_cast<uint32_t>(v); break;
    default: t_.data_as<int64_t>()[i] = v; break;
    }
    return absl::OkStatus();
  }

  absl::Status Finish() const {
    if (n_ != t_.num_elements())
      return Bad(absl::StrCat("input '", input_, "': 'data' has ", n_,
                              " elements; its shape ",
                              rt::ShapeToString(t_.shape()), " holds ",
                              t_.num_elements()));
    return absl::OkStatus();
  }

private:
  absl::Status Wrong(int64_t i, const char *want) const {
    return Bad(absl::StrCat("input '", input_, "': element ", i, " is not ",
                            want, " (", KServeDatatype(t_.dtype()), ")"));
  }
  rt::HostTensor &t_;
  const std::string &input_;
  int64_t n_ = 0;
};

/// An unsigned integer parameter (JSON integer >= 0).
absl::StatusOr<uint64_t> UnsignedParam(simdjson::dom::element e,
                                       absl::string_view what) {
  if (e.is_int64() && e.get_int64().value_unsafe() >= 0)
    return static_cast<uint64_t>(e.get_int64().value_unsafe());
  uint64_t u;
  if (e.get_uint64().get(u) == simdjson::SUCCESS)
    return u;
  return Bad(absl::StrCat("'", what, "' must be a non-negative integer"));
}

absl::Status Field(const char *what) {
  return Bad(absl::StrCat("the request's ", what));
}

void AppendDouble(std::string &out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "Infinity" : "-Infinity";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void AppendFloat(std::string &out, float v) {
  if (std::isnan(v) || std::isinf(v)) {
    AppendDouble(out, v);
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void AppendElements(std::string &out, const rt::HostTensor &t) {
  int64_t n = t.num_elements();
  out += '[';
  for (int64_t i = 0; i < n; ++i) {
    if (i)
      out += ',';
    switch (t.dtype()) {
    case DType::kBool: out += t.data_as<uint8_t>()[i] ? "true" : "false"; break;
    case DType::kI8: absl::StrAppend(&out, t.data_as<int8_t>()[i]); break;
    case DType::kU8: absl::StrAppend(&out, t.data_as<uint8_t>()[i]); break;
    case DType::kI16: absl::StrAppend(&out, t.data_as<int16_t>()[i]); break;
    case DType::kU16: absl::StrAppend(&out, t.data_as<uint16_t>()[i]); break;
    case DType::kI32: absl::StrAppend(&out, t.data_as<int32_t>()[i]); break;
    case DType::kU32: absl::StrAppend(&out, t.data_as<uint32_t>()[i]); break;
    case DType::kI64: absl::StrAppend(&out, t.data_as<int64_t>()[i]); break;
    case DType::kU64: absl::StrAppend(&out, t.data_as<uint64_t>()[i]); break;
    case DType::kF16: AppendFloat(out, HalfToFloat(t.data_as<uint16_t>()[i])); break;
    case DType::kBF16: AppendFloat(out, BFloat16ToFloat(t.data_as<uint16_t>()[i])); break;
    case DType::kF32: AppendFloat(out, t.data_as<float>()[i]); break;
    case DType::kF64: AppendDouble(out, t.data_as<double>()[i]); break;
    }
  }
  out += ']';
}

std::string ShapeJson(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    absl::StrAppend(&s, i ? "," : "", shape[i]);
  return s + "]";
}

} // namespace

const char *KServeDatatype(DType dtype) {
  for (const NameOf &n : kNames)
    if (n.dtype == dtype)
      return n.name;
  return "UNKNOWN";
}

absl::StatusOr<DType> DTypeFromKServe(absl::string_view name) {
  for (const NameOf &n : kNames)
    if (name == n.name)
      return n.dtype;
  if (name == "BYTES")
    return Bad("datatype BYTES (strings) is not supported by bathy models");
  return Bad(absl::StrCat("unknown datatype '", name.substr(0, 32), "'"));
}

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  return out + "\"";
}

absl::StatusOr<size_t>
CheckInputHeader(const InputHeader &h, const std::vector<rt::TensorSpec> &specs,
                 const std::string &batch_dim, const RequestLimits &limits,
                 std::vector<bool> &seen, uint64_t &request_bytes) {
  size_t index = specs.size();
  for (size_t i = 0; i < specs.size(); ++i)
    if (specs[i].name == h.name)
      index = i;
  std::string shown = h.name.substr(0, 64);
  if (index == specs.size()) {
    std::string names;
    for (const rt::TensorSpec &s : specs)
      absl::StrAppend(&names, names.empty() ? "" : ", ", s.name);
    return Bad(absl::StrCat("unknown input '", shown, "' (the model's inputs: ",
                            names, ")"));
  }
  if (seen[index])
    return Bad(absl::StrCat("input '", shown, "' is given twice"));
  const rt::TensorSpec &spec = specs[index];
  absl::StatusOr<DType> dtype = DTypeFromKServe(h.datatype);
  if (!dtype.ok())
    return Bad(absl::StrCat("input '", shown, "': ", dtype.status().message()));
  if (*dtype != spec.dtype)
    return Bad(absl::StrCat("input '", shown, "' has datatype ", h.datatype,
                            "; the model takes ", KServeDatatype(spec.dtype)));
  if (h.shape.size() != spec.shape.size())
    return Bad(absl::StrCat("input '", shown, "' has shape ",
                            rt::ShapeToString(h.shape), " of rank ",
                            h.shape.size(), "; the model takes rank ",
                            spec.shape.size(), " (", rt::SpecToString(spec),
                            ")"));
  for (size_t d = 0; d < h.shape.size(); ++d) {
    if (h.shape[d] < 0)
      return Bad(absl::StrCat("input '", shown, "': dim ", d, " is ",
                              h.shape[d]));
    if (spec.shape[d] >= 0 && h.shape[d] != spec.shape[d])
      return Bad(absl::StrCat("input '", shown, "' has shape ",
                              rt::ShapeToString(h.shape), "; the model takes ",
                              rt::SpecToString(spec)));
    if (d < spec.dim_params.size() && !batch_dim.empty() &&
        spec.dim_params[d] == batch_dim && limits.max_batch > 0 &&
        h.shape[d] > limits.max_batch)
      return Bad(absl::StrCat("input '", shown, "': ", batch_dim, "=",
                              h.shape[d], " is over the model's max_batch_size ",
                              limits.max_batch));
  }
  absl::StatusOr<int64_t> n = rt::NumElements(h.shape);
  if (!n.ok())
    return Bad(absl::StrCat("input '", shown, "': ", n.status().message()));
  uint64_t size = rt::DTypeSize(spec.dtype);
  if (static_cast<uint64_t>(*n) > limits.max_tensor_bytes / size)
    return absl::ResourceExhaustedError(absl::StrCat(
        "input '", shown, "' of shape ", rt::ShapeToString(h.shape),
        " is over the model's limit of ", limits.max_tensor_bytes,
        " bytes per tensor"));
  uint64_t bytes = static_cast<uint64_t>(*n) * size;
  if (bytes > limits.max_request_bytes - std::min(request_bytes,
                                                  limits.max_request_bytes))
    return absl::ResourceExhaustedError(absl::StrCat(
        "the request's inputs are over the model's limit of ",
        limits.max_request_bytes, " bytes (at input '", shown, "')"));
  request_bytes += bytes;
  seen[index] = true;
  return index;
}

absl::StatusOr<std::pair<size_t, rt::HostTensor>>
CheckAndAllocateInput(const InputHeader &header,
                      const std::vector<rt::TensorSpec> &specs,
                      const std::string &batch_dim, const RequestLimits &limits,
                      std::vector<bool> &seen, uint64_t &request_bytes) {
  absl::StatusOr<size_t> index =
      CheckInputHeader(header, specs, batch_dim, limits, seen, request_bytes);
  if (!index.ok())
    return index.status();
  absl::StatusOr<rt::HostTensor> t =
      rt::HostTensor::Create(specs[*index].dtype, header.shape);
  if (!t.ok())
    return t.status();
  return std::make_pair(*index, std::move(*t));
}

const char *TritonDataType(DType d) {
  switch (d) {
  case DType::kBool: return "TYPE_BOOL";
  case DType::kU8: return "TYPE_UINT8";
  case DType::kU16: return "TYPE_UINT16";
  case DType::kU32: return "TYPE_UINT32";
  case DType::kU64: return "TYPE_UINT64";
  case DType::kI8: return "TYPE_INT8";
  case DType::kI16: return "TYPE_INT16";
  case DType::kI32: return "TYPE_INT32";
  case DType::kI64: return "TYPE_INT64";
  case DType::kF16: return "TYPE_FP16";
  case DType::kF32: return "TYPE_FP32";
  case DType::kF64: return "TYPE_FP64";
  case DType::kBF16: return "TYPE_BF16";
  }
  return "TYPE_INVALID";
}

absl::Status CheckAllInputsGiven(const std::vector<rt::TensorSpec> &specs,
                                 const std::vector<bool> &seen) {
  for (size_t i = 0; i < specs.size(); ++i)
    if (!seen[i])
      return Bad(absl::StrCat("the request has no input '", specs[i].name,
                              "' (", rt::SpecToString(specs[i]), ")"));
  return absl::OkStatus();
}

absl::StatusOr<InferRequest>
DecodeJsonRequest(absl::string_view body, std::optional<uint64_t> json_length,
                  const std::vector<rt::TensorSpec> &specs,
                  const std::string &batch_dim, const RequestLimits &limits) {
  absl::string_view json = body, tail;
  if (json_length) {
    if (*json_length > body.size())
      return Bad(absl::StrCat("Inference-Header-Content-Length is ",
                              *json_length, " but the body has ", body.size(),
                              " bytes"));
    json = body.substr(0, *json_length);
    tail = body.substr(*json_length);
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::padded_string padded(json.data(), json.size());
  if (auto err = parser.parse(padded).get(doc); err)
    return Bad(absl::StrCat("the request is not valid JSON: ",
                            simdjson::error_message(err)));
  simdjson::dom::object root;
  if (doc.get_object().get(root))
    return Field("body must be a JSON object");

  InferRequest req;
  uint64_t tail_used = 0;
  std::vector<bool> seen(specs.size(), false);
  req.inputs.resize(specs.size());
  bool have_inputs = false;
  for (auto [key, value] : root) {
    if (key == "id") {
      std::string_view id;
      if (value.get_string().get(id))
        return Field("'id' must be a string");
      req.id = std::string(id.substr(0, 256));
    } else if (key == "parameters") {
      simdjson::dom::object params;
      if (value.get_object().get(params))
        return Field("'parameters' must be an object");
      for (auto [pk, pv] : params) {
        if (pk == "binary_data_output") {
          bool b;
          if (pv.get_bool().get(b))
            return Field("'binary_data_output' must be true or false");
          req.binary_data_output = b;
        } else if (pk == "priority") {
          absl::StatusOr<uint64_t> p = UnsignedParam(pv, "priority");
          if (!p.ok())
            return p.status();
          req.priority = *p;
        } else if (pk == "timeout") {
          absl::StatusOr<uint64_t> t = UnsignedParam(pv, "timeout");
          if (!t.ok())
            return t.status();
          req.timeout_us = *t;
        }
        // Other parameters are the client's business (sequence ids, ...).
      }
    } else if (key == "inputs") {
      simdjson::dom::array inputs;
      if (value.get_array().get(inputs))
        return Field("'inputs' must be an array");
      have_inputs = true;
      for (simdjson::dom::element in : inputs) {
        simdjson::dom::object o;
        if (in.get_object().get(o))
          return Field("inputs must be objects");
        InputHeader h;
        std::string_view s;
        if (o["name"].get_string().get(s))
          return Field("inputs need a string 'name'");
        h.name = std::string(s);
        if (o["datatype"].get_string().get(s))
          return Bad(absl::StrCat("input '", h.name.substr(0, 64),
                                  "' needs a string 'datatype'"));
        h.datatype = std::string(s);
        simdjson::dom::array shape;
        if (o["shape"].get_array().get(shape))
          return Bad(absl::StrCat("input '", h.name.substr(0, 64),
                                  "' needs a 'shape' array"));
        for (simdjson::dom::element d : shape) {
          int64_t v;
          if (d.get_int64().get(v))
            return Bad(absl::StrCat("input '", h.name.substr(0, 64),
                                    "': shape dims must be integers"));
          if (h.shape.size() >= 32)
            return Bad(absl::StrCat("input '", h.name.substr(0, 64),
                                    "': shape has more than 32 dims"));
          h.shape.push_back(v);
        }
        auto input = CheckAndAllocateInput(h, specs, batch_dim, limits, seen,
                                           req.input_bytes);
        if (!input.ok())
          return input.status();
        size_t index = input->first;
        rt::HostTensor *t = &input->second;
        std::optional<uint64_t> binary_size;
        simdjson::dom::object ip;
        if (o["parameters"].get_object().get(ip) == simdjson::SUCCESS) {
          simdjson::dom::element bs;
          if (ip["binary_data_size"].get(bs) == simdjson::SUCCESS) {
            absl::StatusOr<uint64_t> b = UnsignedParam(bs, "binary_data_size");
            if (!b.ok())
              return b.status();
            binary_size = *b;
          }
        }
        simdjson::dom::element data;
        bool has_data = o["data"].get(data) == simdjson::SUCCESS;
        if (binary_size) {
          if (has_data)
            return Bad(absl::StrCat("input '", h.name,
                                    "' has both 'data' and binary_data_size"));
          if (*binary_size != t->size_bytes())
            return Bad(absl::StrCat("input '", h.name, "': binary_data_size is ",
                                    *binary_size, " bytes; shape ",
                                    rt::ShapeToString(h.shape), " of ",
                                    h.datatype, " is ", t->size_bytes()));
          if (*binary_size > tail.size() - tail_used)
            return Bad(absl::StrCat(
                "input '", h.name, "': binary_data_size ", *binary_size,
                " runs past the binary data (", tail.size() - tail_used,
                " bytes left)"));
          if (*binary_size)
            std::memcpy(t->data(), tail.data() + tail_used, *binary_size);
          tail_used += *binary_size;
        } else {
          if (!has_data)
            return Bad(absl::StrCat("input '", h.name,
                                    "' has neither 'data' nor "
                                    "binary_data_size"));
          ElementWriter w(*t, h.name);
          if (absl::Status st = w.Add(data); !st.ok())
            return st;
          if (absl::Status st = w.Finish(); !st.ok())
            return st;
        }
        req.inputs[index] = std::move(*t);
      }
    } else if (key == "outputs") {
      simdjson::dom::array outs;
      if (value.get_array().get(outs))
        return Field("'outputs' must be an array");
      for (simdjson::dom::element out : outs) {
        RequestedOutput r;
        std::string_view s;
        if (out["name"].get_string().get(s))
          return Field("outputs need a string 'name'");
        r.name = std::string(s);
        simdjson::dom::element b;
        if (out["parameters"]["binary_data"].get(b) == simdjson::SUCCESS) {
          bool v;
          if (b.get_bool().get(v))
            return Bad(absl::StrCat("output '", r.name,
                                    "': binary_data must be true or false"));
          r.binary = v;
        }
        req.outputs.push_back(std::move(r));
      }
    }
  }
  if (!have_inputs)
    return Field("body has no 'inputs'");
  if (absl::Status s = CheckAllInputsGiven(specs, seen); !s.ok())
    return s;
  if (tail_used != tail.size())
    return Bad(absl::StrCat("the request carries ", tail.size(),
                            " bytes of binary data; its inputs' "
                            "binary_data_size add up to ",
                            tail_used));
  return req;
}

absl::StatusOr<std::vector<size_t>>
SelectOutputs(const std::vector<RequestedOutput> &requested,
              const std::vector<rt::TensorSpec> &specs) {
  std::vector<size_t> out;
  if (requested.empty()) {
    for (size_t i = 0; i < specs.size(); ++i)
      out.push_back(i);
    return out;
  }
  std::vector<bool> taken(specs.size(), false);
  for (const RequestedOutput &r : requested) {
    size_t i = 0;
    while (i < specs.size() && specs[i].name != r.name)
      ++i;
    if (i == specs.size())
      return Bad(absl::StrCat("unknown output '", r.name.substr(0, 64), "'"));
    if (taken[i])
      return Bad(absl::StrCat("output '", r.name, "' is asked for twice"));
    taken[i] = true;
    out.push_back(i);
  }
  return out;
}

absl::StatusOr<EncodedResponse>
EncodeJsonResponse(const std::string &model, const std::string &version,
                   const InferRequest &request,
                   const std::vector<rt::TensorSpec> &specs,
                   const std::vector<rt::HostTensor> &outputs) {
  absl::StatusOr<std::vector<size_t>> sel =
      SelectOutputs(request.outputs, specs);
  if (!sel.ok())
    return sel.status();
  EncodedResponse r;
  std::string tail;
  std::string &j = r.body;
  j = absl::StrCat("{\"model_name\":", JsonString(model),
                   ",\"model_version\":", JsonString(version));
  if (!request.id.empty())
    absl::StrAppend(&j, ",\"id\":", JsonString(request.id));
  j += ",\"outputs\":[";
  for (size_t k = 0; k < sel->size(); ++k) {
    size_t i = (*sel)[k];
    const rt::HostTensor &t = outputs[i];
    bool binary = request.binary_data_output;
    if (request.outputs.size() > k && request.outputs[k].binary)
      binary = *request.outputs[k].binary;
    absl::StrAppend(&j, k ? "," : "", "{\"name\":", JsonString(specs[i].name),
                    ",\"datatype\":\"", KServeDatatype(t.dtype()),
                    "\",\"shape\":", ShapeJson(t.shape()));
    if (binary) {
      absl::StrAppend(&j, ",\"parameters\":{\"binary_data_size\":",
                      t.size_bytes(), "}}");
      tail.append(reinterpret_cast<const char *>(t.data()), t.size_bytes());
      r.has_binary = true;
    } else {
      j += ",\"data\":";
      AppendElements(j, t);
      j += "}";
    }
  }
  j += "]}";
  r.json_length = j.size();
  j += tail;
  return r;
}

} // namespace bathy::serve
