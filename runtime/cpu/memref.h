//===- memref.h - MLIR memref descriptors as the runtime sees them --------===//
//
// Generated code passes tensors to the runtime as unranked memrefs: a rank
// and a pointer to {allocated, aligned, offset, sizes[rank], strides[rank]}.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_RUNTIME_CPU_MEMREF_H
#define BATHY_RUNTIME_CPU_MEMREF_H

#include <cstdint>
#include <cstring>

namespace bathy::rt {

/// A decoded strided f32 memref (data already offset). `data` is null for
/// an absent operand.
struct MemRefView {
  float *data = nullptr;
  int64_t rank = 0;
  const int64_t *sizes = nullptr;
  const int64_t *strides = nullptr;
};

inline MemRefView DecodeMemRef(int64_t rank, void *descriptor) {
  auto *words = static_cast<int64_t *>(descriptor);
  float *aligned;
  std::memcpy(&aligned, &words[1], sizeof(float *));
  MemRefView v;
  v.data = aligned + words[2];
  v.rank = rank;
  v.sizes = words + 3;
  v.strides = words + 3 + rank;
  return v;
}

} // namespace bathy::rt

#endif // BATHY_RUNTIME_CPU_MEMREF_H
