//===- kernels.h - Microkernels generated code calls ----------------------===//
//
// The C entry points that bathy's generated CPU code calls for GEMM-class
// ops. Operands arrive as MLIR unranked memref descriptors (rank, pointer to
// {allocated, aligned, offset, sizes[rank], strides[rank]}), so any strided
// layout is accepted. Each function accumulates into its output, exactly like
// the linalg contraction it replaces.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_CPU_KERNELS_H
#define BATHY_RUNTIME_CPU_KERNELS_H

#include <cstdint>

extern "C" {

/// out[..., m, n] += a[..., m, k] * b[..., k, n]. Batch dims align from the
/// right (numpy.matmul); an operand batch dim of size 1 broadcasts. Ranks >= 2.
void bathy_rt_matmul_f32(int64_t a_rank, void *a, int64_t b_rank, void *b,
                         int64_t out_rank, void *out);

/// out[n, f, oh, ow] += sum_{c, kh, kw} x[n, c, oh*sh + kh*dh - pad_top,
///                                        ow*sw + kw*dw - pad_left]
///                                      * w[f, c, kh, kw]
/// where x reads 0 outside its sizes (zero padding on every side; the output
/// sizes fix the bottom and right padding). All operands rank 4.
void bathy_rt_conv2d_f32(int64_t x_rank, void *x, int64_t w_rank, void *w,
                         int64_t out_rank, void *out, int64_t stride_h,
                         int64_t stride_w, int64_t dilation_h,
                         int64_t dilation_w, int64_t pad_top, int64_t pad_left);

/// Depthwise: out[n, c, oh, ow] += sum_{kh, kw}
///   x[n, c, oh*sh + kh*dh - pad_top, ow*sw + kw*dw - pad_left]
///   * w[c, 0, kh, kw], x zero outside its sizes.
void bathy_rt_dwconv2d_f32(int64_t x_rank, void *x, int64_t w_rank, void *w,
                           int64_t out_rank, void *out, int64_t stride_h,
                           int64_t stride_w, int64_t dilation_h,
                           int64_t dilation_w, int64_t pad_top,
                           int64_t pad_left);

/// Scaled dot-product attention, flash style (see runtime/cpu/attention.h):
/// out[..., h, i, :] = softmax_j(cap(q[..., h, i, :] . k[..., h/g, j, :] *
/// scale) [+ mask]) v[..., h/g, j, :], g = Hq / Hkv; cap(s) = softcap *
/// tanh(s / softcap) when softcap > 0. causal: 0 none, 1 keys j > i masked,
/// 2 keys j > i + Sk - Sq masked. Overwrites out (does not accumulate).
void bathy_rt_attention_f32(int64_t q_rank, void *q, int64_t k_rank, void *k,
                            int64_t v_rank, void *v, int64_t out_rank,
                            void *out, float scale, float softcap,
                            int64_t causal);
/// The same with an additive mask that broadcasts to [..., Hq, Sq, Sk]; a
/// score whose mask entry is -inf becomes masked_score (-inf: plain add).
void bathy_rt_attention_masked_f32(int64_t q_rank, void *q, int64_t k_rank,
                                   void *k, int64_t v_rank, void *v,
                                   int64_t mask_rank, void *mask,
                                   int64_t out_rank, void *out, float scale,
                                   float softcap, int64_t causal,
                                   float masked_score);

/// Declares [data, data + bytes) immutable until unregistered (model
/// weights): GEMM operands read from it are packed once and reused.
void bathy_rt_register_constant(const void *data, int64_t bytes);
/// Ends that promise for the range starting at `data`, dropping what was
/// derived from it.
void bathy_rt_unregister_constant(const void *data);

/// Runs fn(ctx, begin, end) over slices covering [0, size) on the thread
/// pool, each slice at least `grain` long where size allows; returns when all
/// are done. From inside a task the whole range runs inline.
void bathy_rt_parallel_for(int64_t size, int64_t grain,
                           void (*fn)(void *, int64_t, int64_t), void *ctx);

/// Threads the kernels above use from now on (< 1: all hardware threads).
void bathy_rt_set_num_threads(int64_t num_threads);

/// An unranked memref as generated code passes it: a rank and a pointer to
/// {allocated, aligned, offset, sizes[rank], strides[rank]}.
struct bathy_rt_unranked_memref {
  int64_t rank;
  void *descriptor;
};
/// memref.copy between buffers of any layout, `elem_size` bytes per element
/// (shapes equal, as memref.copy requires). MLIR's memref-to-LLVM lowering
/// calls it by the name entry::kMemrefCopy when it cannot prove both buffers
/// contiguous; the runtime provides it so compiled kernels need no MLIR
/// library at run time.
void bathy_rt_memref_copy(int64_t elem_size, bathy_rt_unranked_memref *src,
                          bathy_rt_unranked_memref *dst);
}

namespace bathy::rt {
/// A kernel symbol and its address, for JITs that resolve them explicitly.
struct KernelSymbol {
  const char *name;
  void *address;
};
/// Every entry point above.
const KernelSymbol *KernelSymbols(int *count);
} // namespace bathy::rt

#endif // BATHY_RUNTIME_CPU_KERNELS_H
