#include "runtime/cuda/driver.h"

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace bathy::rt::cuda {
namespace {

TEST(CudaDriverTest, ErrorMessagesNameTheErrorAndWhatToCheck) {
  // Without a driver: the code, and the advice for the common ones.
  std::string no_device = ErrorMessage(nullptr, 100);
  EXPECT_NE(no_device.find("CUDA_ERROR_NO_DEVICE"), std::string::npos);
  EXPECT_NE(no_device.find("CUDA_VISIBLE_DEVICES"), std::string::npos);
  EXPECT_NE(ErrorMessage(nullptr, 34).find("stub"), std::string::npos);
  EXPECT_NE(ErrorMessage(nullptr, 803).find("kernel module"),
            std::string::npos);
  EXPECT_EQ(ErrorMessage(nullptr, 999), "CUDA error 999");
}

TEST(CudaDriverTest, MissingDriverIsAnErrorNotACrash) {
  // A machine with a GPU has a driver; this test is about the others.
  const char *forced = std::getenv("BATHY_CUDA_DRIVER");
  absl::StatusOr<std::string> described = DescribeDriver();
  if (described.ok()) {
    EXPECT_NE(described->find("CUDA driver"), std::string::npos);
    GTEST_SKIP() << "a CUDA driver is installed: " << *described;
  }
  std::string message(described.status().message());
  EXPECT_EQ(described.status().code(), absl::StatusCode::kFailedPrecondition);
  if (forced == nullptr) {
    EXPECT_NE(message.find("libcuda.so.1"), std::string::npos) << message;
  }
  // Asking again gives the same answer without trying again.
  EXPECT_EQ(DescribeDriver().status(), described.status());
}

}  // namespace
}  // namespace bathy::rt::cuda
