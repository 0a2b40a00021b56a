//===- npy_test.cc - Tests for .npy reading and writing -------------------===//
#include "runtime/npy.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "gtest/gtest.h"

namespace bathy::rt {
namespace {

/// Builds a version 1.0 .npy file by hand, as NumPy would write it.
std::string MakeNpy(const std::string &dict, const std::string &payload,
                    int major = 1) {
  std::string header = dict;
  size_t prefix = major == 1 ? 10 : 12;
  size_t total = prefix + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i)
    out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  return out + header + payload;
}

std::string Floats(std::initializer_list<float> values) {
  std::string s(values.size() * 4, '\0');
  std::memcpy(s.data(), values.begin(), s.size());
  return s;
}

TEST(NpyTest, ParsesFloat32Matrix) {
  std::string file =
      MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
              Floats({1, 2, 3, 4}));
  absl::StatusOr<HostTensor> t = ParseNpy(file, "x.npy");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->dtype(), DType::kF32);
  EXPECT_EQ(t->shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(t->data_as<float>()[3], 4.0f);
}

TEST(NpyTest, ParsesVersion2AndScalar) {
  std::string payload(8, '\0');
  int64_t v = -7;
  std::memcpy(payload.data(), &v, 8);
  std::string file = MakeNpy(
      "{'descr': '<i8', 'fortran_order': False, 'shape': (), }", payload, 2);
  absl::StatusOr<HostTensor> t = ParseNpy(file, "s.npy");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->rank(), 0);
  EXPECT_EQ(t->data_as<int64_t>()[0], -7);
}

TEST(NpyTest, ConvertsBigEndian) {
  std::string payload = {0x00, 0x00, 0x01, 0x02};
  std::string file = MakeNpy(
      "{'descr': '>i4', 'fortran_order': False, 'shape': (1,), }", payload);
  absl::StatusOr<HostTensor> t = ParseNpy(file, "be.npy");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->data_as<int32_t>()[0], 0x0102);
}

TEST(NpyTest, RoundTripsEveryNumpyDtype) {
  for (DType d : {DType::kBool, DType::kI8, DType::kU8, DType::kI16,
                  DType::kU16, DType::kI32, DType::kU32, DType::kI64,
                  DType::kU64, DType::kF16, DType::kF32, DType::kF64}) {
    absl::StatusOr<HostTensor> t = HostTensor::Create(d, {3, 1, 2});
    ASSERT_TRUE(t.ok());
    for (size_t i = 0; i < t->size_bytes(); ++i)
      t->data()[i] = static_cast<uint8_t>(d == DType::kBool ? i % 2 : i * 7);
    absl::StatusOr<std::string> bytes = SerializeNpy(*t);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ((bytes->size() - t->size_bytes()) % 64, 0u)
        << "data must start 64-byte aligned";
    absl::StatusOr<HostTensor> back = ParseNpy(*bytes, "rt.npy");
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->dtype(), d);
    EXPECT_EQ(back->shape(), t->shape());
    EXPECT_EQ(std::memcmp(back->data(), t->data(), t->size_bytes()), 0);
  }
}

TEST(NpyTest, WritesAndReadsFile) {
  absl::StatusOr<HostTensor> t = HostTensor::Create(DType::kF32, {4});
  ASSERT_TRUE(t.ok());
  t->data_as<float>()[2] = 2.5f;
  std::string path =
      (std::filesystem::temp_directory_path() / "bathy_npy_test.npy").string();
  ASSERT_TRUE(WriteNpy(path, *t).ok());
  absl::StatusOr<HostTensor> back = ReadNpy(path);
  std::remove(path.c_str());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->data_as<float>()[2], 2.5f);
}

TEST(NpyTest, RejectsBf16) {
  absl::StatusOr<HostTensor> t = HostTensor::Create(DType::kBF16, {1});
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(SerializeNpy(*t).ok());
}

TEST(NpyTest, MissingFileNamesPath) {
  absl::StatusOr<HostTensor> t = ReadNpy("/nonexistent/dir/x.npy");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("/nonexistent/dir/x.npy"),
            std::string::npos);
}

/// Each malformed file must give an error that names the file and says what
/// is wrong.
struct BadCase {
  const char *name;
  std::string bytes;
  const char *expected;
};

TEST(NpyTest, RejectsMalformedFiles) {
  const std::string ok_dict =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  std::string lying_length = MakeNpy(ok_dict, Floats({1, 2}));
  lying_length[8] = static_cast<char>(0xff);
  lying_length[9] = static_cast<char>(0x7f);
  const BadCase cases[] = {
      {"empty", "", "magic"},
      {"not npy", "PK\x03\x04 hello", "magic"},
      {"truncated length", std::string("\x93NUMPY\x01\x00\x05", 9),
       "truncated"},
      {"bad version", std::string("\x93NUMPY\x09\x00\x00\x00", 10), "version"},
      {"lying header length", lying_length, "header claims"},
      {"complex",
       MakeNpy("{'descr': '<c8', 'fortran_order': False, "
               "'shape': (1,), }",
               std::string(8, '\0')),
       "unsupported .npy dtype"},
      {"fortran",
       MakeNpy("{'descr': '<f4', 'fortran_order': True, "
               "'shape': (2,), }",
               Floats({1, 2})),
       "Fortran"},
      {"short data", MakeNpy(ok_dict, Floats({1})), "needs 8 bytes"},
      {"long data", MakeNpy(ok_dict, Floats({1, 2, 3})), "needs 8 bytes"},
      {"negative dim",
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
               ""),
       "bad dimension"},
      {"garbage dim",
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': (x,), }", ""),
       "bad dimension"},
      {"huge shape",
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': "
               "(4611686018427387904, 4), }",
               ""),
       "too many elements"},
      {"huge but representable",
       MakeNpy("{'descr': '<f4', 'fortran_order': False, 'shape': "
               "(1099511627776,), }",
               ""),
       "needs"},
      {"no shape", MakeNpy("{'descr': '<f4', 'fortran_order': False, }", ""),
       "shape"},
      {"no descr", MakeNpy("{'fortran_order': False, 'shape': (1,), }", ""),
       "descr"},
  };
  for (const BadCase &c : cases) {
    absl::StatusOr<HostTensor> t = ParseNpy(c.bytes, "bad.npy");
    ASSERT_FALSE(t.ok()) << c.name;
    std::string message(t.status().message());
    EXPECT_NE(message.find("bad.npy"), std::string::npos) << c.name;
    EXPECT_NE(message.find(c.expected), std::string::npos)
        << c.name << ": " << message;
  }
}

} // namespace
} // namespace bathy::rt
