//===- attention.h - Fused scaled dot-product attention -------------------===//
#ifndef BATHY_RUNTIME_CPU_ATTENTION_H
#define BATHY_RUNTIME_CPU_ATTENTION_H

#include <limits>

#include "runtime/cpu/memref.h"

namespace bathy::rt {

/// Operands of Attention. q [..., Hq, Sq, D], k [..., Hkv, Sk, D],
/// v [..., Hkv, Sk, Dv] and out [..., Hq, Sq, Dv] share their rank (>= 3);
/// the leading dims of q, k, v (and the mask) broadcast to out's (size 1
/// reads index 0; larger indices are clamped, never out of bounds). Hq is a
/// multiple of Hkv. `mask` (data null when absent) is additive, aligned
/// right; its head, query and key dims are 1 or the scores'. Any strides.
struct AttentionArgs {
  MemRefView q, k, v, mask, out;
  float scale = 1.0f;
  float softcap = 0.0f; // > 0: scores become softcap * tanh(s / softcap)
  int causal = 0;       // 0 none, 1 key j > query i masked, 2 j > i + Sk - Sq
  /// A score whose mask entry is -inf becomes this (masked_fill semantics:
  /// a row whose every key is masked then weighs all keys equally).
  float masked_score = -std::numeric_limits<float>::infinity();
};

/// out = softmax(cap(q kᵀ scale) + mask [+ causal]) v, one block of keys at
/// a time (the score matrix is never materialised), split over the thread
/// pool by (batch, head, block of queries). A query that sees no key (all
/// -inf) gets NaN, as softmax over -inf does; Sk = 0 gives zeros.
void Attention(const AttentionArgs &args);

} // namespace bathy::rt

#endif // BATHY_RUNTIME_CPU_ATTENTION_H
