//===- npy.cc - Reading and writing NumPy .npy files ----------------------===//
#include "runtime/npy.h"

#include "runtime/file.h"
#include "runtime/memory.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace bathy::rt {

namespace {
constexpr absl::string_view kMagic = "\x93NUMPY";

struct NpyDescr {
  absl::string_view code; // Without the byte-order character.
  DType dtype;
};

constexpr NpyDescr kDescrs[] = {
    {"b1", DType::kBool}, {"i1", DType::kI8},  {"u1", DType::kU8},
    {"i2", DType::kI16},  {"u2", DType::kU16}, {"i4", DType::kI32},
    {"u4", DType::kU32},  {"i8", DType::kI64}, {"u8", DType::kU64},
    {"f2", DType::kF16},  {"f4", DType::kF32}, {"f8", DType::kF64},
};

absl::Status Bad(absl::string_view source, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(source, ": not a valid .npy file: ", what));
}

/// Finds `'key':` in the header dict and returns the text after the colon.
std::optional<absl::string_view> FindKey(absl::string_view header,
                                         absl::string_view key) {
  for (char quote : {'\'', '"'}) {
    std::string pattern =
        absl::StrCat(std::string(1, quote), key, std::string(1, quote));
    size_t pos = header.find(pattern);
    if (pos == absl::string_view::npos)
      continue;
    absl::string_view rest = header.substr(pos + pattern.size());
    rest = absl::StripLeadingAsciiWhitespace(rest);
    if (!absl::ConsumePrefix(&rest, ":"))
      return std::nullopt;
    return absl::StripLeadingAsciiWhitespace(rest);
  }
  return std::nullopt;
}

bool HostIsLittleEndian() {
  uint16_t probe = 1;
  uint8_t first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

void SwapBytes(uint8_t *data, size_t count, size_t elem) {
  for (size_t i = 0; i < count; ++i)
    std::reverse(data + i * elem, data + (i + 1) * elem);
}
} // namespace

absl::StatusOr<HostTensor> ParseNpy(absl::string_view bytes,
                                    absl::string_view source) {
  if (bytes.size() < kMagic.size() + 2 || bytes.substr(0, 6) != kMagic)
    return Bad(source, "missing the \\x93NUMPY magic string");
  uint8_t major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0;
  size_t prefix = 0;
  if (major == 1) {
    if (bytes.size() < 10)
      return Bad(source, "truncated header length");
    header_len = static_cast<uint8_t>(bytes[8]) |
                 (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return Bad(source, "truncated header length");
    for (int i = 3; i >= 0; --i)
      header_len = (header_len << 8) | static_cast<uint8_t>(bytes[8 + i]);
    prefix = 12;
  } else {
    return Bad(source, absl::StrCat("unsupported format version ", major));
  }
  if (header_len > bytes.size() - prefix)
    return Bad(source, absl::StrCat("header claims ", header_len,
                                    " bytes but the file has only ",
                                    bytes.size() - prefix, " after it"));
  absl::string_view header = bytes.substr(prefix, header_len);

  // descr
  std::optional<absl::string_view> descr_text = FindKey(header, "descr");
  if (!descr_text || descr_text->empty() ||
      ((*descr_text)[0] != '\'' && (*descr_text)[0] != '"'))
    return Bad(source, "header has no 'descr' string");
  char quote = (*descr_text)[0];
  size_t end = descr_text->find(quote, 1);
  if (end == absl::string_view::npos)
    return Bad(source, "unterminated 'descr' string");
  absl::string_view descr = descr_text->substr(1, end - 1);
  if (descr.size() < 2)
    return Bad(source, absl::StrCat("unsupported dtype '", descr, "'"));
  char order = descr[0];
  absl::string_view code = descr.substr(1);
  if (order != '<' && order != '>' && order != '|' && order != '=')
    return Bad(source, absl::StrCat("unsupported dtype '", descr, "'"));
  std::optional<DType> dtype;
  for (const NpyDescr &d : kDescrs)
    if (d.code == code)
      dtype = d.dtype;
  if (!dtype)
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": unsupported .npy dtype '", descr,
                     "' (supported: bool, int8-64, uint8-64, float16/32/64)"));

  // fortran_order
  std::optional<absl::string_view> fortran = FindKey(header, "fortran_order");
  if (!fortran)
    return Bad(source, "header has no 'fortran_order'");
  if (absl::StartsWith(*fortran, "True"))
    return absl::InvalidArgumentError(absl::StrCat(
        source, ": Fortran-ordered arrays are not supported; save with "
                "numpy.ascontiguousarray first"));
  if (!absl::StartsWith(*fortran, "False"))
    return Bad(source, "'fortran_order' is neither True nor False");

  // shape
  std::optional<absl::string_view> shape_text = FindKey(header, "shape");
  if (!shape_text || shape_text->empty() || (*shape_text)[0] != '(')
    return Bad(source, "header has no 'shape' tuple");
  size_t close = shape_text->find(')');
  if (close == absl::string_view::npos)
    return Bad(source, "unterminated 'shape' tuple");
  std::vector<int64_t> shape;
  for (absl::string_view part :
       absl::StrSplit(shape_text->substr(1, close - 1), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part.empty())
      continue;
    int64_t dim;
    if (!absl::SimpleAtoi(part, &dim) || dim < 0)
      return Bad(source, absl::StrCat("bad dimension '", part, "' in shape"));
    shape.push_back(dim);
  }

  absl::StatusOr<int64_t> count = NumElements(shape);
  if (!count.ok())
    return Bad(source, count.status().message());
  size_t elem = DTypeSize(*dtype);
  absl::string_view payload = bytes.substr(prefix + header_len);
  if (static_cast<uint64_t>(*count) > payload.size() / elem ||
      static_cast<uint64_t>(*count) * elem != payload.size())
    return Bad(source, absl::StrCat("shape ", ShapeToString(shape), " of ",
                                    DTypeName(*dtype), " needs ",
                                    static_cast<uint64_t>(*count) * elem,
                                    " bytes of data but the file has ",
                                    payload.size()));

  absl::StatusOr<HostTensor> tensor = HostTensor::Create(*dtype, shape);
  if (!tensor.ok())
    return tensor.status();
  if (!payload.empty())
    std::memcpy(tensor->data(), payload.data(), payload.size());
  bool little =
      order == '<' || ((order == '=' || order == '|') && HostIsLittleEndian());
  if (elem > 1 && little != HostIsLittleEndian())
    SwapBytes(tensor->data(), static_cast<size_t>(*count), elem);
  return tensor;
}

absl::StatusOr<HostTensor> ReadNpy(const std::string &path) {
  // A regular file no larger than a tensor may be (a FIFO or /dev/zero is
  // refused, not read until it ends); the header must then account for
  // exactly the bytes that follow it.
  absl::StatusOr<std::string> contents =
      ReadRegularFile(path, static_cast<uint64_t>(MemoryLimit()));
  if (!contents.ok())
    return contents.status();
  return ParseNpy(*contents, path);
}

absl::StatusOr<std::string> SerializeNpy(const HostTensor &tensor) {
  absl::string_view code;
  for (const NpyDescr &d : kDescrs)
    if (d.dtype == tensor.dtype())
      code = d.code;
  if (code.empty())
    return absl::InvalidArgumentError(
        absl::StrCat("element type ", DTypeName(tensor.dtype()),
                     " has no NumPy dtype; convert it to f32 first"));
  char order = DTypeSize(tensor.dtype()) == 1 ? '|'
               : HostIsLittleEndian()         ? '<'
                                              : '>';
  std::string shape;
  for (int64_t dim : tensor.shape())
    absl::StrAppend(&shape, dim, ", ");
  if (tensor.rank() > 1)
    shape.resize(shape.size() - 2);
  else if (tensor.rank() == 1)
    shape.resize(shape.size() - 1);
  std::string header =
      absl::StrCat("{'descr': '", std::string(1, order), code,
                   "', 'fortran_order': False, 'shape': (", shape, "), }");
  // Pad with spaces and a final newline so that the data starts 64-aligned.
  bool v2 = header.size() + 1 + 10 > 65535;
  size_t prefix = v2 ? 12 : 10;
  size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');

  std::string out(kMagic);
  out.push_back(static_cast<char>(v2 ? 2 : 1));
  out.push_back(0);
  size_t len = header.size();
  for (size_t i = 0; i < (v2 ? 4u : 2u); ++i)
    out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  out += header;
  out.append(reinterpret_cast<const char *>(tensor.data()),
             tensor.size_bytes());
  return out;
}

absl::Status WriteNpy(const std::string &path, const HostTensor &tensor) {
  absl::StatusOr<std::string> bytes = SerializeNpy(tensor);
  if (!bytes.ok())
    return absl::Status(bytes.status().code(),
                        absl::StrCat(path, ": ", bytes.status().message()));
  // Through a temporary file renamed into place: a symlink at `path` is
  // replaced, not written through.
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  if (dir.empty())
    dir = "/";
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  return WriteFileAtomically(dir, name, *bytes);
}

} // namespace bathy::rt
