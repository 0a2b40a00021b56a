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

} // namespace bathy::shape

#endif // BATHY_DIALECT_BATHY_SHAPERULES_H
