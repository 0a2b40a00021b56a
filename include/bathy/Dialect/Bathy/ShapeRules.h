//===- ShapeRules.h - Op shape rules written once, over any dim domain ----===//
//
// The shape rule of an op, as a function of its operands' dims, written once
// and instantiated for each domain bathy reasons about sizes in: static
// sizes (`int64_t`, kDyn where unknown) in type inference (Infer*.cpp,
// ShapeUtils.cpp), and symbolic sizes (products of dim_params, `Expr`) in
// bathy-graph-symbolic-dims. The checks that reject an op stay in its
// inference; these functions assume a verified op (axes normalized and in
// range, perm a permutation), as onnx-mlir's ShapeHelper splits verification
// from computation.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_DIALECT_BATHY_SHAPERULES_H
#define BATHY_DIALECT_BATHY_SHAPERULES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <optional>

namespace bathy::shape {

/// A reduction over `axes` (every dim when empty): reduced dims go, or stay
/// as `one` with `keepdims`.
template <typename Dim>
llvm::SmallVector<Dim> reduce(llvm::ArrayRef<Dim> in,
                              llvm::ArrayRef<int64_t> axes, bool keepdims,
                              const Dim &one) {
  llvm::SmallVector<Dim> out;
  for (int64_t d = 0; d < static_cast<int64_t>(in.size()); ++d) {
    bool reduced = axes.empty() || llvm::is_contained(axes, d);
    if (!reduced)
      out.push_back(in[d]);
    else if (keepdims)
      out.push_back(one);
  }
  return out;
}

/// Result dim i is input dim perm[i].
template <typename Dim>
llvm::SmallVector<Dim> transpose(llvm::ArrayRef<Dim> in,
                                 llvm::ArrayRef<int64_t> perm) {
  llvm::SmallVector<Dim> out;
  for (int64_t p : perm)
    out.push_back(in[p]);
  return out;
}

/// The input dims not in `axes`.
template <typename Dim>
llvm::SmallVector<Dim> squeeze(llvm::ArrayRef<Dim> in,
                               llvm::ArrayRef<int64_t> axes) {
  llvm::SmallVector<Dim> out;
  for (int64_t d = 0; d < static_cast<int64_t>(in.size()); ++d)
    if (!llvm::is_contained(axes, d))
      out.push_back(in[d]);
  return out;
}

/// `one` at each of `axes` (positions in the result), the input dims in
/// order elsewhere.
template <typename Dim>
llvm::SmallVector<Dim> unsqueeze(llvm::ArrayRef<Dim> in,
                                 llvm::ArrayRef<int64_t> axes, const Dim &one) {
  llvm::SmallVector<Dim> out;
  size_t next = 0;
  int64_t rank = in.size() + axes.size();
  for (int64_t d = 0; d < rank; ++d)
    out.push_back(
        llvm::is_contained(axes, d) || next >= in.size() ? one : in[next++]);
  return out;
}

/// Gather along `axis`: the data dims before it, the indices' dims, the
/// data dims after it.
template <typename Dim>
llvm::SmallVector<Dim> gather(llvm::ArrayRef<Dim> data,
                              llvm::ArrayRef<Dim> indices, int64_t axis) {
  llvm::SmallVector<Dim> out(data.take_front(axis));
  out.append(indices.begin(), indices.end());
  out.append(data.begin() + axis + 1, data.end());
  return out;
}

/// Appends a matmul's matrix dims to its (already broadcast) batch dims:
/// the lhs rows unless the lhs is a vector, the rhs columns unless the rhs
/// is one (numpy.matmul's 1-D promotion, undone in the result).
template <typename Dim>
void appendMatmulDims(llvm::SmallVectorImpl<Dim> &out, llvm::ArrayRef<Dim> lhs,
                      llvm::ArrayRef<Dim> rhs) {
  if (lhs.size() > 1)
    out.push_back(lhs[lhs.size() - 2]);
  if (rhs.size() > 1)
    out.push_back(rhs.back());
}

/// NumPy broadcast of result dim `d` (of `rank`, trailing-aligned): the
/// operands' dims at `d` folded with `join(acc, dim)` from `one` (an
/// operand without the dim contributes nothing). `join` returns nullopt
/// for sizes that do not broadcast; what "do not broadcast" and "unknown"
/// mean is the domain's: kDyn against a size, two different symbolic
/// sizes, or a run-time select between index values.
template <typename Dim, typename Join>
std::optional<Dim> broadcastDim(llvm::ArrayRef<llvm::ArrayRef<Dim>> operands,
                                int64_t rank, int64_t d, const Dim &one,
                                Join join) {
  std::optional<Dim> acc = one;
  for (llvm::ArrayRef<Dim> o : operands) {
    int64_t j = d - (rank - static_cast<int64_t>(o.size()));
    if (j < 0)
      continue;
    acc = join(*acc, o[j]);
    if (!acc)
      return std::nullopt;
  }
  return acc;
}

/// Every result dim of a broadcast of `operands` to `rank` (at least the
/// largest operand rank); nullopt when some dim does not broadcast.
template <typename Dim, typename Join>
std::optional<llvm::SmallVector<Dim>>
broadcast(llvm::ArrayRef<llvm::ArrayRef<Dim>> operands, int64_t rank,
          const Dim &one, Join join) {
  llvm::SmallVector<Dim> out;
  for (int64_t d = 0; d < rank; ++d) {
    std::optional<Dim> r = broadcastDim(operands, rank, d, one, join);
    if (!r)
      return std::nullopt;
    out.push_back(*r);
  }
  return out;
}

/// Concatenation along `axis` of inputs of equal rank: off the axis the
/// inputs' dims folded with `same(acc, dim)` (which picks the better-known
/// of two sizes a valid model makes equal), on the axis their sum folded
/// with `add(acc, dim)` from `zero`.
template <typename Dim, typename Same, typename Add>
llvm::SmallVector<Dim> concat(llvm::ArrayRef<llvm::ArrayRef<Dim>> inputs,
                              int64_t axis, const Dim &zero, Same same,
                              Add add) {
  llvm::SmallVector<Dim> out(inputs.front());
  out[axis] = zero;
  for (auto [i, in] : llvm::enumerate(inputs))
    for (int64_t d = 0; d < static_cast<int64_t>(in.size()); ++d)
      if (d == axis)
        out[d] = add(out[d], in[d]);
      else if (i > 0)
        out[d] = same(out[d], in[d]);
  return out;
}

/// The size Reshape's -1 stands for: the input's element count over the
/// product of the result's other dims (`out[inferred]` is not read), as
/// `divide(total, known)` — nullopt where the domain cannot divide.
template <typename Dim, typename Mul, typename Divide>
std::optional<Dim> reshapeInferredDim(llvm::ArrayRef<Dim> in,
                                      llvm::ArrayRef<Dim> out,
                                      size_t inferred, const Dim &one,
                                      Mul mul, Divide divide) {
  Dim total = one, known = one;
  for (const Dim &d : in)
    total = mul(total, d);
  for (auto [i, d] : llvm::enumerate(out))
    if (i != inferred)
      known = mul(known, d);
  return divide(total, known);
}

/// Where ONNX Slice starts along one axis and how many elements it takes.
template <typename Int> struct SliceAxis {
  Int offset;
  Int count;
};

/// ONNX Slice along one axis of size `dim`. Bounds may be anything an
/// int64 holds (INT64_MIN/MAX mean "to the end"): negative bounds count
/// from the end, then are clamped into [0, dim] for a positive step and
/// [-1, dim - 1] for a negative one; an empty slice starts at 0 (so the
/// offset stays in bounds). `Arith` is the domain's integer arithmetic:
/// `constant`, wrapping `add`/`sub`, signed `min`/`max`/`lt`/`gt`, `ne`,
/// `select`, unsigned `divu`/`remu` — over int64_t in type inference
/// (StaticArith), over run-time i64 values in lowering (RuntimeArith).
/// Both arms of a select are computed, so the arithmetic must wrap rather
/// than trap.
template <typename Arith>
SliceAxis<typename Arith::Int> sliceAxis(Arith &ops, typename Arith::Int dim,
                                         typename Arith::Int start,
                                         typename Arith::Int end,
                                         int64_t step) {
  using Int = typename Arith::Int;
  Int zero = ops.constant(0), one = ops.constant(1);
  auto fromEnd = [&](Int v) {
    return ops.select(ops.lt(v, zero), ops.add(v, dim), v);
  };
  auto clamp = [&](Int v, Int lo, Int hi) {
    return ops.min(ops.max(v, lo), hi);
  };
  start = fromEnd(start);
  end = fromEnd(end);
  Int span;
  if (step > 0) {
    start = clamp(start, zero, dim);
    end = clamp(end, zero, dim);
    span = ops.sub(end, start);
  } else {
    Int last = ops.sub(dim, one);
    start = clamp(start, zero, last);
    end = clamp(end, ops.constant(-1), last);
    span = ops.sub(start, end);
  }
  uint64_t stride = step > 0 ? static_cast<uint64_t>(step)
                             : 0 - static_cast<uint64_t>(step);
  // ceil(span / stride) without overflow: (span - 1) / stride + 1.
  auto taken = ops.gt(span, zero);
  Int count = ops.select(
      taken,
      ops.add(ops.divu(ops.sub(span, one),
                       ops.constant(static_cast<int64_t>(stride))),
              one),
      zero);
  return {ops.select(taken, start, zero), count};
}

/// ONNX Range's element count over integers (widened to int64):
/// ceil((limit - start) / delta), 0 for an empty range, exact in 64-bit
/// unsigned arithmetic (the distance between two int64 values fits). A
/// count beyond int64 comes back negative, for the caller to refuse, as it
/// refuses delta 0 (the division stays defined then, by 1). `Arith` as for
/// sliceAxis.
template <typename Arith>
typename Arith::Int rangeCount(Arith &ops, typename Arith::Int start,
                               typename Arith::Int limit,
                               typename Arith::Int delta) {
  using Int = typename Arith::Int;
  Int zero = ops.constant(0), one = ops.constant(1);
  auto up = ops.gt(delta, zero);
  Int from = ops.select(up, start, limit);
  Int to = ops.select(up, limit, start);
  Int distance = ops.sub(to, from);
  Int step = ops.select(up, delta, ops.sub(zero, delta));
  step = ops.select(ops.ne(step, zero), step, one);
  Int rest = ops.select(ops.ne(ops.remu(distance, step), zero), one, zero);
  Int count = ops.add(ops.divu(distance, step), rest);
  return ops.select(ops.lt(from, to), count, zero);
}

} // namespace bathy::shape

#endif // BATHY_DIALECT_BATHY_SHAPERULES_H
