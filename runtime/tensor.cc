//===- tensor.cc - Host tensors and element types -------------------------===//
#include "runtime/tensor.h"

#include <cmath>
#include <cstring>
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

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  if ((x & 0x7fffffff) > 0x7f800000)
    return static_cast<uint16_t>(sign | 0x7e00); // NaN stays NaN
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (exp <= 0)
    return static_cast<uint16_t>(sign); // tiny values flush to zero
  if (exp >= 31)
    return static_cast<uint16_t>(sign | 0x7c00);
  uint32_t h = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    ++h;
  return static_cast<uint16_t>(h);
}

uint16_t FloatToBFloat16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000)
    return static_cast<uint16_t>((x >> 16) | 0x40); // NaN stays NaN
  x += 0x7fff + ((x >> 16) & 1);
  return static_cast<uint16_t>(x >> 16);
}

namespace {

/// `value` in type T: truncated toward zero and saturated for integers.
template <typename T> T Saturate(double value) {
  if (std::isnan(value))
    return T(0);
  double lo = static_cast<double>(std::numeric_limits<T>::min());
  double hi = static_cast<double>(std::numeric_limits<T>::max());
  if (value <= lo)
    return std::numeric_limits<T>::min();
  if (value >= hi)
    return std::numeric_limits<T>::max();
  return static_cast<T>(value);
}

template <typename T> void FillAs(uint8_t *data, int64_t n, T v) {
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(data + i * sizeof(T), &v, sizeof(T));
}

} // namespace

void HostTensor::Fill(double value) {
  uint8_t *d = bytes_.data();
  int64_t n = num_elements_;
  switch (dtype_) {
  case DType::kBool:
    return FillAs<uint8_t>(d, n, value != 0 ? 1 : 0);
  case DType::kI8:
    return FillAs(d, n, Saturate<int8_t>(value));
  case DType::kU8:
    return FillAs(d, n, Saturate<uint8_t>(value));
  case DType::kI16:
    return FillAs(d, n, Saturate<int16_t>(value));
  case DType::kU16:
    return FillAs(d, n, Saturate<uint16_t>(value));
  case DType::kI32:
    return FillAs(d, n, Saturate<int32_t>(value));
  case DType::kU32:
    return FillAs(d, n, Saturate<uint32_t>(value));
  case DType::kI64:
    return FillAs(d, n, Saturate<int64_t>(value));
  case DType::kU64:
    return FillAs(d, n, Saturate<uint64_t>(value));
  case DType::kF16:
    return FillAs(d, n, FloatToHalf(static_cast<float>(value)));
  case DType::kBF16:
    return FillAs(d, n, FloatToBFloat16(static_cast<float>(value)));
  case DType::kF32:
    return FillAs(d, n, static_cast<float>(value));
  case DType::kF64:
    return FillAs(d, n, value);
  }
}

absl::StatusOr<HostTensor> ResizeCorner(const HostTensor &t,
                                        const std::vector<int64_t> &shape,
                                        double fill) {
  if (shape.size() != t.shape().size())
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resize a tensor of shape ",
                     ShapeToString(t.shape()), " to ", ShapeToString(shape)));
  absl::StatusOr<HostTensor> out = HostTensor::Create(t.dtype(), shape);
  if (!out.ok())
    return out.status();
  bool larger = false;
  for (size_t d = 0; d < shape.size(); ++d)
    larger |= shape[d] > t.shape()[d];
  if (larger && fill != 0)
    out->Fill(fill);
  std::vector<int64_t> common(shape.size());
  for (size_t d = 0; d < shape.size(); ++d)
    common[d] = std::min(shape[d], t.shape()[d]);
  CopyBlock(t, 0, *out, 0, common);
  return out;
}

void CopyBlock(const HostTensor &from, int64_t from_row, HostTensor &to,
               int64_t to_row, const std::vector<int64_t> &extent) {
  size_t rank = extent.size();
  size_t elem = DTypeSize(from.dtype());
  for (int64_t e : extent)
    if (e == 0)
      return;
  if (rank == 0) {
    std::memcpy(to.data(), from.data(), elem);
    return;
  }
  // One innermost row at a time, counting up the outer indices.
  size_t row = static_cast<size_t>(extent[rank - 1]) * elem;
  std::vector<int64_t> index(rank, 0);
  while (true) {
    int64_t src = index[0] + from_row, dst = index[0] + to_row;
    for (size_t d = 1; d < rank; ++d) {
      src = src * from.shape()[d] + index[d];
      dst = dst * to.shape()[d] + index[d];
    }
    std::memcpy(to.data() + dst * elem, from.data() + src * elem, row);
    if (rank == 1)
      return;
    size_t d = rank - 1;
    while (d > 0) {
      --d;
      if (++index[d] < extent[d])
        break;
      index[d] = 0;
      if (d == 0)
        return;
    }
  }
}

} // namespace bathy::rt
