//===- kernels.cc - Microkernels generated code calls ---------------------===//
#include "runtime/cpu/kernels.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <tuple>
#if defined(__GLIBC__)
#endif
#include <thread>
#include <vector>

#include "runtime/cpu/attention.h"
#include "runtime/cpu/entry_points.h"
#include "runtime/cpu/gemm.h"
#include "runtime/cpu/memref.h"
#include "runtime/cpu/run_context.h"
#include "runtime/cpu/thread_pool.h"

namespace bathy::rt {
namespace {

using View = MemRefView;

View Decode(int64_t rank, void *descriptor) {
  return DecodeMemRef(rank, descriptor);
}

/// Stride of batch dim `d` of the output (counted from the left of the
/// output's batch dims) within operand `v`: 0 when `v` broadcasts there.
int64_t BatchStride(const View &v, int64_t out_batch_rank, int64_t d) {
  int64_t vb = v.rank - 2;
  int64_t j = d - (out_batch_rank - vb);
  if (j < 0 || v.sizes[j] == 1)
    return 0;
  return v.strides[j];
}

/// Address ranges the runtime may treat as immutable (model weights), and
/// the B operands packed from them once.
struct ConstantCache {
  std::mutex mu;
  std::map<const char *, const char *> ranges; // begin -> end
  struct Key {
    const float *data;
    int64_t rows, cols, rs, cs;
    bool isA; // packed as the A (row panels) or B (column panels) operand
    bool operator<(const Key &o) const {
      return std::tie(data, rows, cols, rs, cs, isA) <
             std::tie(o.data, o.rows, o.cols, o.rs, o.cs, o.isA);
    }
  };
  std::map<Key, std::vector<float>> packed;

  bool IsConstant(const void *p) {
    auto *c = static_cast<const char *>(p);
    auto it = ranges.upper_bound(c);
    return it != ranges.begin() && c < std::prev(it)->second;
  }
};

ConstantCache &Constants() {
  static ConstantCache cache;
  return cache;
}

/// The operand packed once when it lies in a registered constant range,
/// else null: B (k x n, column panels) or A (m x k, row panels).
const float *PackedConstant(int64_t rows, int64_t cols, MatrixView v,
                            bool isA) {
  ConstantCache &cache = Constants();
  std::lock_guard<std::mutex> lock(cache.mu);
  if (cache.ranges.empty() || !cache.IsConstant(v.data))
    return nullptr;
  ConstantCache::Key key{v.data, rows, cols, v.row_stride, v.col_stride, isA};
  auto [it, fresh] = cache.packed.try_emplace(key);
  if (fresh) {
    it->second.resize(isA ? PackedASize(rows, cols) : PackedBSize(rows, cols));
    if (isA)
      PackWholeA(rows, cols, v, it->second.data());
    else
      PackWholeB(rows, cols, v, it->second.data());
  }
  return it->second.data();
}

} // namespace
} // namespace bathy::rt

using namespace bathy::rt;

extern "C" void bathy_rt_register_constant(const void *data, int64_t bytes) {
  ConstantCache &cache = Constants();
  std::lock_guard<std::mutex> lock(cache.mu);
  auto *begin = static_cast<const char *>(data);
  cache.ranges[begin] = begin + bytes;
}

extern "C" void bathy_rt_unregister_constant(const void *data) {
  ConstantCache &cache = Constants();
  std::lock_guard<std::mutex> lock(cache.mu);
  auto *begin = static_cast<const char *>(data);
  auto it = cache.ranges.find(begin);
  if (it == cache.ranges.end())
    return;
  const char *end = it->second;
  cache.ranges.erase(it);
  for (auto p = cache.packed.begin(); p != cache.packed.end();) {
    auto *d = reinterpret_cast<const char *>(p->first.data);
    p = d >= begin && d < end ? cache.packed.erase(p) : std::next(p);
  }
}

namespace bathy::rt {
namespace {
void Matmul(const View &va, const View &vb, const View &vo) {
  int64_t a_rank = va.rank, b_rank = vb.rank, out_rank = vo.rank;
  int64_t batch_rank = out_rank - 2;
  int64_t m = vo.sizes[out_rank - 2], n = vo.sizes[out_rank - 1];
  int64_t k = va.sizes[a_rank - 1];
  int64_t batches = 1;
  for (int64_t d = 0; d < batch_rank; ++d)
    batches *= vo.sizes[d];
  ThreadPool &pool = ThreadPool::Default();
  // B shared by every batch (a weight): when the rows of A and of out are
  // evenly strided across the batch dims, the batches are one taller GEMM.
  // Sequence-first exports ([seq, batch=1, k] x [k, n]) would otherwise be
  // `seq` matrix-vector products.
  if (batches > 1) {
    bool shared = true;
    for (int64_t d = 0; d < batch_rank; ++d)
      shared &= vo.sizes[d] == 1 || BatchStride(vb, batch_rank, d) == 0;
    int64_t rows = m, sa = va.strides[a_rank - 2],
            so = vo.strides[out_rank - 2];
    for (int64_t d = batch_rank; shared && d-- > 0;) {
      if (vo.sizes[d] == 1)
        continue;
      int64_t da = BatchStride(va, batch_rank, d), dout = vo.strides[d];
      if (rows == 1) {
        sa = da;
        so = dout;
      } else if (da != rows * sa || dout != rows * so) {
        shared = false;
      }
      rows *= vo.sizes[d];
    }
    if (shared) {
      MatrixView bm{vb.data, vb.strides[b_rank - 2], vb.strides[b_rank - 1]};
      Sgemm(rows, n, k, {va.data, sa, va.strides[a_rank - 1]}, bm, vo.data, so,
            vo.strides[out_rank - 1], &pool,
            PackedConstant(k, n, bm, /*isA=*/false));
      return;
    }
  }
  std::vector<int64_t> index(batch_rank, 0);
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t oa = 0, ob = 0, oo = 0;
    for (int64_t d = 0; d < batch_rank; ++d) {
      oa += index[d] * BatchStride(va, batch_rank, d);
      ob += index[d] * BatchStride(vb, batch_rank, d);
      oo += index[d] * vo.strides[d];
    }
    MatrixView bm{vb.data + ob, vb.strides[b_rank - 2], vb.strides[b_rank - 1]};
    Sgemm(m, n, k,
          {va.data + oa, va.strides[a_rank - 2], va.strides[a_rank - 1]}, bm,
          vo.data + oo, vo.strides[out_rank - 2], vo.strides[out_rank - 1],
          &pool, PackedConstant(k, n, bm, /*isA=*/false));
    for (int64_t d = batch_rank; d-- > 0;) {
      if (++index[d] < vo.sizes[d])
        break;
      index[d] = 0;
    }
  }
}

/// The output columns [lo, hi) whose input column xo*sw + off - pad lies in
/// [0, width): outside it a tap reads padding.
std::pair<int64_t, int64_t> ValidColumns(int64_t ow, int64_t sw, int64_t off,
                                         int64_t pad, int64_t width) {
  // xo*sw >= pad - off and xo*sw <= width - 1 + pad - off.
  int64_t first = pad - off, last = width - 1 + pad - off;
  int64_t lo = first <= 0 ? 0 : (first + sw - 1) / sw;
  int64_t hi = last < 0 ? 0 : last / sw + 1;
  lo = std::min(lo, ow);
  hi = std::max(lo, std::min(hi, ow));
  return {lo, hi};
}

void Conv2d(const View &vx, const View &vw, const View &vo, int64_t sh,
            int64_t sw, int64_t dh, int64_t dw, int64_t pt, int64_t pl) {
  int64_t batch = vo.sizes[0], f = vo.sizes[1], oh = vo.sizes[2],
          ow = vo.sizes[3];
  int64_t c = vx.sizes[1], kh = vw.sizes[2], kw = vw.sizes[3];
  int64_t depth = c * kh * kw, pixels = oh * ow;
  ThreadPool &pool = ThreadPool::Default();

  // The weight as an [f, c*kh*kw] matrix: a view when its inner three dims
  // are contiguous (constants are), a packed copy otherwise.
  std::vector<float> wCopy;
  MatrixView wm{vw.data, vw.strides[0], 1};
  if (!(vw.strides[3] == 1 && vw.strides[2] == kw &&
        vw.strides[1] == kh * kw)) {
    wCopy.resize(f * depth);
    for (int64_t i = 0; i < f; ++i)
      for (int64_t ci = 0; ci < c; ++ci)
        for (int64_t a = 0; a < kh; ++a)
          for (int64_t bidx = 0; bidx < kw; ++bidx)
            wCopy[i * depth + (ci * kh + a) * kw + bidx] =
                vw.data[i * vw.strides[0] + ci * vw.strides[1] +
                        a * vw.strides[2] + bidx * vw.strides[3]];
    wm = {wCopy.data(), depth, 1};
  }
  // Constant weights (registered by the JIT) are packed once.
  const float *packedW = PackedConstant(f, depth, wm, /*isA=*/true);
  // The output per image as an [f, oh*ow] matrix (contiguous rows needed).
  bool outFlat = vo.strides[3] == 1 && vo.strides[2] == ow;
  std::vector<float> outCopy;
  bool pointwise =
      kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0;
  int64_t ih = vx.sizes[2], iw = vx.sizes[3];
  bool inFlat = vx.strides[3] == 1 && vx.strides[2] == vx.sizes[3];
  // Kept per thread across calls: a fresh buffer per convolution costs page
  // faults on every run.
  thread_local std::vector<float> cols;
  for (int64_t img = 0; img < batch; ++img) {
    const float *xi = vx.data + img * vx.strides[0];
    float *oi = vo.data + img * vo.strides[0];
    MatrixView bm;
    if (pointwise && inFlat && vx.sizes[2] == oh && vx.sizes[3] == ow) {
      bm = {xi, vx.strides[1], 1};
    } else {
      // im2col: row (ci, a, b) holds the input pixels that tap (a, b) of
      // channel ci reads for every output pixel.
      cols.resize(depth * pixels);
      // The workers must see this thread's buffer, not their own.
      float *colsData = cols.data();
      pool.ParallelFor(c, [&](int64_t ci) {
        for (int64_t a = 0; a < kh; ++a)
          for (int64_t bidx = 0; bidx < kw; ++bidx) {
            float *row = colsData + ((ci * kh + a) * kw + bidx) * pixels;
            auto [lo, hi] = ValidColumns(ow, sw, bidx * dw, pl, iw);
            for (int64_t y = 0; y < oh; ++y) {
              float *dst = row + y * ow;
              int64_t r = y * sh + a * dh - pt;
              if (r < 0 || r >= ih) {
                std::fill(dst, dst + ow, 0.0f);
                continue;
              }
              std::fill(dst, dst + lo, 0.0f);
              std::fill(dst + hi, dst + ow, 0.0f);
              const float *src = xi + ci * vx.strides[1] + r * vx.strides[2] +
                                 (lo * sw + bidx * dw - pl) * vx.strides[3];
              int64_t step = sw * vx.strides[3];
              if (step == 1)
                std::memcpy(dst + lo, src, (hi - lo) * sizeof(float));
              else
                for (int64_t xo = lo; xo < hi; ++xo)
                  dst[xo] = src[(xo - lo) * step];
            }
          }
      });
      bm = {cols.data(), pixels, 1};
    }
    if (outFlat) {
      Sgemm(f, pixels, depth, wm, bm, oi, vo.strides[1], 1, &pool, nullptr,
            packedW);
    } else {
      outCopy.assign(f * pixels, 0.0f);
      Sgemm(f, pixels, depth, wm, bm, outCopy.data(), pixels, 1, &pool, nullptr,
            packedW);
      for (int64_t i = 0; i < f; ++i)
        for (int64_t y = 0; y < oh; ++y)
          for (int64_t xo = 0; xo < ow; ++xo)
            oi[i * vo.strides[1] + y * vo.strides[2] + xo * vo.strides[3]] +=
                outCopy[i * pixels + y * ow + xo];
    }
  }
}

/// One output row of a depthwise tap: dst[x] += w * src[x * step]. Built
/// for AVX2 as well, picked at load time.
__attribute__((target_clones("avx2", "default"))) void
TapRow(float *dst, const float *src, int64_t n, int64_t step, float w) {
  if (step == 1) {
    for (int64_t x = 0; x < n; ++x)
      dst[x] += w * src[x];
  } else {
    for (int64_t x = 0; x < n; ++x)
      dst[x] += w * src[x * step];
  }
}

void DwConv2d(const View &vx, const View &vw, const View &vo, int64_t sh,
              int64_t sw, int64_t dh, int64_t dw, int64_t pt, int64_t pl) {
  int64_t batch = vo.sizes[0], c = vo.sizes[1], oh = vo.sizes[2],
          ow = vo.sizes[3];
  int64_t ih = vx.sizes[2], iw = vx.sizes[3];
  int64_t kh = vw.sizes[2], kw = vw.sizes[3];
  // The output columns each tap column reads inside the input.
  std::vector<std::pair<int64_t, int64_t>> columns(kw);
  for (int64_t b = 0; b < kw; ++b)
    columns[b] = ValidColumns(ow, sw, b * dw, pl, iw);
  // One task per (image, channel) plane; rows are accumulated in a
  // contiguous scratch row when the output row is strided.
  ThreadPool::Default().ParallelFor(batch * c, [&](int64_t t) {
    int64_t n = t / c, ch = t % c;
    const float *xp = vx.data + n * vx.strides[0] + ch * vx.strides[1];
    const float *wp = vw.data + ch * vw.strides[0];
    float *op = vo.data + n * vo.strides[0] + ch * vo.strides[1];
    std::vector<float> row(vo.strides[3] == 1 ? 0 : ow);
    for (int64_t y = 0; y < oh; ++y) {
      float *dst = vo.strides[3] == 1 ? op + y * vo.strides[2] : row.data();
      if (vo.strides[3] != 1)
        for (int64_t xo = 0; xo < ow; ++xo)
          dst[xo] = op[y * vo.strides[2] + xo * vo.strides[3]];
      for (int64_t a = 0; a < kh; ++a) {
        int64_t r = y * sh + a * dh - pt;
        if (r < 0 || r >= ih)
          continue; // A padding row adds nothing.
        for (int64_t b = 0; b < kw; ++b) {
          auto [lo, hi] = columns[b];
          if (lo < hi)
            TapRow(dst + lo,
                   xp + r * vx.strides[2] +
                       (lo * sw + b * dw - pl) * vx.strides[3],
                   hi - lo, sw * vx.strides[3],
                   wp[a * vw.strides[2] + b * vw.strides[3]]);
        }
      }
      if (vo.strides[3] != 1)
        for (int64_t xo = 0; xo < ow; ++xo)
          op[y * vo.strides[2] + xo * vo.strides[3]] = dst[xo];
    }
  });
}

/// Runs a kernel body that may throw (std::bad_alloc from scratch buffers):
/// an exception may not cross generated code, so it stops the run instead.
template <typename Body> void RunBody(Body &&body) {
  const char *error = nullptr;
  try {
    body();
  } catch (const std::bad_alloc &) {
    error = "out of memory for scratch buffers";
  } catch (const std::exception &) {
    error = "internal error";
  }
  if (error)
    bathy_rt_fail(error, 0, 0, 0);
}

/// Operand sizes the generated code should have checked already; checked
/// again here, since reading outside an operand is never acceptable.
void CheckMatmul(const View &a, const View &b, const View &o) {
  if (a.rank < 2 || b.rank < 2 || o.rank < 2 ||
      o.rank < std::max(a.rank, b.rank))
    bathy_rt_fail("matmul: operand ranks {0} and {1} do not fit the result's",
                  a.rank, b.rank, 0);
  int64_t k = a.sizes[a.rank - 1];
  if (b.sizes[b.rank - 2] != k)
    bathy_rt_fail("matmul: the inner dims differ: {0} vs {1}", k,
                  b.sizes[b.rank - 2], 0);
  if (a.sizes[a.rank - 2] != o.sizes[o.rank - 2] ||
      b.sizes[b.rank - 1] != o.sizes[o.rank - 1])
    bathy_rt_fail("matmul: the result's sizes do not match the operands'", 0, 0,
                  0);
  for (const View *v : {&a, &b})
    for (int64_t j = 0; j < v->rank - 2; ++j) {
      int64_t d = j + o.rank - v->rank;
      if (v->sizes[j] != 1 && v->sizes[j] != o.sizes[d])
        bathy_rt_fail("matmul: batch dim of size {0} does not broadcast to "
                      "{1}",
                      v->sizes[j], o.sizes[d], 0);
    }
}

void CheckConv(const View &x, const View &w, const View &o, bool depthwise) {
  if (x.rank != 4 || w.rank != 4 || o.rank != 4)
    bathy_rt_fail("conv2d: operands must have rank 4", 0, 0, 0);
  if (x.sizes[0] != o.sizes[0])
    bathy_rt_fail("conv2d: batch {0} of the input vs {1} of the result",
                  x.sizes[0], o.sizes[0], 0);
  if (depthwise ? (w.sizes[0] != x.sizes[1] || o.sizes[1] != x.sizes[1])
                : (w.sizes[1] != x.sizes[1] || w.sizes[0] != o.sizes[1]))
    bathy_rt_fail("conv2d: the input has {0} channels, the weight {1}",
                  x.sizes[1], w.sizes[depthwise ? 0 : 1], 0);
}

} // namespace
} // namespace bathy::rt

using namespace bathy::rt;

extern "C" void bathy_rt_matmul_f32(int64_t a_rank, void *a, int64_t b_rank,
                                    void *b, int64_t out_rank, void *out) {
  View va = Decode(a_rank, a), vb = Decode(b_rank, b),
       vo = Decode(out_rank, out);
  CheckMatmul(va, vb, vo);
  RunBody([&] { Matmul(va, vb, vo); });
}

extern "C" void bathy_rt_conv2d_f32(int64_t x_rank, void *x, int64_t w_rank,
                                    void *w, int64_t out_rank, void *out,
                                    int64_t sh, int64_t sw, int64_t dh,
                                    int64_t dw, int64_t pt, int64_t pl) {
  View vx = Decode(x_rank, x), vw = Decode(w_rank, w),
       vo = Decode(out_rank, out);
  CheckConv(vx, vw, vo, /*depthwise=*/false);
  RunBody([&] { Conv2d(vx, vw, vo, sh, sw, dh, dw, pt, pl); });
}

extern "C" void bathy_rt_dwconv2d_f32(int64_t x_rank, void *x, int64_t w_rank,
                                      void *w, int64_t out_rank, void *out,
                                      int64_t sh, int64_t sw, int64_t dh,
                                      int64_t dw, int64_t pt, int64_t pl) {
  View vx = Decode(x_rank, x), vw = Decode(w_rank, w),
       vo = Decode(out_rank, out);
  CheckConv(vx, vw, vo, /*depthwise=*/true);
  RunBody([&] { DwConv2d(vx, vw, vo, sh, sw, dh, dw, pt, pl); });
}

namespace bathy::rt {
namespace {
AttentionArgs AttentionOperands(int64_t q_rank, void *q, int64_t k_rank,
                                void *k, int64_t v_rank, void *v,
                                int64_t out_rank, void *out, float scale,
                                float softcap, int64_t causal) {
  AttentionArgs args;
  args.q = Decode(q_rank, q);
  args.k = Decode(k_rank, k);
  args.v = Decode(v_rank, v);
  args.out = Decode(out_rank, out);
  args.scale = scale;
  args.softcap = softcap;
  args.causal = static_cast<int>(causal);
  return args;
}
void CheckAttention(const AttentionArgs &args) {
  const View &q = args.q, &k = args.k, &v = args.v, &o = args.out;
  int64_t r = o.rank;
  if (r < 3 || q.rank != r || k.rank != r || v.rank != r ||
      (args.mask.data && args.mask.rank > r))
    bathy_rt_fail("attention: operands must share a rank of at least 3", 0, 0,
                  0);
  if (q.sizes[r - 1] != k.sizes[r - 1])
    bathy_rt_fail("attention: q's head dim {0} differs from k's {1}",
                  q.sizes[r - 1], k.sizes[r - 1], 0);
  if (k.sizes[r - 2] != v.sizes[r - 2])
    bathy_rt_fail("attention: k has {0} keys but v has {1}", k.sizes[r - 2],
                  v.sizes[r - 2], 0);
  int64_t hq = q.sizes[r - 3], hk = k.sizes[r - 3];
  if (hk != v.sizes[r - 3] || hk == 0 || hq % hk != 0)
    bathy_rt_fail("attention: {0} query heads do not group over {1} key heads",
                  hq, hk, 0);
  if (o.sizes[r - 3] != hq || o.sizes[r - 2] != q.sizes[r - 2] ||
      o.sizes[r - 1] != v.sizes[r - 1])
    bathy_rt_fail("attention: the result's sizes do not match the operands'", 0,
                  0, 0);
  for (const View *t : {&q, &k, &v})
    for (int64_t d = 0; d < r - 3; ++d)
      if (t->sizes[d] != 1 && t->sizes[d] != o.sizes[d])
        bathy_rt_fail("attention: batch dim of size {0} does not broadcast "
                      "to {1}",
                      t->sizes[d], o.sizes[d], 0);
  if (const View &m = args.mask; m.data)
    for (int64_t i = 0; i < m.rank; ++i) {
      int64_t d = r - m.rank + i;
      int64_t want = d == r - 1   ? k.sizes[r - 2]
                     : d == r - 2 ? q.sizes[r - 2]
                                  : o.sizes[d];
      if (m.sizes[i] != 1 && m.sizes[i] != want)
        bathy_rt_fail("attention: mask dim of size {0} does not broadcast to "
                      "{1}",
                      m.sizes[i], want, 0);
    }
}
} // namespace
} // namespace bathy::rt

extern "C" void bathy_rt_attention_f32(int64_t q_rank, void *q, int64_t k_rank,
                                       void *k, int64_t v_rank, void *v,
                                       int64_t out_rank, void *out, float scale,
                                       float softcap, int64_t causal) {
  AttentionArgs args = AttentionOperands(q_rank, q, k_rank, k, v_rank, v,
                                         out_rank, out, scale, softcap, causal);
  CheckAttention(args);
  RunBody([&] { Attention(args); });
}

extern "C" void bathy_rt_attention_masked_f32(
    int64_t q_rank, void *q, int64_t k_rank, void *k, int64_t v_rank, void *v,
    int64_t mask_rank, void *mask, int64_t out_rank, void *out, float scale,
    float softcap, int64_t causal, float masked_score) {
  AttentionArgs args = AttentionOperands(q_rank, q, k_rank, k, v_rank, v,
                                         out_rank, out, scale, softcap, causal);
  args.mask = Decode(mask_rank, mask);
  args.masked_score = masked_score;
  CheckAttention(args);
  RunBody([&] { Attention(args); });
}

namespace {
struct Slice {
  void (*fn)(void *, int64_t, int64_t);
  void *ctx;
  int64_t begin, end;
};
void RunSlice(void *p) {
  auto *s = static_cast<Slice *>(p);
  s->fn(s->ctx, s->begin, s->end);
}
} // namespace

extern "C" void bathy_rt_parallel_for(int64_t size, int64_t grain,
                                      void (*fn)(void *, int64_t, int64_t),
                                      void *ctx) {
  if (size <= 0)
    return;
  grain = std::max<int64_t>(grain, 1);
  ThreadPool &pool = ThreadPool::Default();
  // One slice per thread: the generated loops are uniform, and fewer slices
  // keep each thread's part of the nest contiguous.
  int64_t slices = std::min<int64_t>(size / grain, pool.num_threads());
  if (slices <= 1) {
    fn(ctx, 0, size);
    return;
  }
  // Each slice runs guarded: a check failing in one ends that slice (the
  // others skip their work), and the failure resumes here, on the thread
  // that runs the kernel, once the loop is over.
  RunContext *run = RunContext::Current();
  std::atomic<bool> failed{false};
  pool.ParallelFor(slices, [&](int64_t i) {
    if (failed.load(std::memory_order_relaxed))
      return;
    Slice slice{fn, ctx, size * i / slices, size * (i + 1) / slices};
    if (!RunTask(run, &RunSlice, &slice))
      failed.store(true, std::memory_order_relaxed);
  });
  if (failed.load())
    ResumeFailure();
}

// glibc's own malloc thresholds are kept: it serves a freed large buffer
// of the same size from the heap next time (its mmap threshold follows the
// largest freed chunk), and trims the rest. Forcing every buffer into the
// heap (as bathy once did, to save page faults on fixed shapes) made the
// heap grow without bound under changing shapes: 11 -> 586 MiB over 800
// padded requests of the suite's Llama on one thread (bench/shape_trace.py),
// 23 MiB with the defaults, at the same latency.
extern "C" void bathy_rt_set_num_threads(int64_t num_threads) {
  if (num_threads < 1) {
    unsigned hw = std::thread::hardware_concurrency();
    num_threads = hw ? hw : 1;
  }
  ThreadPool::SetDefaultThreads(static_cast<int>(num_threads));
}

extern "C" void bathy_rt_memref_copy(int64_t elem_size,
                                     bathy_rt_unranked_memref *src,
                                     bathy_rt_unranked_memref *dst) {
  // Descriptor words: allocated, aligned, offset, sizes[rank], strides[rank].
  auto read = [](const bathy_rt_unranked_memref *m, char **data,
                 const int64_t **sizes, const int64_t **strides) {
    auto *words = static_cast<const int64_t *>(m->descriptor);
    std::memcpy(data, &words[1], sizeof(char *));
    *sizes = words + 3;
    *strides = words + 3 + m->rank;
    return words[2];
  };
  char *s, *d;
  const int64_t *sizes, *sStrides, *dSizes, *dStrides;
  int64_t sOff = read(src, &s, &sizes, &sStrides);
  int64_t dOff = read(dst, &d, &dSizes, &dStrides);
  const int64_t rank = src->rank;
  for (int64_t i = 0; i < rank; ++i)
    if (sizes[i] == 0)
      return;
  std::vector<int64_t> index(rank, 0);
  while (true) {
    std::memcpy(d + dOff * elem_size, s + sOff * elem_size, elem_size);
    // Odometer step over the dims, innermost first.
    int64_t i = rank - 1;
    for (; i >= 0; --i) {
      sOff += sStrides[i];
      dOff += dStrides[i];
      if (++index[i] < sizes[i])
        break;
      sOff -= sStrides[i] * sizes[i];
      dOff -= dStrides[i] * sizes[i];
      index[i] = 0;
    }
    if (i < 0)
      return;
  }
}

namespace bathy::rt {
const KernelSymbol *KernelSymbols(int *count) {
  static const KernelSymbol symbols[] = {
      {entry::kMatmulF32, reinterpret_cast<void *>(&bathy_rt_matmul_f32)},
      {entry::kConv2dF32, reinterpret_cast<void *>(&bathy_rt_conv2d_f32)},
      {entry::kDwConv2dF32, reinterpret_cast<void *>(&bathy_rt_dwconv2d_f32)},
      {entry::kAttentionF32, reinterpret_cast<void *>(&bathy_rt_attention_f32)},
      {entry::kAttentionMaskedF32,
       reinterpret_cast<void *>(&bathy_rt_attention_masked_f32)},
      {entry::kRegisterConstant,
       reinterpret_cast<void *>(&bathy_rt_register_constant)},
      {entry::kUnregisterConstant,
       reinterpret_cast<void *>(&bathy_rt_unregister_constant)},
      {entry::kParallelFor, reinterpret_cast<void *>(&bathy_rt_parallel_for)},
      {entry::kSetNumThreads,
       reinterpret_cast<void *>(&bathy_rt_set_num_threads)},
      {entry::kFail, reinterpret_cast<void *>(&bathy_rt_fail)},
      {entry::kAlloc, reinterpret_cast<void *>(&bathy_rt_alloc)},
      {entry::kFree, reinterpret_cast<void *>(&bathy_rt_free)},
      {entry::kMemrefCopy, reinterpret_cast<void *>(&bathy_rt_memref_copy)},
  };
  *count = sizeof(symbols) / sizeof(symbols[0]);
  return symbols;
}
} // namespace bathy::rt
