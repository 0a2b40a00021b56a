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
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
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
  // Saturating, NaN to 0 (what GPUs do; MLIR leaves it undefined).
  if (!(f == f))
    return 0;
  const double lo = (double)(T)((T)1 << (sizeof(T) * 8 - 1));
  const double hi = -lo;
  double d = (double)f;
  if (d <= lo)
    return (T)((T)1 << (sizeof(T) * 8 - 1));
  if (d >= hi)
    return (T)~((T)1 << (sizeof(T) * 8 - 1));
  return (T)d;
}
template <typename T, typename F> BATHY_FN T bathy_fptoui(F f) {
  if (!(f == f) || (double)f <= 0.0)
    return 0;
  const double hi = 2.0 * (double)((T)1 << (sizeof(T) * 8 - 1));
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
static void bathy_attention_masked_f32(bathy_unranked q, bathy_unranked k,
                                       bathy_unranked v, bathy_unranked mask,
                                       bathy_unranked o, float scale,
                                       float softcap, bathy_i64 causal,
                                       float fill) {
  bathy_attention(q, k, v, &mask, o, scale, softcap, causal, fill);
}
#endif

#endif // BATHY_CUDA_H
)prelude";

llvm::StringRef cudaPrelude() { return kPrelude; }

} // namespace bathy
