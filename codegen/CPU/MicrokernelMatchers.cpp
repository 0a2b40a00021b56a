//===- MicrokernelMatchers.cpp - linalg forms the CPU runtime computes ----===//
#include "MicrokernelMatchers.h"

#include "runtime/cpu/entry_points.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace bathy::cpu {
namespace {

using Kind = MicrokernelMatch::Kind;

/// Whether `op`'s body is `out + lhs * rhs` on floats (either operand order
/// of each).
bool isMultiplyAccumulate(linalg::GenericOp op) {
  Block *body = op.getBody();
  if (body->getNumArguments() != 3 ||
      !llvm::hasNItems(body->without_terminator(), 2))
    return false;
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  if (yield.getNumOperands() != 1)
    return false;
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body->getArgument(2);
  Value product = add.getLhs() == acc   ? add.getRhs()
                  : add.getRhs() == acc ? add.getLhs()
                                        : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  Value a = body->getArgument(0), b = body->getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) ||
         (mul.getLhs() == b && mul.getRhs() == a);
}

/// Whether `expr` is loop dim `dim`.
bool isDim(AffineExpr expr, unsigned dim) {
  auto d = dyn_cast<AffineDimExpr>(expr);
  return d && d.getPosition() == dim;
}

/// Whether `expr` is the constant 0.
bool isZero(AffineExpr expr) {
  auto c = dyn_cast<AffineConstantExpr>(expr);
  return c && c.getValue() == 0;
}

/// Adds `scale` times the coefficients of linear `expr` to `coeffs` (one per
/// loop dim) and its constant term to `constant`; false if it is not linear.
bool collectLinear(AffineExpr expr, int64_t scale,
                   SmallVectorImpl<int64_t> &coeffs, int64_t &constant) {
  if (auto d = dyn_cast<AffineDimExpr>(expr)) {
    coeffs[d.getPosition()] += scale;
    return true;
  }
  if (auto c = dyn_cast<AffineConstantExpr>(expr)) {
    constant += scale * c.getValue();
    return true;
  }
  auto bin = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!bin)
    return false;
  if (bin.getKind() == AffineExprKind::Add)
    return collectLinear(bin.getLHS(), scale, coeffs, constant) &&
           collectLinear(bin.getRHS(), scale, coeffs, constant);
  if (bin.getKind() == AffineExprKind::Mul) {
    if (auto c = dyn_cast<AffineConstantExpr>(bin.getRHS()))
      return collectLinear(bin.getLHS(), scale * c.getValue(), coeffs,
                           constant);
    if (auto c = dyn_cast<AffineConstantExpr>(bin.getLHS()))
      return collectLinear(bin.getRHS(), scale * c.getValue(), coeffs,
                           constant);
  }
  return false;
}

/// Whether `expr` is `out * stride + tap * dilation` over loop dims `out`
/// and `tap` only, both factors positive; sets them.
bool isWindowIndex(AffineExpr expr, unsigned numLoops, unsigned out,
                   unsigned tap, int64_t &stride, int64_t &dilation) {
  SmallVector<int64_t> coeffs(numLoops, 0);
  int64_t constant = 0;
  if (!collectLinear(expr, 1, coeffs, constant) || constant != 0)
    return false;
  for (unsigned d = 0; d < numLoops; ++d)
    if (d != out && d != tap && coeffs[d] != 0)
      return false;
  stride = coeffs[out];
  dilation = coeffs[tap];
  return stride > 0 && dilation > 0;
}

/// Whether the iterators of `op` are `pattern` ('p' parallel, 'r'
/// reduction).
bool hasIterators(linalg::GenericOp op, StringRef pattern) {
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators.size() != pattern.size())
    return false;
  for (auto [it, c] : llvm::zip(iterators, pattern))
    if ((it == utils::IteratorType::reduction) != (c == 'r'))
      return false;
  return true;
}

std::optional<MicrokernelMatch> matchMatmul(linalg::GenericOp op,
                                            ArrayRef<ShapedType> types) {
  int64_t outRank = types[2].getRank();
  int64_t lhsRank = types[0].getRank(), rhsRank = types[1].getRank();
  if (lhsRank < 2 || rhsRank < 2 || outRank < std::max(lhsRank, rhsRank) ||
      op.getNumLoops() != static_cast<unsigned>(outRank + 1))
    return std::nullopt;
  // Loops [batch..., m, k, n].
  unsigned batch = outRank - 2, m = batch, k = batch + 1, n = batch + 2;
  std::string iterators(outRank + 1, 'p');
  iterators[k] = 'r';
  if (!hasIterators(op, iterators))
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap out = maps[2];
  for (unsigned d = 0; d < batch; ++d)
    if (!isDim(out.getResult(d), d))
      return std::nullopt;
  if (!isDim(out.getResult(batch), m) || !isDim(out.getResult(batch + 1), n))
    return std::nullopt;
  // An operand's batch dims align with the result's last ones; a size-1 dim
  // may broadcast (read at index 0).
  auto operandFits = [&](AffineMap map, ShapedType type, unsigned row,
                         unsigned col) {
    int64_t rank = type.getRank(), operandBatch = rank - 2;
    for (int64_t j = 0; j < operandBatch; ++j) {
      AffineExpr e = map.getResult(j);
      bool broadcast = isZero(e) && type.getDimSize(j) == 1;
      if (!broadcast && !isDim(e, batch - operandBatch + j))
        return false;
    }
    return isDim(map.getResult(rank - 2), row) &&
           isDim(map.getResult(rank - 1), col);
  };
  if (!operandFits(maps[0], types[0], m, k) ||
      !operandFits(maps[1], types[1], k, n))
    return std::nullopt;
  return MicrokernelMatch{Kind::MatmulF32, {}, {}};
}

std::optional<MicrokernelMatch> matchConv(linalg::GenericOp op,
                                          ArrayRef<ShapedType> types) {
  for (ShapedType t : types)
    if (t.getRank() != 4)
      return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap in = maps[0], w = maps[1], out = maps[2];
  auto dims = [](AffineMap map, ArrayRef<unsigned> want) {
    for (auto [i, d] : llvm::enumerate(want))
      if (!isDim(map.getResult(i), d))
        return false;
    return true;
  };
  MicrokernelMatch match{Kind::Conv2dF32, {0, 0}, {0, 0}};
  unsigned loops = op.getNumLoops();
  // Loops [n, f, c, kh, kw, oh, ow].
  if (hasIterators(op, "pprrrpp") && dims(out, {0, 1, 5, 6}) &&
      dims(w, {1, 2, 3, 4}) && isDim(in.getResult(0), 0) &&
      isDim(in.getResult(1), 2) &&
      isWindowIndex(in.getResult(2), loops, 5, 3, match.strides[0],
                    match.dilations[0]) &&
      isWindowIndex(in.getResult(3), loops, 6, 4, match.strides[1],
                    match.dilations[1]))
    return match;
  // Depthwise, loops [n, c, kh, kw, oh, ow]: filter c reads channel c.
  match.kind = Kind::DwConv2dF32;
  if (hasIterators(op, "pprrpp") && dims(out, {0, 1, 4, 5}) &&
      isDim(w.getResult(0), 1) && isZero(w.getResult(1)) &&
      types[1].getDimSize(1) == 1 && isDim(w.getResult(2), 2) &&
      isDim(w.getResult(3), 3) && dims(in, {0, 1}) &&
      isWindowIndex(in.getResult(2), loops, 4, 2, match.strides[0],
                    match.dilations[0]) &&
      isWindowIndex(in.getResult(3), loops, 5, 3, match.strides[1],
                    match.dilations[1]))
    return match;
  return std::nullopt;
}

} // namespace

StringRef MicrokernelMatch::entryPoint() const {
  switch (kind) {
  case Kind::MatmulF32:
    return rt::entry::kMatmulF32;
  case Kind::Conv2dF32:
    return rt::entry::kConv2dF32;
  case Kind::DwConv2dF32:
    return rt::entry::kDwConv2dF32;
  }
  llvm_unreachable("unknown microkernel");
}

std::optional<MicrokernelMatch> matchMicrokernel(linalg::GenericOp op) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1)
    return std::nullopt;
  SmallVector<ShapedType, 3> types;
  for (Value v :
       {op.getDpsInputOperand(0)->get(), op.getDpsInputOperand(1)->get(),
        op.getDpsInitOperand(0)->get()}) {
    auto t = dyn_cast<ShapedType>(v.getType());
    if (!t || !t.hasRank() || !t.getElementType().isF32())
      return std::nullopt;
    types.push_back(t);
  }
  if (!isMultiplyAccumulate(op))
    return std::nullopt;
  if (std::optional<MicrokernelMatch> m = matchMatmul(op, types))
    return m;
  return matchConv(op, types);
}

} // namespace bathy::cpu
