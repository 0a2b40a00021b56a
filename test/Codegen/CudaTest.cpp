//===- CudaTest.cpp - The CUDA target's pieces without a GPU --------------===//
//
// ptxas's report as bathy reads it; NVRTC errors named by kernel and ONNX
// nodes; and the emulation's cooperative launches: a block that reverses an
// array through __shared__ memory is only right if every thread's stores
// land before any thread's loads, which is what __syncthreads() promises.
//
//===----------------------------------------------------------------------===//
#include "bathy/Codegen/CUDA/Cuda.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

namespace {

TEST(CudaTest, PtxasReportIsReadPerKernel) {
  const char *log =
      "ptxas info    : 0 bytes gmem\n"
      "ptxas info    : Compiling entry function 'add_0_g0' for 'sm_80'\n"
      "ptxas info    : Function properties for add_0_g0\n"
      "    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\n"
      "ptxas info    : Used 17 registers, 380 bytes cmem[0]\n"
      "ptxas info    : Compiling entry function 'mm_1_g0' for 'sm_80'\n"
      "ptxas info    : Function properties for mm_1_g0\n"
      "    128 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads\n"
      "ptxas info    : Used 255 registers, 380 bytes cmem[0]\n";
  std::vector<bathy::KernelResources> r = bathy::parsePtxasLog(log);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].kernel, "add_0_g0");
  EXPECT_EQ(r[0].registers, 17);
  EXPECT_EQ(r[0].spillStores, 0);
  EXPECT_EQ(r[1].kernel, "mm_1_g0");
  EXPECT_EQ(r[1].registers, 255);
  EXPECT_EQ(r[1].stackFrame, 128);
  EXPECT_EQ(r[1].spillStores, 8);
  EXPECT_EQ(r[1].spillLoads, 12);
  EXPECT_TRUE(bathy::parsePtxasLog("").empty());
}

TEST(CudaTest, NvrtcErrorsNameTheKernelAndItsNodes) {
  // The development and CI machines have the CUDA toolkit; a machine
  // without it fails here with the loader's message.
  llvm::Expected<std::string> version = bathy::nvrtcVersion();
  ASSERT_TRUE(static_cast<bool>(version)) << llvm::toString(version.takeError());
  bathy::CudaCompiledModel model;
  model.source = "#include \"bathy_cuda.h\"\n"
                 "extern \"C\" __global__ void relu_3_g0(float *x) {\n"
                 "  x[0] = undeclared_name;\n"
                 "}\n";
  model.plan.kernels = {"relu_3"};
  bathy::rt::Plan::Step step;
  step.kernel = 0;
  step.nodes = "Relu_7, Add_8";
  model.plan.steps.push_back(step);
  llvm::Expected<bathy::CudaBinaries> built =
      bathy::compileCudaBinaries(model, {"sm_80"}, "kernels");
  ASSERT_FALSE(static_cast<bool>(built));
  std::string message = llvm::toString(built.takeError());
  EXPECT_NE(message.find("undeclared_name"), std::string::npos) << message;
  EXPECT_NE(message.find("[kernel 'relu_3', nodes Relu_7, Add_8]"),
            std::string::npos)
      << message;
  // An architecture NVRTC does not know is an error, not a crash.
  llvm::Expected<std::vector<bathy::NvrtcResult>> bad =
      bathy::compileWithNvrtc(model.source, {"tpu_1"}, "kernels");
  ASSERT_FALSE(static_cast<bool>(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("not a CUDA architecture"),
            std::string::npos);
}

TEST(CudaTest, EmulatedBarriersOrderSharedMemory) {
  // Each block of 128 threads reverses its slice through shared memory; the
  // grid has 3 blocks, the last partly out of range.
  const char *source = R"cu(#include "bathy_cuda.h"
extern "C" __global__ void reverse(const int *in, int *out, int n) {
  __shared__ int tile[128];
  const int t = threadIdx.x, base = blockIdx.x * 128;
  tile[t] = base + t < n ? in[base + t] : -1;
  __syncthreads();
  const int from = 127 - t;
  if (base + t < n)
    out[base + t] = tile[from];
}
extern "C" __attribute__((visibility("default"))) int run_reverse(int *out) {
  int in[300];
  for (int i = 0; i < 300; ++i)
    in[i] = i;
  bathy_launch_cooperative(reverse, 3, 1, 1, 128, (const int *)in, out, 300);
  return 0;
}
)cu";
  llvm::Expected<std::string> so =
      bathy::buildCudaEmulation(source, "the barrier test");
  ASSERT_TRUE(static_cast<bool>(so)) << llvm::toString(so.takeError());
  char path[] = "/tmp/bathy-cuda-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, so->data(), so->size()), static_cast<ssize_t>(so->size()));
  close(fd);
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  unlink(path);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto run = reinterpret_cast<int (*)(int *)>(dlsym(handle, "run_reverse"));
  ASSERT_NE(run, nullptr);
  std::vector<int> out(300, -7);
  EXPECT_EQ(run(out.data()), 0);
  for (int i = 0; i < 300; ++i) {
    int base = i / 128 * 128, t = i % 128;
    int from = base + 127 - t;
    EXPECT_EQ(out[i], from < 300 ? from : -1) << "element " << i;
  }
  dlclose(handle);
}

} // namespace
