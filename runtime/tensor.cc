//===- tensor.cc - Host tensors and element types -------------------------===//
#include "runtime/tensor.h"

#include <limits>
#include <new>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/memory.h"

namespace bathy::rt {

namespace {
struct DTypeInfo {
  DType dtype;
  absl::string_view name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kBool, "bool", 1}, {DType::kI8, "i8", 1},
    {DType::kU8, "ui8", 1},    {DType::kI16, "i16", 2},
    {DType::kU16, "ui16", 2},  {DType::kI32, "i32", 4},
    {DType::kU32, "ui32", 4},  {DType::kI64, "i64", 8},
    {DType::kU64, "ui64", 8},  {DType::kF16, "f16", 2},
    {DType::kBF16, "bf16", 2}, {DType::kF32, "f32", 4},
    {DType::kF64, "f64", 8},
};

const DTypeInfo &Info(DType dtype) {
  for (const DTypeInfo &info : kDTypes)
    if (info.dtype == dtype)
      return info;
  return kDTypes[0]; // Unreachable: every enumerator is in the table.
}
} // namespace

size_t DTypeSize(DType dtype) { return Info(dtype).size; }

absl::string_view DTypeName(DType dtype) { return Info(dtype).name; }

absl::StatusOr<DType> DTypeFromName(absl::string_view name) {
  for (const DTypeInfo &info : kDTypes)
    if (info.name == name)
      return info.dtype;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown element type '", name, "'"));
}

absl::StatusOr<int64_t> NumElements(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t dim = shape[i];
    if (dim < 0)
      return absl::InvalidArgumentError(absl::StrCat(
          "dimension ", i, " of shape ", ShapeToString(shape), " is negative"));
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim)
      return absl::InvalidArgumentError(absl::StrCat(
          "shape ", ShapeToString(shape), " has too many elements"));
    count *= dim;
  }
  return count;
}

std::string ShapeToString(const std::vector<int64_t> &shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::StatusOr<HostTensor> HostTensor::Create(DType dtype,
                                              std::vector<int64_t> shape) {
  absl::StatusOr<int64_t> count = NumElements(shape);
  if (!count.ok())
    return count.status();
  size_t elem = DTypeSize(dtype);
  if (static_cast<uint64_t>(*count) >
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / elem)
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor of shape ", ShapeToString(shape), " is too large"));
  int64_t bytes = *count * static_cast<int64_t>(elem);
  if (absl::Status s = CheckAllocationSize(
          bytes, absl::StrCat("a ", DTypeName(dtype), " tensor of shape ",
                              ShapeToString(shape)));
      !s.ok())
    return s;
  HostTensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.num_elements_ = *count;
  try {
    t.bytes_.assign(static_cast<size_t>(bytes), 0);
  } catch (const std::bad_alloc &) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "out of memory creating a tensor of shape ", ShapeToString(t.shape_)));
  }
  return t;
}

} // namespace bathy::rt
