//===- CudaPrelude.cpp - The header bathy's CUDA C++ includes -------------===//
//
// One header for both compilers of the emitted source. Under NVRTC
// (__CUDACC_RTC__) it declares the device side only. Otherwise it is the
// emulation: CUDA's keywords become plain C++, blockIdx/threadIdx are
// thread-local variables a launch sets for each block and thread in turn,
// and the host part of a kernel reaches the runtime (checks, tensor memory)
// through the import table the runtime's code loader fills
// (runtime/cpu/entry_points.h).
//
//===----------------------------------------------------------------------===//
#include "bathy/Codegen/CUDA/Cuda.h"

namespace bathy {

const char kCudaPreludeName[] = "bathy_cuda.h";

static const char kPrelude[] = R"prelude(// bathy_cuda.h: included by bathy's generated CUDA C++.
#ifndef BATHY_CUDA_H
#define BATHY_CUDA_H

typedef long long bathy_i64;
typedef unsigned long long bathy_u64;
typedef int bathy_i32;
typedef unsigned int bathy_u32;
typedef short bathy_i16;
typedef unsigned short bathy_u16;
typedef signed char bathy_i8;
typedef unsigned char bathy_u8;

#ifdef __CUDACC_RTC__
// cuda_fp16.h is large: only sources with f16 values include it.
#ifdef BATHY_F16
#include <cuda_fp16.h>
typedef __half bathy_f16;
#endif
#define BATHY_FN static __device__ __forceinline__
#define BATHY_CONSTANT __device__ const
#define BATHY_BARRIER() __syncthreads()
#define BATHY_TID ((bathy_i64)blockIdx.x * blockDim.x + threadIdx.x)
#define BATHY_NTHREADS ((bathy_i64)gridDim.x * blockDim.x)
// A check that fails in device code records the first failure (its id and
// values) for the host to report after the launch, and ends the thread.
__device__ bathy_i64 bathy_device_error[4];
#define BATHY_DEVICE_FAIL(id, message, a, b, c)                               \
  do {                                                                        \
    if (atomicCAS((unsigned long long *)&bathy_device_error[0], 0ull,         \
                  (unsigned long long)(id)) == 0ull) {                        \
      bathy_device_error[1] = (a);                                            \
      bathy_device_error[2] = (b);                                            \
      bathy_device_error[3] = (c);                                            \
    }                                                                         \
    return;                                                                   \
  } while (0)
BATHY_FN float bathy_f32_bits(bathy_u32 b) { return __uint_as_float(b); }
BATHY_FN double bathy_f64_bits(bathy_u64 b) {
  return __longlong_as_double((long long)b);
}
#else
#include <cmath>
#include <cstdint>
#include <cstring>
typedef _Float16 bathy_f16;
#include <ucontext.h>
#include <cstdlib>
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
// Shared memory: one copy per OS thread, which runs one block at a time.
#define __shared__ static thread_local
#define BATHY_FN static inline
#define BATHY_CONSTANT static const
struct bathy_dim3 {
  unsigned x, y, z;
};
static thread_local bathy_dim3 blockIdx, threadIdx, gridDim, blockDim;
#define BATHY_TID ((bathy_i64)blockIdx.x * blockDim.x + threadIdx.x)
#define BATHY_NTHREADS ((bathy_i64)gridDim.x * blockDim.x)
BATHY_FN float bathy_f32_bits(bathy_u32 b) {
  float f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
BATHY_FN double bathy_f64_bits(bathy_u64 b) {
  double f;
  std::memcpy(&f, &b, sizeof f);
  return f;
}
// Cooperative launches (kernels with barriers): the threads of a block are
// fibers on this OS thread; a barrier returns to the block's scheduler,
// which resumes every other thread up to the same barrier before going on.
struct bathy_fibers {
  ucontext_t scheduler;
  ucontext_t *threads;
  bool *done;
  int current;
};
static thread_local bathy_fibers *bathy_current_fibers = nullptr;
static void bathy_barrier() {
  bathy_fibers *f = bathy_current_fibers;
  if (f)
    swapcontext(&f->threads[f->current], &f->scheduler);
}
#define BATHY_BARRIER() bathy_barrier()
#define __syncthreads() bathy_barrier()
using std::isinf;
using std::isnan;
using std::isfinite;
using std::signbit;
#endif

// An MLIR memref descriptor: the runtime's layout, word for word.
template <typename T, int R> struct bathy_memref {
  void *allocated;
  T *aligned;
  bathy_i64 offset;
  bathy_i64 sizes[R];
  bathy_i64 strides[R];
};
template <typename T> struct bathy_memref<T, 0> {
  void *allocated;
  T *aligned;
  bathy_i64 offset;
};

// Iterations of lb, lb + step, ... below ub.
BATHY_FN bathy_i64 bathy_trip(bathy_i64 lb, bathy_i64 ub, bathy_i64 step) {
  return ub > lb && step > 0 ? (ub - lb + step - 1) / step : 0;
}

// The high 64 bits of a 128-bit product.
#ifdef __CUDACC_RTC__
BATHY_FN bathy_u64 bathy_mulhi_u64(bathy_i64 a, bathy_i64 b) {
  return __umul64hi((bathy_u64)a, (bathy_u64)b);
}
BATHY_FN bathy_i64 bathy_mulhi_s64(bathy_i64 a, bathy_i64 b) {
  return __mul64hi(a, b);
}
#else
BATHY_FN bathy_u64 bathy_mulhi_u64(bathy_i64 a, bathy_i64 b) {
  return (bathy_u64)(((unsigned __int128)(bathy_u64)a *
                      (unsigned __int128)(bathy_u64)b) >> 64);
}
BATHY_FN bathy_i64 bathy_mulhi_s64(bathy_i64 a, bathy_i64 b) {
  return (bathy_i64)(((__int128)a * (__int128)b) >> 64);
}
#endif

// Integer semantics of MLIR's arith where C++ leaves them undefined.
template <typename T, typename U> BATHY_FN T bathy_shl(T a, T b) {
  return (U)b >= sizeof(T) * 8 ? (T)0 : (T)((U)a << (U)b);
}
template <typename T, typename U> BATHY_FN T bathy_shrui(T a, T b) {
  return (U)b >= sizeof(T) * 8 ? (T)0 : (T)((U)a >> (U)b);
}
template <typename T, typename U> BATHY_FN T bathy_shrsi(T a, T b) {
  return (U)b >= sizeof(T) * 8 ? (T)(a < 0 ? -1 : 0) : (T)(a >> (U)b);
}
template <typename T, typename F> BATHY_FN T bathy_fptosi(F f) {
  // Saturating, NaN to 0 (what GPUs do; MLIR leaves it undefined). The
  // bounds are computed unsigned: 1 << 63 overflows a signed int64.
  if (!(f == f))
    return 0;
  const bathy_u64 top = (bathy_u64)1 << (sizeof(T) * 8 - 1);
  const double lo = -(double)top, hi = (double)top;
  const double d = (double)f;
  if (d <= lo)
    return (T)top;
  if (d >= hi)
    return (T)(top - 1);
  return (T)d;
}
template <typename T, typename F> BATHY_FN T bathy_fptoui(F f) {
  if (!(f == f) || (double)f <= 0.0)
    return 0;
  const double hi = 2.0 * (double)((bathy_u64)1 << (sizeof(T) * 8 - 1));
  if ((double)f >= hi)
    return (T)~(T)0;
  return (T)(double)f;
}
template <typename To, typename From> BATHY_FN To bathy_bitcast(From f) {
  union {
    From from;
    To to;
  } u;
  u.from = f;
  return u.to;
}
// IEEE maximum/minimum: NaN propagates, -0 < +0.
template <typename F> BATHY_FN F bathy_maximumf(F a, F b) {
  if (a != a)
    return a;
  if (b != b)
    return b;
  if (a == b)
    return signbit((double)a) ? b : a;
  return a > b ? a : b;
}
template <typename F> BATHY_FN F bathy_minimumf(F a, F b) {
  if (a != a)
    return a;
  if (b != b)
    return b;
  if (a == b)
    return signbit((double)a) ? a : b;
  return a < b ? a : b;
}
// maxnum/minnum: a NaN operand loses.
template <typename F> BATHY_FN F bathy_maxnumf(F a, F b) {
  if (a != a)
    return b;
  if (b != b)
    return a;
  return a > b ? a : b;
}
template <typename F> BATHY_FN F bathy_minnumf(F a, F b) {
  if (a != a)
    return b;
  if (b != b)
    return a;
  return a < b ? a : b;
}
template <typename T, typename U> BATHY_FN T bathy_absi(T a) {
  return a < 0 ? (T)(0 - (U)a) : a;
}
// Integer power, wrapping; a negative exponent gives 0 but for a = +-1.
template <typename T, typename U> BATHY_FN T bathy_ipowi(T a, T b) {
  if (b < 0)
    return a == 1 ? (T)1 : a == (T)-1 ? (T)((b & 1) ? -1 : 1) : (T)0;
  U result = 1, base = (U)a;
  for (U e = (U)b; e; e >>= 1) {
    if (e & 1)
      result *= base;
    base *= base;
  }
  return (T)result;
}
template <typename T, typename U> BATHY_FN T bathy_ctpop(T a) {
  U u = (U)a;
  T n = 0;
  for (; u; u &= u - 1)
    ++n;
  return n;
}
template <typename T, typename U> BATHY_FN T bathy_ctlz(T a) {
  U u = (U)a;
  T n = 0;
  for (int i = (int)sizeof(T) * 8 - 1; i >= 0 && !((u >> i) & 1); --i)
    ++n;
  return n;
}
template <typename T, typename U> BATHY_FN T bathy_cttz(T a) {
  U u = (U)a;
  T n = 0;
  for (int i = 0; i < (int)sizeof(T) * 8 && !((u >> i) & 1); ++i)
    ++n;
  return n;
}

#ifdef BATHY_USE_MATMUL
// Batched matmul accumulating into the result (the CPU kernel's contract):
// 64x64 result tiles per block of 256 threads, each thread 4x4 values,
// k in steps of 16 through shared memory; any strides, leading dims
// broadcasting; edges read as zeros.
struct bathy_matmul_args {
  const float *a, *b;
  float *o;
  int lead;
  bathy_i64 lead_size[8], a_lead[8], b_lead[8], o_lead[8];
  bathy_i64 batch, m, n, k;
  bathy_i64 as[2], bs[2], os[2];
};
extern "C" __global__ void bathy_matmul_f32_kernel(bathy_matmul_args p) {
  __shared__ float tile_a[16][65];
  __shared__ float tile_b[16][65];
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const bathy_i64 m0 = (bathy_i64)blockIdx.y * 64, n0 = (bathy_i64)blockIdx.x * 64;
  for (bathy_i64 bt = blockIdx.z; bt < p.batch; bt += gridDim.z) {
    bathy_i64 ao = 0, bo = 0, oo = 0, rest = bt;
    for (int l = p.lead - 1; l >= 0; --l) {
      const bathy_i64 idx = rest % p.lead_size[l];
      rest /= p.lead_size[l];
      ao += idx * p.a_lead[l];
      bo += idx * p.b_lead[l];
      oo += idx * p.o_lead[l];
    }
    float acc[4][4];
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        acc[i][j] = 0.0f;
    for (bathy_i64 k0 = 0; k0 < p.k; k0 += 16) {
      for (int e = threadIdx.x; e < 1024; e += 256) {
        const int mm = e / 16, kk = e % 16;
        const bathy_i64 gm = m0 + mm, gk = k0 + kk;
        tile_a[kk][mm] = gm < p.m && gk < p.k
                             ? p.a[ao + gm * p.as[0] + gk * p.as[1]]
                             : 0.0f;
      }
      for (int e = threadIdx.x; e < 1024; e += 256) {
        const int kk = e / 64, nn = e % 64;
        const bathy_i64 gk = k0 + kk, gn = n0 + nn;
        tile_b[kk][nn] = gk < p.k && gn < p.n
                             ? p.b[bo + gk * p.bs[0] + gn * p.bs[1]]
                             : 0.0f;
      }
      BATHY_BARRIER();
      for (int kk = 0; kk < 16; ++kk) {
        float ra[4], rb[4];
        for (int i = 0; i < 4; ++i)
          ra[i] = tile_a[kk][ty * 4 + i];
        for (int j = 0; j < 4; ++j)
          rb[j] = tile_b[kk][tx * 4 + j];
        for (int i = 0; i < 4; ++i)
          for (int j = 0; j < 4; ++j)
            acc[i][j] += ra[i] * rb[j];
      }
      BATHY_BARRIER();
    }
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        const bathy_i64 gm = m0 + ty * 4 + i, gn = n0 + tx * 4 + j;
        if (gm < p.m && gn < p.n)
          p.o[oo + gm * p.os[0] + gn * p.os[1]] += acc[i][j];
      }
  }
}

#endif // BATHY_USE_MATMUL

#ifdef BATHY_USE_CONV
// 2-D convolution (NCHW input, FCHW weight) and depthwise convolution
// (weight [C, 1, KH, KW]) accumulating into the result, one thread per
// result element; padding reads as zeros.
struct bathy_conv_args {
  const float *x, *w;
  float *o;
  bathy_i64 n, c, ih, iw, f, oh, ow, kh, kw;
  bathy_i64 xs[4], ws[4], os[4];
  bathy_i64 sh, sw, dh, dw, pt, pl;
  int depthwise;
};
extern "C" __global__ void bathy_conv2d_f32_kernel(bathy_conv_args p) {
  const bathy_i64 total = p.n * p.f * p.oh * p.ow;
  for (bathy_i64 t = BATHY_TID; t < total; t += BATHY_NTHREADS) {
    const bathy_i64 ox = t % p.ow, oy = t / p.ow % p.oh, of = t / (p.ow * p.oh) % p.f,
                    b = t / (p.ow * p.oh * p.f);
    float sum = 0.0f;
    const bathy_i64 c0 = p.depthwise ? of : 0, c1 = p.depthwise ? of + 1 : p.c;
    for (bathy_i64 ch = c0; ch < c1; ++ch)
      for (bathy_i64 a = 0; a < p.kh; ++a) {
        const bathy_i64 y = oy * p.sh + a * p.dh - p.pt;
        if (y < 0 || y >= p.ih)
          continue;
        for (bathy_i64 e = 0; e < p.kw; ++e) {
          const bathy_i64 x = ox * p.sw + e * p.dw - p.pl;
          if (x < 0 || x >= p.iw)
            continue;
          const float wv = p.depthwise
                               ? p.w[of * p.ws[0] + a * p.ws[2] + e * p.ws[3]]
                               : p.w[of * p.ws[0] + ch * p.ws[1] + a * p.ws[2] +
                                     e * p.ws[3]];
          sum += p.x[b * p.xs[0] + ch * p.xs[1] + y * p.xs[2] + x * p.xs[3]] * wv;
        }
      }
    p.o[b * p.os[0] + of * p.os[1] + oy * p.os[2] + ox * p.os[3]] += sum;
  }
}

#endif // BATHY_USE_CONV

#ifdef BATHY_USE_ATTENTION
// Attention, flash style: one thread per query row of one (batch, head);
// scores are computed key by key with an online softmax and never stored.
// Each feature chunk of the output (32 values, in registers) repeats the
// pass over the keys. Semantics of bathy.attention (and of the CPU's
// kernel): q scaled before the dot product, softcap, the additive mask (a
// -inf entry selecting masked_score when that is finite), causal offsets,
// NaN for a row that sees no key, zeros when there are no keys at all.
struct bathy_attention_args {
  const float *q, *k, *v, *mask;
  float *o;
  int lead;
  bathy_i64 lead_size[8], q_lead[8], k_lead[8], v_lead[8], m_lead[8],
      o_lead[8];
  bathy_i64 hq, hkv, sq, sk, d, dv;
  // Strides of the head, row and feature dims (the mask's: head, query,
  // key; 0 where it broadcasts).
  bathy_i64 qs[3], ks[3], vs[3], ms[3], os[3];
  float scale, softcap, fill;
  bathy_i64 causal_offset;
};
extern "C" __global__ void bathy_attention_f32_kernel(bathy_attention_args a) {
  const float neg_inf = -bathy_f32_bits(0x7f800000u);
  bathy_i64 total = a.hq * a.sq;
  for (int i = 0; i < a.lead; ++i)
    total *= a.lead_size[i];
  const bathy_i64 group = a.hkv > 0 ? a.hq / a.hkv : 1;
  for (bathy_i64 t = BATHY_TID; t < total; t += BATHY_NTHREADS) {
    const bathy_i64 i = t % a.sq, h = t / a.sq % a.hq;
    bathy_i64 rest = t / (a.sq * a.hq);
    bathy_i64 qo = 0, ko = 0, vo = 0, mo = 0, oo = 0;
    for (int l = a.lead - 1; l >= 0; --l) {
      const bathy_i64 idx = rest % a.lead_size[l];
      rest /= a.lead_size[l];
      qo += idx * a.q_lead[l];
      ko += idx * a.k_lead[l];
      vo += idx * a.v_lead[l];
      mo += idx * a.m_lead[l];
      oo += idx * a.o_lead[l];
    }
    const bathy_i64 kvh = h / group;
    qo += h * a.qs[0] + i * a.qs[1];
    ko += kvh * a.ks[0];
    vo += kvh * a.vs[0];
    mo += h * a.ms[0] + i * a.ms[1];
    oo += h * a.os[0] + i * a.os[1];
    bathy_i64 visible = i + 1 + a.causal_offset;
    visible = visible < 0 ? 0 : visible > a.sk ? a.sk : visible;
    for (bathy_i64 c0 = 0; c0 < a.dv; c0 += 32) {
      const int width = a.dv - c0 < 32 ? (int)(a.dv - c0) : 32;
      float acc[32];
      for (int c = 0; c < 32; ++c)
        acc[c] = 0.0f;
      float m = neg_inf, l = 0.0f;
      for (bathy_i64 j = 0; j < visible; ++j) {
        float s = 0.0f;
        for (bathy_i64 c = 0; c < a.d; ++c)
          s += (a.q[qo + c * a.qs[2]] * a.scale) *
               a.k[ko + j * a.ks[1] + c * a.ks[2]];
        if (a.softcap > 0.0f)
          s = a.softcap * tanhf(s / a.softcap);
        if (a.mask) {
          const float mv = a.mask[mo + j * a.ms[2]];
          if (a.fill != neg_inf)
            s = mv == neg_inf ? a.fill : s + mv;
          else
            s += mv;
        }
        const float mNew = s > m ? s : m;
        if (mNew == neg_inf)
          continue;
        const float correction = expf(m - mNew), p = expf(s - mNew);
        l = l * correction + p;
        for (int c = 0; c < width; ++c)
          acc[c] = acc[c] * correction +
                   p * a.v[vo + j * a.vs[1] + (c0 + c) * a.vs[2]];
        m = mNew;
      }
      for (int c = 0; c < width; ++c)
        a.o[oo + (c0 + c) * a.os[2]] =
            a.sk == 0 ? 0.0f
                      : (l == 0.0f ? bathy_f32_bits(0x7fc00000u) : acc[c] / l);
    }
  }
}

#endif // BATHY_USE_ATTENTION

#ifndef __CUDACC_RTC__
// The host side of the emulation: the runtime functions the host part of a
// kernel calls, through the import table the runtime's loader fills.
extern "C" {
struct bathy_import {
  const char *name;
  void *address;
};
__attribute__((visibility("default"))) bathy_import bathy_import_table[] = {
    {"bathy_rt_fail", nullptr},
    {"bathy_rt_alloc", nullptr},
    {"bathy_rt_free", nullptr},
};
__attribute__((visibility("default"))) bathy_i64 bathy_import_count = 3;
}
[[noreturn]] static void bathy_fail(const char *message, bathy_i64 a,
                                    bathy_i64 b, bathy_i64 c) {
  ((void (*)(const char *, bathy_i64, bathy_i64, bathy_i64))
       bathy_import_table[0].address)(message, a, b, c);
  __builtin_unreachable();
}
static void *bathy_alloc(bathy_i64 bytes) {
  return ((void *(*)(bathy_i64))bathy_import_table[1].address)(bytes);
}
static void bathy_free(void *p) {
  ((void (*)(void *))bathy_import_table[2].address)(p);
}
#define BATHY_DEVICE_FAIL(id, message, a, b, c) bathy_fail(message, a, b, c)
#define BATHY_HOST_READ(p) (*(p))
#define BATHY_HOST_WRITE(p, v) (*(p) = (v))
#define BATHY_GLOBAL(name) (name)
// An unranked memref: the rank and the address of a ranked descriptor.
struct bathy_unranked {
  bathy_i64 rank;
  void *descriptor;
};
// A launch: `total` iterations spread over blocks of 256 threads, at most
// 65535 blocks (each thread strides over the rest), run one block and one
// thread after another.
template <typename... P, typename... A>
static void bathy_launch(void (*kernel)(P...), bathy_i64 total, A... args) {
  if (total <= 0)
    return;
  const bathy_i64 block = total < 256 ? total : 256;
  bathy_i64 grid = (total + block - 1) / block;
  if (grid > 65535)
    grid = 65535;
  gridDim = {(unsigned)grid, 1, 1};
  blockDim = {(unsigned)block, 1, 1};
  for (bathy_i64 b = 0; b < grid; ++b)
    for (bathy_i64 t = 0; t < block; ++t) {
      blockIdx = {(unsigned)b, 0, 0};
      threadIdx = {(unsigned)t, 0, 0};
      kernel(args...);
    }
}

// bathy.attention's call (bathy-cpu-attention-to-runtime's form): strides
// of every operand for the kernel, leading dims broadcasting, one launch.
struct bathy_view {
  const float *data;
  bathy_i64 rank;
  const bathy_i64 *sizes, *strides;
};
static bathy_view bathy_decode(bathy_unranked u) {
  const bathy_i64 *words = (const bathy_i64 *)u.descriptor;
  float *aligned;
  std::memcpy(&aligned, &words[1], sizeof aligned);
  return {aligned + words[2], u.rank, words + 3, words + 3 + u.rank};
}
#ifdef BATHY_USE_ATTENTION
static void bathy_attention(bathy_unranked uq, bathy_unranked uk,
                            bathy_unranked uv, const bathy_unranked *um,
                            bathy_unranked uo, float scale, float softcap,
                            bathy_i64 causal, float fill) {
  bathy_view q = bathy_decode(uq), k = bathy_decode(uk), v = bathy_decode(uv),
             o = bathy_decode(uo);
  bathy_view m = um ? bathy_decode(*um) : bathy_view{nullptr, 0, nullptr, nullptr};
  const bathy_i64 r = o.rank;
  bathy_attention_args a;
  std::memset(&a, 0, sizeof a);
  a.q = q.data;
  a.k = k.data;
  a.v = v.data;
  a.mask = m.data;
  a.o = (float *)o.data;
  a.lead = (int)(r - 3);
  if (a.lead > 8)
    bathy_fail("bathy.attention: more than 8 leading dims", r, 0, 0);
  auto lead = [&](const bathy_view &x, bathy_i64 dim) -> bathy_i64 {
    bathy_i64 at = dim - (r - x.rank);
    return at < 0 || x.sizes[at] == 1 ? 0 : x.strides[at];
  };
  for (int l = 0; l < a.lead; ++l) {
    a.lead_size[l] = o.sizes[l];
    a.q_lead[l] = lead(q, l);
    a.k_lead[l] = lead(k, l);
    a.v_lead[l] = lead(v, l);
    a.m_lead[l] = m.data ? lead(m, l) : 0;
    a.o_lead[l] = o.strides[l];
  }
  a.hq = q.sizes[r - 3];
  a.hkv = k.sizes[r - 3];
  a.sq = q.sizes[r - 2];
  a.sk = k.sizes[r - 2];
  a.d = q.sizes[r - 1];
  a.dv = v.sizes[r - 1];
  for (int i = 0; i < 3; ++i) {
    a.qs[i] = q.strides[r - 3 + i];
    a.ks[i] = k.strides[r - 3 + i];
    a.vs[i] = v.strides[r - 3 + i];
    a.os[i] = o.strides[r - 3 + i];
    a.ms[i] = m.data ? lead(m, r - 3 + i) : 0;
  }
  a.scale = scale;
  a.softcap = softcap;
  a.fill = fill;
  a.causal_offset = causal == 1 ? 0 : causal == 2 ? a.sk - a.sq : a.sk;
  bathy_i64 total = a.hq * a.sq;
  for (int l = 0; l < a.lead; ++l)
    total *= a.lead_size[l];
  if (a.dv == 0)
    return;
  bathy_launch(bathy_attention_f32_kernel, total, a);
}
static void bathy_attention_f32(bathy_unranked q, bathy_unranked k,
                                bathy_unranked v, bathy_unranked o,
                                float scale, float softcap, bathy_i64 causal) {
  bathy_attention(q, k, v, nullptr, o, scale, softcap, causal,
                  -bathy_f32_bits(0x7f800000u));
}
#endif // BATHY_USE_ATTENTION

// A launch of a kernel with barriers: a grid of blocks of `block` threads,
// each block's threads run as fibers.
template <typename... P, typename... A>
static void bathy_launch_cooperative(void (*kernel)(P...), bathy_i64 gx,
                                     bathy_i64 gy, bathy_i64 gz, int block,
                                     A... args) {
  if (gx <= 0 || gy <= 0 || gz <= 0)
    return;
  const size_t stack = 64 * 1024;
  char *stacks = (char *)std::malloc(stack * block);
  ucontext_t *threads = (ucontext_t *)std::malloc(sizeof(ucontext_t) * block);
  bool *done = (bool *)std::malloc(block);
  if (!stacks || !threads || !done) {
    std::free(stacks);
    std::free(threads);
    std::free(done);
    bathy_fail("out of memory for the emulation's thread stacks", 0, 0, 0);
  }
  bathy_fibers fibers;
  fibers.threads = threads;
  fibers.done = done;
  // The body each fiber runs: the kernel, then it marks itself done and
  // returns to the scheduler (uc_link).
  static thread_local void (*body)(void *) = nullptr;
  static thread_local void *closure = nullptr;
  auto run = [&]() { kernel(args...); };
  body = [](void *c) { (*static_cast<decltype(run) *>(c))(); };
  closure = &run;
  gridDim = {(unsigned)gx, (unsigned)gy, (unsigned)gz};
  blockDim = {(unsigned)block, 1, 1};
  bathy_fibers *outer = bathy_current_fibers;
  bathy_current_fibers = &fibers;
  void (*entry)() = [] {
    body(closure);
    bathy_current_fibers->done[bathy_current_fibers->current] = true;
  };
  for (bathy_i64 z = 0; z < gz; ++z)
    for (bathy_i64 y = 0; y < gy; ++y)
      for (bathy_i64 x = 0; x < gx; ++x) {
        blockIdx = {(unsigned)x, (unsigned)y, (unsigned)z};
        for (int t = 0; t < block; ++t) {
          getcontext(&threads[t]);
          threads[t].uc_stack.ss_sp = stacks + stack * t;
          threads[t].uc_stack.ss_size = stack;
          threads[t].uc_link = &fibers.scheduler;
          makecontext(&threads[t], entry, 0);
          done[t] = false;
        }
        // Round after round, each thread runs to its next barrier or end.
        for (int live = block; live > 0;) {
          live = 0;
          for (int t = 0; t < block; ++t) {
            if (done[t])
              continue;
            fibers.current = t;
            threadIdx = {(unsigned)t, 0, 0};
            swapcontext(&fibers.scheduler, &threads[t]);
            live += !done[t];
          }
        }
      }
  bathy_current_fibers = outer;
  std::free(stacks);
  std::free(threads);
  std::free(done);
}

#ifdef BATHY_USE_MATMUL
static void bathy_matmul_f32(bathy_unranked ua, bathy_unranked ub,
                             bathy_unranked uo) {
  bathy_view a = bathy_decode(ua), b = bathy_decode(ub), o = bathy_decode(uo);
  const bathy_i64 r = o.rank;
  if (a.rank < 2 || b.rank < 2 || r < 2 || r < a.rank || r < b.rank || r > 10)
    bathy_fail("matmul: operand ranks {0} and {1} do not fit the result's",
               a.rank, b.rank, 0);
  bathy_matmul_args p;
  std::memset(&p, 0, sizeof p);
  p.a = a.data;
  p.b = b.data;
  p.o = (float *)o.data;
  p.m = o.sizes[r - 2];
  p.n = o.sizes[r - 1];
  p.k = a.sizes[a.rank - 1];
  if (b.sizes[b.rank - 2] != p.k)
    bathy_fail("matmul: the inner dims differ: {0} vs {1}", p.k,
               b.sizes[b.rank - 2], 0);
  if (a.sizes[a.rank - 2] != p.m || b.sizes[b.rank - 1] != p.n)
    bathy_fail("matmul: the result's sizes do not match the operands'", 0, 0, 0);
  p.lead = (int)(r - 2);
  p.batch = 1;
  auto lead = [&](const bathy_view &v, bathy_i64 d) -> bathy_i64 {
    const bathy_i64 at = d - (r - v.rank);
    if (at < 0 || v.sizes[at] == 1)
      return 0;
    if (v.sizes[at] != o.sizes[d])
      bathy_fail("matmul: batch dim of size {0} does not broadcast to {1}",
                 v.sizes[at], o.sizes[d], 0);
    return v.strides[at];
  };
  for (int l = 0; l < p.lead; ++l) {
    p.lead_size[l] = o.sizes[l];
    p.a_lead[l] = lead(a, l);
    p.b_lead[l] = lead(b, l);
    p.o_lead[l] = o.strides[l];
    p.batch *= o.sizes[l];
  }
  p.as[0] = a.strides[a.rank - 2];
  p.as[1] = a.strides[a.rank - 1];
  p.bs[0] = b.strides[b.rank - 2];
  p.bs[1] = b.strides[b.rank - 1];
  p.os[0] = o.strides[r - 2];
  p.os[1] = o.strides[r - 1];
  if (p.batch == 0 || p.m == 0 || p.n == 0)
    return;
  bathy_launch_cooperative(bathy_matmul_f32_kernel, (p.n + 63) / 64,
                           (p.m + 63) / 64, p.batch < 65535 ? p.batch : 65535,
                           256, p);
}

#endif // BATHY_USE_MATMUL

#ifdef BATHY_USE_CONV
static void bathy_conv(bathy_unranked ux, bathy_unranked uw, bathy_unranked uo,
                       bathy_i64 sh, bathy_i64 sw, bathy_i64 dh, bathy_i64 dw,
                       bathy_i64 pt, bathy_i64 pl, int depthwise) {
  bathy_view x = bathy_decode(ux), w = bathy_decode(uw), o = bathy_decode(uo);
  if (x.rank != 4 || w.rank != 4 || o.rank != 4)
    bathy_fail("conv2d: operands must have rank 4", 0, 0, 0);
  if (x.sizes[0] != o.sizes[0])
    bathy_fail("conv2d: batch {0} of the input vs {1} of the result",
               x.sizes[0], o.sizes[0], 0);
  if (depthwise ? (w.sizes[0] != x.sizes[1] || o.sizes[1] != x.sizes[1])
                : (w.sizes[1] != x.sizes[1] || w.sizes[0] != o.sizes[1]))
    bathy_fail("conv2d: the input has {0} channels, the weight {1}",
               x.sizes[1], w.sizes[depthwise ? 0 : 1], 0);
  bathy_conv_args p;
  std::memset(&p, 0, sizeof p);
  p.x = x.data;
  p.w = w.data;
  p.o = (float *)o.data;
  p.n = o.sizes[0];
  p.f = o.sizes[1];
  p.oh = o.sizes[2];
  p.ow = o.sizes[3];
  p.c = x.sizes[1];
  p.ih = x.sizes[2];
  p.iw = x.sizes[3];
  p.kh = w.sizes[2];
  p.kw = w.sizes[3];
  for (int i = 0; i < 4; ++i) {
    p.xs[i] = x.strides[i];
    p.ws[i] = w.strides[i];
    p.os[i] = o.strides[i];
  }
  p.sh = sh;
  p.sw = sw;
  p.dh = dh;
  p.dw = dw;
  p.pt = pt;
  p.pl = pl;
  p.depthwise = depthwise;
  bathy_launch(bathy_conv2d_f32_kernel, p.n * p.f * p.oh * p.ow, p);
}
static void bathy_conv2d_f32(bathy_unranked x, bathy_unranked w,
                             bathy_unranked o, bathy_i64 sh, bathy_i64 sw,
                             bathy_i64 dh, bathy_i64 dw, bathy_i64 pt,
                             bathy_i64 pl) {
  bathy_conv(x, w, o, sh, sw, dh, dw, pt, pl, 0);
}
static void bathy_dwconv2d_f32(bathy_unranked x, bathy_unranked w,
                               bathy_unranked o, bathy_i64 sh, bathy_i64 sw,
                               bathy_i64 dh, bathy_i64 dw, bathy_i64 pt,
                               bathy_i64 pl) {
  bathy_conv(x, w, o, sh, sw, dh, dw, pt, pl, 1);
}
#endif // BATHY_USE_CONV

#ifdef BATHY_USE_ATTENTION
static void bathy_attention_masked_f32(bathy_unranked q, bathy_unranked k,
                                       bathy_unranked v, bathy_unranked mask,
                                       bathy_unranked o, float scale,
                                       float softcap, bathy_i64 causal,
                                       float fill) {
  bathy_attention(q, k, v, &mask, o, scale, softcap, causal, fill);
}
#endif // BATHY_USE_ATTENTION

#endif

#endif // BATHY_CUDA_H
)prelude";

llvm::StringRef cudaPrelude() { return kPrelude; }

} // namespace bathy
