//===- plan.cc - The execution plan a compiled model runs as --------------===//
#include "runtime/plan.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace bathy::rt {

std::string SpecToString(const TensorSpec &spec) {
  std::vector<std::string> dims;
  for (size_t d = 0; d < spec.shape.size(); ++d) {
    if (spec.shape[d] >= 0)
      dims.push_back(absl::StrCat(spec.shape[d]));
    else if (d < spec.dim_params.size() && !spec.dim_params[d].empty())
      dims.push_back(spec.dim_params[d]);
    else
      dims.push_back("?");
  }
  return absl::StrCat(DTypeName(spec.dtype), "[", absl::StrJoin(dims, ", "),
                      "]");
}

std::set<std::string> DynamicDimNames(const std::vector<TensorSpec> &specs) {
  std::set<std::string> names;
  for (const TensorSpec &s : specs)
    for (size_t d = 0; d < s.shape.size() && d < s.dim_params.size(); ++d)
      if (s.shape[d] < 0 && !s.dim_params[d].empty())
        names.insert(s.dim_params[d]);
  return names;
}

absl::Status CheckInputs(const std::vector<TensorSpec> &specs,
                         const std::vector<const HostTensor *> &inputs) {
  if (inputs.size() != specs.size())
    return absl::InvalidArgumentError(absl::StrCat(
        "the model takes ", specs.size(), " inputs, got ", inputs.size()));
  std::map<std::string, std::pair<int64_t, std::string>> params;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec &spec = specs[i];
    const HostTensor &t = *inputs[i];
    if (t.dtype() != spec.dtype)
      return absl::InvalidArgumentError(
          absl::StrCat("input '", spec.name, "' must be ",
                       DTypeName(spec.dtype), ", got ", DTypeName(t.dtype())));
    if (t.rank() != static_cast<int64_t>(spec.shape.size()))
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", spec.name, "' must have rank ", spec.shape.size(),
          ", got shape ", ShapeToString(t.shape())));
    for (size_t d = 0; d < spec.shape.size(); ++d) {
      int64_t got = t.shape()[d];
      if (spec.shape[d] >= 0 && got != spec.shape[d])
        return absl::InvalidArgumentError(
            absl::StrCat("input '", spec.name, "' dim ", d, " must be ",
                         spec.shape[d], ", got ", got));
      const std::string &param =
          d < spec.dim_params.size() ? spec.dim_params[d] : std::string();
      if (param.empty())
        continue;
      auto [it, fresh] = params.try_emplace(param, got, spec.name);
      if (!fresh && it->second.first != got)
        return absl::InvalidArgumentError(
            absl::StrCat("input '", spec.name, "' dim ", d, " ('", param,
                         "') is ", got, " but input '", it->second.second,
                         "' has ", param, " = ", it->second.first));
    }
  }
  return absl::OkStatus();
}

AlignedBytes AlignedBytes::View(const uint8_t *data, size_t size) {
  AlignedBytes b;
  b.data = {const_cast<uint8_t *>(data), [](void *) {}};
  b.size = size;
  return b;
}

AlignedBytes AlignedBytes::Allocate(size_t size) {
  AlignedBytes b;
  // aligned_alloc wants a multiple of the alignment, and a zero-size
  // constant still needs an address.
  if (size > SIZE_MAX - 63)
    return b;
  size_t rounded = (size + 63) / 64 * 64;
  b.data = {
      static_cast<uint8_t *>(std::aligned_alloc(64, rounded ? rounded : 64)),
      std::free};
  if (b.data)
    b.size = size;
  return b;
}

namespace {
absl::Status Bad(const std::string &what) {
  return absl::InvalidArgumentError("malformed execution plan: " + what);
}

bool InRange(int64_t i, size_t n) {
  return i >= 0 && static_cast<uint64_t>(i) < n;
}

absl::Status CheckSpec(const TensorSpec &spec, const Plan::Value &v,
                       const std::string &role) {
  if (spec.dtype != v.dtype || spec.shape != v.shape)
    return Bad(absl::StrCat(role, " '", spec.name, "' is ",
                            DTypeName(spec.dtype), ShapeToString(spec.shape),
                            " but its value is ", DTypeName(v.dtype),
                            ShapeToString(v.shape)));
  return absl::OkStatus();
}
} // namespace

absl::Status Plan::Validate() const {
  using Kind = Value::Kind;
  for (size_t i = 0; i < values.size(); ++i) {
    const Value &v = values[i];
    for (int64_t d : v.shape)
      if (d < -1)
        return Bad(
            absl::StrCat("value ", i, " has shape ", ShapeToString(v.shape)));
  }
  if (inputs.size() != input_specs.size() ||
      outputs.size() != output_specs.size())
    return Bad("input or output specs do not match the values");
  for (size_t i = 0; i < inputs.size(); ++i) {
    int64_t v = inputs[i];
    if (!InRange(v, values.size()) || values[v].kind != Kind::kInput ||
        values[v].index != static_cast<int64_t>(i))
      return Bad(absl::StrCat("input ", i, " refers to value ", v,
                              ", which is not that input"));
    if (absl::Status s = CheckSpec(input_specs[i], values[v], "input"); !s.ok())
      return s;
  }
  for (size_t c = 0; c < constants.size(); ++c) {
    const Constant &k = constants[c];
    if (!InRange(k.value, values.size()) ||
        values[k.value].kind != Kind::kConstant ||
        values[k.value].index != static_cast<int64_t>(c))
      return Bad(absl::StrCat("constant ", c, " refers to value ", k.value,
                              ", which is not that constant"));
    const Value &v = values[k.value];
    absl::StatusOr<int64_t> count = NumElements(k.shape);
    if (!count.ok() || k.shape != v.shape ||
        static_cast<uint64_t>(*count) * DTypeSize(v.dtype) != k.bytes.size ||
        (k.bytes.size && !k.bytes.data))
      return Bad(absl::StrCat("constant ", c, " of shape ",
                              ShapeToString(k.shape), " holds ", k.bytes.size,
                              " bytes"));
  }
  // Every value is defined before it is read: inputs and constants from the
  // start, results by their step.
  std::vector<bool> defined(values.size(), false);
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].kind == Kind::kInput) {
      if (!InRange(values[i].index, inputs.size()) ||
          inputs[values[i].index] != static_cast<int64_t>(i))
        return Bad(
            absl::StrCat("value ", i, " claims to be input ", values[i].index));
      defined[i] = true;
    } else if (values[i].kind == Kind::kConstant) {
      if (!InRange(values[i].index, constants.size()) ||
          constants[values[i].index].value != static_cast<int64_t>(i))
        return Bad(absl::StrCat("value ", i, " claims to be constant ",
                                values[i].index));
      defined[i] = true;
    }
  for (size_t s = 0; s < steps.size(); ++s) {
    const Step &step = steps[s];
    if (!InRange(step.kernel, kernels.size()))
      return Bad(absl::StrCat("step ", s, " launches kernel ", step.kernel,
                              " of ", kernels.size()));
    if (step.results.empty())
      return Bad(absl::StrCat("step ", s, " has no results"));
    for (int64_t a : step.args)
      if (!InRange(a, values.size()) || !defined[a])
        return Bad(absl::StrCat("step ", s, " (", kernels[step.kernel],
                                ") reads value ", a, " before it is defined"));
    for (int64_t r : step.results) {
      if (!InRange(r, values.size()) || defined[r] ||
          values[r].kind != Kind::kResult ||
          values[r].index != static_cast<int64_t>(s))
        return Bad(absl::StrCat("step ", s, " (", kernels[step.kernel],
                                ") defines value ", r,
                                ", which is not its own result"));
      defined[r] = true;
      if (step.destinations) {
        absl::StatusOr<int64_t> count = NumElements(values[r].shape);
        if (!count.ok() ||
            *count > std::numeric_limits<int64_t>::max() /
                         static_cast<int64_t>(DTypeSize(values[r].dtype)) / 2)
          return Bad(absl::StrCat("step ", s, " (", kernels[step.kernel],
                                  ") writes value ", r, " of shape ",
                                  ShapeToString(values[r].shape),
                                  " into a destination, which needs a "
                                  "static size"));
      }
    }
    for (int64_t r : step.release)
      if (!InRange(r, values.size()) || values[r].kind != Kind::kResult)
        return Bad(absl::StrCat("step ", s, " releases value ", r,
                                ", which no step owns"));
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    int64_t v = outputs[i];
    if (!InRange(v, values.size()) || !defined[v])
      return Bad(absl::StrCat("output ", i, " is value ", v,
                              ", which is never defined"));
    if (absl::Status s = CheckSpec(output_specs[i], values[v], "output");
        !s.ok())
      return s;
  }
  return absl::OkStatus();
}

void Plan::ComputeReleases() {
  std::vector<int64_t> last(values.size(), -1);
  for (size_t s = 0; s < steps.size(); ++s) {
    for (int64_t a : steps[s].args)
      last[a] = static_cast<int64_t>(s);
    // A result nobody reads dies where it is born.
    for (int64_t r : steps[s].results)
      last[r] = std::max(last[r], static_cast<int64_t>(s));
  }
  for (int64_t o : outputs)
    last[o] = static_cast<int64_t>(steps.size());
  for (Step &step : steps)
    step.release.clear();
  for (size_t v = 0; v < values.size(); ++v)
    if (values[v].kind == Value::Kind::kResult &&
        InRange(last[v], steps.size()))
      steps[last[v]].release.push_back(static_cast<int64_t>(v));
}

void Plan::PlanMemory() {
  // Offsets add up sizes a plan from a file may choose: they saturate, and
  // an arena that large is refused where it is allocated.
  auto add = [](int64_t a, int64_t b) {
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
  };
  struct Item {
    int64_t value, bytes, begin, end, offset;
  };
  std::vector<int64_t> last(values.size(), -1);
  for (size_t s = 0; s < steps.size(); ++s)
    for (int64_t r : steps[s].release)
      last[r] = static_cast<int64_t>(s);
  for (int64_t o : outputs)
    last[o] = static_cast<int64_t>(steps.size());
  std::vector<Item> items;
  for (size_t s = 0; s < steps.size(); ++s) {
    if (!steps[s].destinations)
      continue;
    for (int64_t r : steps[s].results) {
      int64_t count = 1;
      for (int64_t d : values[r].shape)
        count *= d;
      int64_t bytes = count * static_cast<int64_t>(DTypeSize(values[r].dtype));
      items.push_back({r, (bytes + 63) / 64 * 64, static_cast<int64_t>(s),
                       std::max(last[r], static_cast<int64_t>(s)), 0});
    }
  }
  std::stable_sort(
      items.begin(), items.end(), [](const Item &a, const Item &b) {
        return a.bytes != b.bytes ? a.bytes > b.bytes : a.begin < b.begin;
      });
  for (Value &v : values)
    v.offset = -1;
  arena_bytes = 0;
  std::vector<const Item *> placed, conflicts;
  for (Item &item : items) {
    conflicts.clear();
    for (const Item *p : placed)
      if (p->begin <= item.end && item.begin <= p->end && p->bytes > 0)
        conflicts.push_back(p);
    std::sort(
        conflicts.begin(), conflicts.end(),
        [](const Item *a, const Item *b) { return a->offset < b->offset; });
    int64_t offset = 0;
    for (const Item *c : conflicts) {
      if (add(offset, item.bytes) <= c->offset)
        break;
      offset = std::max(offset, add(c->offset, c->bytes));
    }
    item.offset = offset;
    values[item.value].offset = offset;
    arena_bytes = std::max(arena_bytes, add(offset, item.bytes));
    placed.push_back(&item);
  }
}

std::string Plan::ToString() const {
  auto name = [&](int64_t v) { return absl::StrCat("%", v); };
  auto list = [&](const std::vector<int64_t> &vs) {
    std::vector<std::string> parts;
    for (int64_t v : vs)
      parts.push_back(name(v));
    return absl::StrJoin(parts, ", ");
  };
  auto type = [&](int64_t v) {
    std::string t = absl::StrCat(DTypeName(values[v].dtype),
                                 ShapeToString(values[v].shape));
    if (values[v].offset >= 0)
      absl::StrAppend(&t, " at ", values[v].offset);
    return t;
  };
  std::string out;
  for (size_t i = 0; i < inputs.size(); ++i)
    absl::StrAppend(&out, "input ", name(inputs[i]), " '", input_specs[i].name,
                    "': ", SpecToString(input_specs[i]), "\n");
  for (const Constant &c : constants)
    absl::StrAppend(&out, "constant ", name(c.value), ": ",
                    DTypeName(values[c.value].dtype), ShapeToString(c.shape),
                    " (", c.bytes.size, " bytes)\n");
  for (const Step &s : steps) {
    std::vector<std::string> results;
    for (int64_t r : s.results)
      results.push_back(absl::StrCat(name(r), ": ", type(r)));
    absl::StrAppend(&out, "launch ", kernels[s.kernel], "(", list(s.args),
                    ") -> ", absl::StrJoin(results, ", "));
    if (s.destinations)
      absl::StrAppend(&out, " (into the arena)");
    if (!s.release.empty())
      absl::StrAppend(&out, "; release ", list(s.release));
    absl::StrAppend(&out, "\n");
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    absl::StrAppend(&out, "output ", name(outputs[i]), " '",
                    output_specs[i].name, "': ", SpecToString(output_specs[i]),
                    "\n");
  absl::StrAppend(&out, "arena: ", arena_bytes, " bytes\n");
  return out;
}

namespace {
uint64_t HashBytes(const AlignedBytes &b) {
  return absl::HashOf(absl::string_view(
      reinterpret_cast<const char *>(b.data.get()), b.size));
}
} // namespace

ConstantPool::ConstantPool(const Plan &base) {
  for (const Plan::Constant &c : base.constants)
    by_hash_.emplace(HashBytes(c.bytes), &c.bytes);
}

uint64_t ConstantPool::Share(Plan &plan) const {
  uint64_t shared = 0;
  for (Plan::Constant &c : plan.constants) {
    auto [lo, hi] = by_hash_.equal_range(HashBytes(c.bytes));
    for (auto it = lo; it != hi; ++it) {
      const AlignedBytes &b = *it->second;
      if (b.size != c.bytes.size ||
          std::memcmp(b.data.get(), c.bytes.data.get(), b.size) != 0)
        continue;
      if (b.data.get() != c.bytes.data.get()) {
        c.bytes = AlignedBytes::View(b.data.get(), b.size);
        shared += b.size;
      }
      break;
    }
  }
  return shared;
}

} // namespace bathy::rt
