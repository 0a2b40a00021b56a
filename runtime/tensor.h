//===- tensor.h - Host tensors and element types for the runtime ----------===//
//
// The runtime's vocabulary for data: an element type enum that matches the
// ONNX tensor types bathy supports, and a dense row-major host tensor that
// owns its bytes. Used by file I/O (.npy), the executor and the server.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_TENSOR_H
#define BATHY_RUNTIME_TENSOR_H

#include "absl/strings/string_view.h"
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace bathy::rt {

/// Element types a runtime tensor can hold.
enum class DType : uint8_t {
  kBool,
  kI8,
  kU8,
  kI16,
  kU16,
  kI32,
  kU32,
  kI64,
  kU64,
  kF16,
  kBF16,
  kF32,
  kF64,
};

/// Size in bytes of one element of `dtype`.
size_t DTypeSize(DType dtype);

/// Short lowercase name, as MLIR spells it where possible ("f32", "i64",
/// "ui8", "bool").
absl::string_view DTypeName(DType dtype);

/// Parses a name produced by DTypeName.
absl::StatusOr<DType> DTypeFromName(absl::string_view name);

/// Number of elements of a shape, or an error if a dimension is negative or
/// the product overflows int64.
absl::StatusOr<int64_t> NumElements(const std::vector<int64_t> &shape);

/// Formats a shape as "[2, 3, 4]".
std::string ShapeToString(const std::vector<int64_t> &shape);

/// A dense, row-major tensor in host memory that owns its bytes.
class HostTensor {
public:
  HostTensor() = default;

  /// Creates a zero-filled tensor; fails on a negative or overflowing shape.
  static absl::StatusOr<HostTensor> Create(DType dtype,
                                           std::vector<int64_t> shape);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t num_elements() const { return num_elements_; }
  size_t size_bytes() const { return bytes_.size(); }

  const uint8_t *data() const { return bytes_.data(); }
  uint8_t *data() { return bytes_.data(); }

  template <typename T> const T *data_as() const {
    return reinterpret_cast<const T *>(bytes_.data());
  }
  template <typename T> T *data_as() {
    return reinterpret_cast<T *>(bytes_.data());
  }

  /// Sets every element to `value`, converted to the element type (floats
  /// rounded to nearest; integers truncated toward zero and saturated to
  /// the type's range; bool: value != 0).
  void Fill(double value);

private:
  DType dtype_ = DType::kF32;
  std::vector<int64_t> shape_;
  int64_t num_elements_ = 0;
  std::vector<uint8_t> bytes_;
};

/// float -> IEEE half / bfloat16 bits (round to nearest even; values beyond
/// half's range become infinity, tiny ones zero).
uint16_t FloatToHalf(float f);
uint16_t FloatToBFloat16(float f);

/// Copies the block of `extent` that starts at (from_row, 0, ...) of `from`
/// to (to_row, 0, ...) of `to`: same dtype and rank, the block inside both
/// (the caller checks). Used to pad, cut, concatenate and split along dim 0.
void CopyBlock(const HostTensor &from, int64_t from_row, HostTensor &to,
               int64_t to_row, const std::vector<int64_t> &extent);

/// A tensor of `shape` (same rank as `t`) holding `t`'s elements where both
/// have them (the leading corner) and `fill` elsewhere: pads when `shape`
/// is larger, cuts when smaller.
absl::StatusOr<HostTensor> ResizeCorner(const HostTensor &t,
                                        const std::vector<int64_t> &shape,
                                        double fill);

} // namespace bathy::rt

#endif // BATHY_RUNTIME_TENSOR_H
