//===- Tensors.cpp - ONNX tensors and types into MLIR ---------------------===//
//
// Tensor data comes in three encodings: raw little-endian bytes, typed
// repeated fields (float_data, int32_data, ...), or external files next to
// the model. Each is checked against the tensor's declared shape before any
// attribute is built, and external paths may not leave the model's folder.
//
//===----------------------------------------------------------------------===//
#include "Tensors.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "runtime/file.h"
#include "runtime/memory.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace bathy::onnx_import {

std::string onnxTypeName(int32_t dataType) {
  if (onnx::TensorProto_DataType_IsValid(dataType))
    return onnx::TensorProto_DataType_Name(
        static_cast<onnx::TensorProto_DataType>(dataType));
  return "type " + std::to_string(dataType);
}

FailureOr<Type> convertElementType(int32_t dataType, Location loc,
                                   StringRef what) {
  MLIRContext *ctx = loc.getContext();
  auto signedInt = [&](unsigned w) { return IntegerType::get(ctx, w); };
  auto unsignedInt = [&](unsigned w) {
    return IntegerType::get(ctx, w, IntegerType::Unsigned);
  };
  switch (dataType) {
  case onnx::TensorProto::FLOAT:
    return Type(Float32Type::get(ctx));
  case onnx::TensorProto::FLOAT16:
    return Type(Float16Type::get(ctx));
  case onnx::TensorProto::BFLOAT16:
    return Type(BFloat16Type::get(ctx));
  case onnx::TensorProto::DOUBLE:
    return Type(Float64Type::get(ctx));
  case onnx::TensorProto::BOOL:
    return Type(signedInt(1));
  case onnx::TensorProto::INT8:
    return Type(signedInt(8));
  case onnx::TensorProto::INT16:
    return Type(signedInt(16));
  case onnx::TensorProto::INT32:
    return Type(signedInt(32));
  case onnx::TensorProto::INT64:
    return Type(signedInt(64));
  case onnx::TensorProto::UINT8:
    return Type(unsignedInt(8));
  case onnx::TensorProto::UINT16:
    return Type(unsignedInt(16));
  case onnx::TensorProto::UINT32:
    return Type(unsignedInt(32));
  case onnx::TensorProto::UINT64:
    return Type(unsignedInt(64));
  default:
    return emitError(loc) << what << " has element type "
                          << onnxTypeName(dataType)
                          << ", which bathy does not support";
  }
}

/// Bytes per element in bathy's layout (bool is one byte).
static unsigned storageBytes(Type element) {
  return element.isInteger(1) ? 1 : element.getIntOrFloatBitWidth() / 8;
}

/// Copies typed repeated fields into little-endian storage.
template <typename Src>
static void packValues(const Src &values, unsigned bytes,
                       std::vector<char> &out) {
  out.resize(static_cast<size_t>(values.size()) * bytes);
  for (int i = 0; i < values.size(); ++i) {
    auto v = values.Get(i);
    // Narrowing to the element size keeps the low-order bytes, which is what
    // ONNX stores in int32_data for 8/16-bit types and in uint64_data for
    // uint32.
    uint64_t bits = 0;
    if constexpr (std::is_same_v<decltype(v), float>) {
      uint32_t b;
      std::memcpy(&b, &v, 4);
      bits = b;
    } else if constexpr (std::is_same_v<decltype(v), double>) {
      std::memcpy(&bits, &v, 8);
    } else {
      bits = static_cast<uint64_t>(v);
    }
    std::memcpy(out.data() + static_cast<size_t>(i) * bytes, &bits, bytes);
  }
}

/// Reads an external-data tensor, refusing paths outside the model folder.
static LogicalResult readExternal(const onnx::TensorProto &tensor,
                                  const TensorSource &source, Location loc,
                                  size_t expected, std::vector<char> &out) {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  for (const onnx::StringStringEntryProto &kv : tensor.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset" || kv.key() == "length") {
      uint64_t v;
      if (!llvm::to_integer(kv.value(), v, 10))
        return emitError(loc)
               << "tensor '" << tensor.name() << "': external data " << kv.key()
               << " '" << kv.value() << "' is not a number";
      if (kv.key() == "offset")
        offset = v;
      else
        length = v;
    }
  }
  if (location.empty())
    return emitError(loc) << "tensor '" << tensor.name()
                          << "' has external data without a location";
  if (source.modelDirectory.empty())
    return emitError(loc) << "tensor '" << tensor.name()
                          << "' has external data, which needs the model to "
                             "be read from a file";
  if (llvm::sys::path::is_absolute(location) ||
      llvm::any_of(llvm::make_range(llvm::sys::path::begin(location),
                                    llvm::sys::path::end(location)),
                   [](StringRef part) { return part == ".."; }))
    return emitError(loc) << "tensor '" << tensor.name()
                          << "': external data location '" << location
                          << "' must be a relative path inside the model's "
                             "folder";
  if (length && *length != expected)
    return emitError(loc) << "tensor '" << tensor.name()
                          << "': external data length " << *length
                          << " does not match the " << expected
                          << " bytes its shape needs";
  uint64_t limit = std::min<uint64_t>(source.options->maxExternalBytes,
                                      static_cast<uint64_t>(rt::MemoryLimit()));
  if (expected > limit)
    return emitError(loc) << "tensor '" << tensor.name() << "' needs "
                          << rt::FormatBytes(static_cast<int64_t>(expected))
                          << " of external data, more than the limit of "
                          << rt::FormatBytes(static_cast<int64_t>(limit))
                          << " (--max-memory)";
  // Resolved beneath the model's folder, symlinks included, and only a
  // regular file: never /etc/passwd through a link, never a FIFO.
  absl::StatusOr<rt::File> file =
      rt::OpenFileBeneath(source.modelDirectory, location);
  if (!file.ok())
    return emitError(loc) << "tensor '" << tensor.name() << "': external data: "
                          << std::string(file.status().message());
  SmallString<256> full(source.modelDirectory);
  llvm::sys::path::append(full, location);
  absl::StatusOr<uint64_t> size = file->Size();
  if (!size.ok())
    return emitError(loc) << "tensor '" << tensor.name()
                          << "': " << std::string(size.status().message());
  if (offset > *size || *size - offset < expected)
    return emitError(loc) << "tensor '" << tensor.name()
                          << "': external data file '" << full << "' has "
                          << *size << " bytes, too few for " << expected
                          << " bytes at offset " << offset;
  try {
    out.resize(expected);
  } catch (const std::bad_alloc &) {
    return emitError(loc) << "tensor '" << tensor.name()
                          << "': out of memory reading "
                          << rt::FormatBytes(static_cast<int64_t>(expected))
                          << " of external data";
  }
  if (absl::Status s =
          file->ReadAt(offset, out.data(), expected, std::string(full.str()));
      !s.ok())
    return emitError(loc) << "tensor '" << tensor.name()
                          << "': " << std::string(s.message());
  return success();
}

FailureOr<ElementsAttr> convertTensor(const onnx::TensorProto &tensor,
                                      const TensorSource &source, Location loc,
                                      bool forceInline) {
  std::string what = "tensor '" + tensor.name() + "'";
  FailureOr<Type> element = convertElementType(tensor.data_type(), loc, what);
  if (failed(element))
    return failure();
  SmallVector<int64_t> shape;
  int64_t count = 1;
  for (int64_t d : tensor.dims()) {
    if (d < 0)
      return emitError(loc) << what << " has negative dim " << d;
    if (d != 0 && count > (int64_t(1) << 40) / d)
      return emitError(loc) << what
                            << " has an absurd shape (over 2^40 "
                               "elements)";
    count *= d;
    shape.push_back(d);
  }
  unsigned bytes = storageBytes(*element);
  size_t expected = static_cast<size_t>(count) * bytes;
  auto type = RankedTensorType::get(shape, *element);

  std::vector<char> data;
  const auto dt = tensor.data_type();
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    if (failed(readExternal(tensor, source, loc, expected, data)))
      return failure();
  } else if (tensor.has_raw_data()) {
    const std::string &raw = tensor.raw_data();
    if (raw.size() != expected)
      return emitError(loc) << what << " has " << raw.size()
                            << " bytes of raw data but its shape "
                            << "needs " << expected;
    data.assign(raw.begin(), raw.end());
  } else {
    switch (dt) {
    case onnx::TensorProto::FLOAT:
      packValues(tensor.float_data(), bytes, data);
      break;
    case onnx::TensorProto::DOUBLE:
      packValues(tensor.double_data(), bytes, data);
      break;
    case onnx::TensorProto::INT64:
      packValues(tensor.int64_data(), bytes, data);
      break;
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::UINT64:
      packValues(tensor.uint64_data(), bytes, data);
      break;
    default: // 8/16/32-bit integers, bool, float16, bfloat16.
      packValues(tensor.int32_data(), bytes, data);
      break;
    }
    if (data.size() != expected)
      return emitError(loc) << what << " has " << data.size() / bytes
                            << " values but its shape needs " << count;
  }

  if (element->isInteger(1)) {
    SmallVector<bool> values(data.begin(), data.end());
    return ElementsAttr(DenseElementsAttr::get(type, values));
  }
  if (forceInline || count <= source.options->maxInlineElements)
    return ElementsAttr(
        DenseElementsAttr::getFromRawBuffer(type, ArrayRef<char>(data)));
  std::string blobName = tensor.name().empty() ? "weight" : tensor.name();
  // The blob takes the bytes over (operator new's alignment covers every
  // element type): large weights are not copied a second time.
  auto *owned = new std::vector<char>(std::move(data));
  AsmResourceBlob blob(
      ArrayRef<char>(owned->data(), owned->size()), alignof(uint64_t),
      [owned](void *, size_t, size_t) { delete owned; },
      /*dataIsMutable=*/true);
  return ElementsAttr(
      DenseResourceElementsAttr::get(type, blobName, std::move(blob)));
}

} // namespace bathy::onnx_import
