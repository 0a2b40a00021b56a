//===- GraphSymbolicDims.cpp - Symbolic sizes for dynamic dims ------------===//
//
// Every dim of every tensor in the graph gets a size expression c * s1^e1 *
// s2^e2 ... over symbols: one symbol per ONNX dim_param name of the inputs
// (ONNX says inputs sharing a dim_param share its size), a fresh symbol for a
// size nothing explains. Small integer tensors that hold shapes carry the
// expressions of their elements, so Shape -> Gather -> Concat -> Reshape
// chains keep track of which size lands where, and Reshape's -1 divides
// products exactly: [batch, seq, 384] -> [batch, seq, -1, 64] has 6 heads
// whatever batch and seq are.
//
// The pass then (1) makes static every dynamic dim whose expression is a
// constant, and (2) records on each broadcasting op (n-ary elementwise,
// expand, matmul batch dims) the result dims along which every operand size
// that is not a static 1 is provably the same expression, in
// `bathy.equal_dims`. The CPU lowering reads those dims with plain identity
// maps; along any other dim with a dynamic operand size it checks at run
// time whether that operand broadcasts (a size-1 dim the type cannot show).
//
//===----------------------------------------------------------------------===//
#include "bathy/Dialect/Bathy/ShapeRules.h"
#include "bathy/Dialect/Bathy/ShapeUtils.h"
#include "bathy/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <map>
#include <optional>

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-graph-symbolic-dims"

namespace bathy {
#define GEN_PASS_DEF_GRAPHSYMBOLICDIMSPASS
#include "bathy/Passes/Passes.h.inc"
} // namespace bathy

using namespace mlir;
using namespace bathy;

namespace {

/// coeff * prod(symbol ^ exponent), symbols sorted, exponents positive.
struct Expr {
  int64_t coeff = 1;
  std::map<unsigned, int> factors;

  static Expr constant(int64_t c) {
    Expr e;
    e.coeff = c;
    return e;
  }
  static Expr symbol(unsigned s) {
    Expr e;
    e.factors[s] = 1;
    return e;
  }
  bool isConstant() const { return factors.empty(); }
  bool operator==(const Expr &o) const {
    return coeff == o.coeff && factors == o.factors;
  }
  bool operator!=(const Expr &o) const { return !(*this == o); }

  Expr operator*(const Expr &o) const {
    Expr r = *this;
    r.coeff *= o.coeff;
    for (auto [s, e] : o.factors)
      r.factors[s] += e;
    if (r.coeff == 0)
      r.factors.clear();
    return r;
  }
  /// this / o when it divides exactly.
  std::optional<Expr> divide(const Expr &o) const {
    if (o.coeff == 0 || coeff % o.coeff != 0)
      return std::nullopt;
    Expr r = *this;
    r.coeff /= o.coeff;
    for (auto [s, e] : o.factors) {
      auto it = r.factors.find(s);
      if (it == r.factors.end() || it->second < e)
        return std::nullopt;
      if ((it->second -= e) == 0)
        r.factors.erase(it);
    }
    return r;
  }
};

using Elems = SmallVector<std::optional<Expr>>;
constexpr int64_t kMaxShapeElems = 16;

struct Analysis {
  explicit Analysis(func::FuncOp func) : func(func) {}

  func::FuncOp func;
  unsigned nextSymbol = 0;
  llvm::StringMap<unsigned> named;
  /// Node-based, so the ArrayRefs dimsOf and the pointers elemsOf hand out
  /// stay valid while later calls add entries (a DenseMap would move them
  /// when it grows: `elems[r] = *elemsOf(x)` read freed memory).
  struct ValueOrder {
    bool operator()(Value a, Value b) const {
      return a.getAsOpaquePointer() < b.getAsOpaquePointer();
    }
  };
  std::map<Value, SmallVector<Expr>, ValueOrder> dims;
  std::map<Value, Elems, ValueOrder> elems;

  Expr fresh() { return Expr::symbol(nextSymbol++); }

  /// The dims of `v`: recorded, else from its type (static sizes, fresh
  /// symbols for the rest).
  ArrayRef<Expr> dimsOf(Value v) {
    auto it = dims.find(v);
    if (it != dims.end())
      return it->second;
    SmallVector<Expr> d;
    if (auto t = dyn_cast<RankedTensorType>(v.getType()))
      for (int64_t s : t.getShape())
        d.push_back(ShapedType::isDynamic(s) ? fresh() : Expr::constant(s));
    return dims[v] = std::move(d);
  }

  const Elems *elemsOf(Value v) {
    auto it = elems.find(v);
    return it == elems.end() ? nullptr : &it->second;
  }

  /// Records `d` for `result`, keeping static sizes of its type.
  void setDims(Value result, SmallVector<Expr> d) {
    auto t = dyn_cast<RankedTensorType>(result.getType());
    if (!t || t.getRank() != static_cast<int64_t>(d.size()))
      return;
    for (int64_t i = 0; i < t.getRank(); ++i)
      if (!t.isDynamicDim(i))
        d[i] = Expr::constant(t.getDimSize(i));
    dims[result] = std::move(d);
  }

  /// Broadcast of `operands`' dims (trailing-aligned) to `rank`; `equal`
  /// gets the result dims where every size that is not 1 is one expression.
  SmallVector<Expr> broadcast(ArrayRef<SmallVector<Expr>> operands,
                              int64_t rank, SmallVectorImpl<int64_t> *equal) {
    SmallVector<ArrayRef<Expr>> dims(operands.begin(), operands.end());
    SmallVector<Expr> out;
    for (int64_t d = 0; d < rank; ++d) {
      // Two sizes that are not 1 and not one expression broadcast to a
      // size only the run time knows.
      bool same = true;
      out.push_back(*shape::broadcastDim<Expr>(
          dims, rank, d, Expr::constant(1),
          [&](const Expr &a, const Expr &b) -> std::optional<Expr> {
            if (a == Expr::constant(1) || a == b)
              return b;
            if (b == Expr::constant(1))
              return a;
            same = false;
            return fresh();
          }));
      if (same && equal)
        equal->push_back(d);
    }
    return out;
  }

  static std::optional<Expr> product(ArrayRef<Expr> d) {
    Expr p = Expr::constant(1);
    for (const Expr &e : d)
      p = p * e;
    return p;
  }

  /// For a broadcasting op (n-ary elementwise, expand, matmul batch dims):
  /// the operand sizes that broadcast against each other, and the rank of
  /// their broadcast.
  std::optional<std::pair<SmallVector<SmallVector<Expr>>, int64_t>>
  broadcastInputs(Operation *op);

  void visit(Operation *op);
  void visitShapeArithmetic(Operation *op);
  void run();
};

/// Integer constants of a small 0-D/1-D tensor.
std::optional<Elems> constantElems(ConstantOp op) {
  auto type = dyn_cast<RankedTensorType>(op.getType());
  if (!type || type.getRank() > 1 || !type.hasStaticShape() ||
      type.getNumElements() > kMaxShapeElems ||
      !isa<IntegerType>(type.getElementType()))
    return std::nullopt;
  auto attr = dyn_cast<DenseIntElementsAttr>(op.getValue());
  if (!attr)
    return std::nullopt;
  Elems out;
  for (const APInt &v : attr.getValues<APInt>())
    out.push_back(Expr::constant(type.getElementType().isUnsignedInteger(1) ||
                                         type.getElementType().isInteger(1)
                                     ? static_cast<int64_t>(v.getZExtValue())
                                     : v.getSExtValue()));
  return out;
}

void Analysis::visitShapeArithmetic(Operation *op) {
  if (op->getNumResults() != 1)
    return;
  Value result = op->getResult(0);
  auto type = dyn_cast<RankedTensorType>(result.getType());
  if (!type || type.getRank() > 1 || !type.hasStaticShape() ||
      type.getNumElements() > kMaxShapeElems ||
      !isa<IntegerType>(type.getElementType()))
    return;
  int64_t n = type.getNumElements();
  auto operandElems = [&](unsigned i) -> const Elems * {
    const Elems *e = elemsOf(op->getOperand(i));
    return e;
  };
  // Elementwise over shape values with broadcasting of single elements.
  auto elementwise =
      [&](function_ref<std::optional<Expr>(ArrayRef<std::optional<Expr>>)> fn) {
        SmallVector<const Elems *> ins;
        for (unsigned i = 0; i < op->getNumOperands(); ++i) {
          const Elems *e = operandElems(i);
          if (!e || (e->size() != 1 && static_cast<int64_t>(e->size()) != n))
            return;
          ins.push_back(e);
        }
        Elems out;
        for (int64_t k = 0; k < n; ++k) {
          SmallVector<std::optional<Expr>> args;
          for (const Elems *e : ins)
            args.push_back((*e)[e->size() == 1 ? 0 : k]);
          out.push_back(fn(args));
        }
        elems[result] = std::move(out);
      };
  auto bothConstant = [](ArrayRef<std::optional<Expr>> a) {
    return a[0] && a[1] && a[0]->isConstant() && a[1]->isConstant();
  };

  if (auto c = dyn_cast<ConstantOp>(op)) {
    if (std::optional<Elems> e = constantElems(c))
      elems[result] = std::move(*e);
  } else if (auto shape = dyn_cast<ShapeOp>(op)) {
    ArrayRef<Expr> d = dimsOf(shape.getInput());
    int64_t rank = d.size();
    int64_t start = shape.getStart(), end = shape.getEnd().value_or(rank);
    start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
    end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
    Elems out;
    for (int64_t i = start; i < end; ++i)
      out.push_back(d[i]);
    if (static_cast<int64_t>(out.size()) == n)
      elems[result] = std::move(out);
  } else if (auto size = dyn_cast<SizeOp>(op)) {
    elems[result] = Elems{product(dimsOf(size.getInput()))};
  } else if (auto gather = dyn_cast<GatherOp>(op)) {
    const Elems *data = operandElems(0);
    const Elems *idx = operandElems(1);
    if (!data || !idx || gather.getAxis() != 0)
      return;
    Elems out;
    for (const std::optional<Expr> &i : *idx) {
      if (!i || !i->isConstant())
        return;
      int64_t k = i->coeff < 0 ? i->coeff + data->size() : i->coeff;
      if (k < 0 || k >= static_cast<int64_t>(data->size()))
        return;
      out.push_back((*data)[k]);
    }
    if (static_cast<int64_t>(out.size()) == n)
      elems[result] = std::move(out);
  } else if (isa<UnsqueezeOp, SqueezeOp, ReshapeOp, DynamicReshapeOp, CastOp>(
                 op)) {
    if (isa<CastOp>(op) &&
        !isa<IntegerType>(
            cast<ShapedType>(op->getOperand(0).getType()).getElementType()))
      return;
    if (const Elems *e = operandElems(0))
      if (static_cast<int64_t>(e->size()) == n)
        elems[result] = *e;
  } else if (auto concat = dyn_cast<ConcatOp>(op)) {
    Elems out;
    for (Value v : concat.getInputs()) {
      const Elems *e = elemsOf(v);
      if (!e)
        return;
      out.append(e->begin(), e->end());
    }
    if (static_cast<int64_t>(out.size()) == n)
      elems[result] = std::move(out);
  } else if (auto slice = dyn_cast<SliceOp>(op)) {
    const Elems *e = operandElems(0);
    if (!e || slice.getAxes().size() != 1 || slice.getAxes()[0] != 0)
      return;
    int64_t len = e->size();
    int64_t start = slice.getStarts()[0], end = slice.getEnds()[0],
            step = slice.getSteps()[0];
    if (step != 1)
      return;
    start = std::clamp<int64_t>(start < 0 ? start + len : start, 0, len);
    end = std::clamp<int64_t>(end < 0 ? end + len : end, 0, len);
    Elems out(e->begin() + start, e->begin() + std::max(start, end));
    if (static_cast<int64_t>(out.size()) == n)
      elems[result] = std::move(out);
  } else if (isa<MulOp>(op)) {
    elementwise([](ArrayRef<std::optional<Expr>> a) -> std::optional<Expr> {
      if (!a[0] || !a[1])
        return std::nullopt;
      return *a[0] * *a[1];
    });
  } else if (isa<DivOp>(op)) {
    elementwise([](ArrayRef<std::optional<Expr>> a) -> std::optional<Expr> {
      if (!a[0] || !a[1] || a[1]->coeff <= 0 || a[0]->coeff < 0)
        return std::nullopt;
      return a[0]->divide(*a[1]);
    });
  } else if (isa<AddOp, SubOp>(op)) {
    bool sub = isa<SubOp>(op);
    elementwise([&](ArrayRef<std::optional<Expr>> a) -> std::optional<Expr> {
      if (a[1] && *a[1] == Expr::constant(0))
        return a[0];
      if (!sub && a[0] && *a[0] == Expr::constant(0))
        return a[1];
      if (!bothConstant(a))
        return std::nullopt;
      return Expr::constant(sub ? a[0]->coeff - a[1]->coeff
                                : a[0]->coeff + a[1]->coeff);
    });
  } else if (isa<EqualOp>(op)) {
    elementwise([&](ArrayRef<std::optional<Expr>> a) -> std::optional<Expr> {
      if (!a[0] || !a[1])
        return std::nullopt;
      if (*a[0] == *a[1])
        return Expr::constant(1);
      if (bothConstant(a))
        return Expr::constant(0);
      // A size (non-negative) never equals a negative constant.
      for (int i = 0; i < 2; ++i)
        if (!a[i]->isConstant() && a[i]->coeff > 0 && a[1 - i]->isConstant() &&
            a[1 - i]->coeff < 0)
          return Expr::constant(0);
      return std::nullopt;
    });
  } else if (isa<WhereOp>(op)) {
    elementwise([](ArrayRef<std::optional<Expr>> a) -> std::optional<Expr> {
      if (!a[0] || !a[0]->isConstant())
        return std::nullopt;
      return a[0]->coeff ? a[1] : a[2];
    });
  } else if (auto cos = dyn_cast<ConstantOfShapeOp>(op)) {
    auto value = dyn_cast<DenseIntElementsAttr>(cos.getValue());
    if (!value || value.getNumElements() != 1)
      return;
    int64_t v = (*value.getValues<APInt>().begin()).getSExtValue();
    elems[result] = Elems(n, Expr::constant(v));
  } else if (isa<MaxOp, MinOp>(op)) {
    bool isMax = isa<MaxOp>(op);
    elementwise([&](ArrayRef<std::optional<Expr>> a) -> std::optional<Expr> {
      if (a[0] && a[1] && *a[0] == *a[1])
        return a[0];
      if (!bothConstant(a))
        return std::nullopt;
      return Expr::constant(isMax ? std::max(a[0]->coeff, a[1]->coeff)
                                  : std::min(a[0]->coeff, a[1]->coeff));
    });
  }
}

std::optional<std::pair<SmallVector<SmallVector<Expr>>, int64_t>>
Analysis::broadcastInputs(Operation *op) {
  auto type = dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!type)
    return std::nullopt;
  int64_t rank = type.getRank();
  SmallVector<SmallVector<Expr>> ins;
  if (op->hasTrait<bathy::OpTrait::BathyElementwise>() &&
      op->getNumOperands() > 1) {
    for (Value v : op->getOperands())
      ins.push_back(SmallVector<Expr>(dimsOf(v)));
    return std::make_pair(std::move(ins), rank);
  }
  if (auto e = dyn_cast<ExpandOp>(op)) {
    SmallVector<Expr> tgt;
    if (const Elems *target = elemsOf(e.getShape())) {
      for (const std::optional<Expr> &t : *target)
        tgt.push_back(t && t->coeff >= 0 ? *t : fresh());
    } else {
      auto st = cast<RankedTensorType>(e.getShape().getType());
      for (int64_t i = 0; i < st.getDimSize(0); ++i)
        tgt.push_back(fresh());
    }
    ins.push_back(SmallVector<Expr>(dimsOf(e.getInput())));
    ins.push_back(std::move(tgt));
    return std::make_pair(std::move(ins), rank);
  }
  if (auto m = dyn_cast<MatmulOp>(op)) {
    ArrayRef<Expr> l = dimsOf(m.getLhs()), r = dimsOf(m.getRhs());
    bool lv = l.size() == 1, rv = r.size() == 1;
    ins.push_back(SmallVector<Expr>(l.drop_back(lv ? 1 : 2)));
    ins.push_back(SmallVector<Expr>(r.drop_back(rv ? 1 : 2)));
    return std::make_pair(std::move(ins), rank - (lv ? 0 : 1) - (rv ? 0 : 1));
  }
  return std::nullopt;
}

void Analysis::visit(Operation *op) {
  if (!isa<BathyDialect>(op->getDialect()))
    return;
  visitShapeArithmetic(op);
  if (op->getNumResults() != 1)
    return;
  Value result = op->getResult(0);
  auto type = dyn_cast<RankedTensorType>(result.getType());
  if (!type || type.hasStaticShape())
    return;
  int64_t rank = type.getRank();
  auto operandDims = [&](unsigned i) {
    return SmallVector<Expr>(dimsOf(op->getOperand(i)));
  };

  if (op->hasTrait<bathy::OpTrait::BathyElementwise>() ||
      op->hasTrait<bathy::OpTrait::BathyShapeOfFirstOperand>()) {
    if (op->getNumOperands() == 1 ||
        !op->hasTrait<bathy::OpTrait::BathyElementwise>()) {
      SmallVector<Expr> d = operandDims(0);
      if (static_cast<int64_t>(d.size()) == rank)
        setDims(result, std::move(d));
      return;
    }
    auto [ins, r] = *broadcastInputs(op);
    setDims(result, broadcast(ins, r, nullptr));
  } else if (auto t = dyn_cast<TransposeOp>(op)) {
    // The shape rules shared with type inference (ShapeRules.h).
    SmallVector<Expr> in = operandDims(0);
    if (in.size() == t.getPerm().size())
      setDims(result, shape::transpose<Expr>(in, t.getPerm()));
  } else if (auto u = dyn_cast<UnsqueezeOp>(op)) {
    SmallVector<Expr> out =
        shape::unsqueeze<Expr>(operandDims(0), u.getAxes(), Expr::constant(1));
    if (static_cast<int64_t>(out.size()) == rank)
      setDims(result, std::move(out));
  } else if (auto s = dyn_cast<SqueezeOp>(op)) {
    SmallVector<Expr> out = shape::squeeze<Expr>(operandDims(0), s.getAxes());
    if (static_cast<int64_t>(out.size()) == rank)
      setDims(result, std::move(out));
  } else if (auto r = dyn_cast<ReshapeOp>(op)) {
    // One dynamic dim: the input's element count over the static ones.
    if (type.getNumDynamicDims() != 1)
      return;
    SmallVector<Expr> out;
    for (int64_t d : type.getShape())
      out.push_back(Expr::constant(ShapedType::isDynamic(d) ? 1 : d));
    size_t inferred = llvm::find_if(type.getShape(), ShapedType::isDynamic) -
                      type.getShape().begin();
    std::optional<Expr> q = shape::reshapeInferredDim<Expr>(
        dimsOf(r.getInput()), out, inferred, Expr::constant(1),
        [](const Expr &a, const Expr &b) { return a * b; },
        [](const Expr &total, const Expr &known) {
          return total.divide(known);
        });
    out[inferred] = q ? *q : fresh();
    setDims(result, std::move(out));
  } else if (auto r = dyn_cast<DynamicReshapeOp>(op)) {
    const Elems *target = elemsOf(r.getShape());
    if (!target || static_cast<int64_t>(target->size()) != rank)
      return;
    SmallVector<Expr> in = operandDims(0);
    SmallVector<Expr> out;
    int64_t inferred = -1;
    for (int64_t d = 0; d < rank; ++d) {
      const std::optional<Expr> &e = (*target)[d];
      if (!e || e->coeff < 0) {
        if (e && *e == Expr::constant(-1))
          inferred = d;
        else if (!e)
          return; // could be 0 or -1: nothing is known
        out.push_back(Expr::constant(1));
      } else if (*e == Expr::constant(0) && !r.getAllowzero()) {
        if (d >= static_cast<int64_t>(in.size()))
          return;
        out.push_back(in[d]);
      } else {
        out.push_back(*e);
      }
    }
    if (inferred >= 0) {
      std::optional<Expr> q = shape::reshapeInferredDim<Expr>(
          in, out, inferred, Expr::constant(1),
          [](const Expr &a, const Expr &b) { return a * b; },
          [](const Expr &total, const Expr &known) {
            return total.divide(known);
          });
      out[inferred] = q ? *q : fresh();
    }
    setDims(result, std::move(out));
  } else if (isa<ExpandOp>(op)) {
    auto [ins, r] = *broadcastInputs(op);
    setDims(result, broadcast(ins, r, nullptr));
  } else if (auto m = dyn_cast<MatmulOp>(op)) {
    auto [ins, batch] = *broadcastInputs(op);
    SmallVector<Expr> out = broadcast(ins, batch, nullptr);
    shape::appendMatmulDims<Expr>(out, dimsOf(m.getLhs()), dimsOf(m.getRhs()));
    setDims(result, std::move(out));
  } else if (auto g = dyn_cast<GatherOp>(op)) {
    SmallVector<Expr> data = operandDims(0), idx = operandDims(1);
    int64_t axis = g.getAxis();
    if (axis < 0)
      axis += data.size();
    if (axis < 0 || axis >= static_cast<int64_t>(data.size()))
      return;
    setDims(result, shape::gather<Expr>(data, idx, axis));
  } else if (isa<GatherElementsOp>(op)) {
    setDims(result, operandDims(1));
  } else if (auto range = dyn_cast<RangeOp>(op)) {
    const Elems *start = elemsOf(range.getStart());
    const Elems *limit = elemsOf(range.getLimit());
    const Elems *delta = elemsOf(range.getDelta());
    if (start && limit && delta && (*start)[0] &&
        *(*start)[0] == Expr::constant(0) && (*delta)[0] &&
        *(*delta)[0] == Expr::constant(1) && (*limit)[0] &&
        (*limit)[0]->coeff >= 0)
      setDims(result, {*(*limit)[0]});
  } else if (op->hasTrait<bathy::OpTrait::BathyReduction>() &&
             !op->hasTrait<bathy::OpTrait::BathyShapeOfFirstOperand>()) {
    // reduce_*: the axes go (or become 1 with keepdims).
    auto axes = dyn_cast_or_null<DenseI64ArrayAttr>(
        op->getInherentAttr("axes").value_or(Attribute()));
    auto keep = dyn_cast_or_null<BoolAttr>(
        op->getInherentAttr("keepdims").value_or(Attribute()));
    if (!axes)
      return;
    setDims(result,
            shape::reduce<Expr>(operandDims(0), axes.asArrayRef(),
                                !keep || keep.getValue(), Expr::constant(1)));
  } else if (auto c = dyn_cast<ConcatOp>(op)) {
    // Sizes off the concatenated axis are equal in a valid model; they are
    // taken from the first operand only when all operands agree.
    int64_t axis = static_cast<int64_t>(c.getAxis());
    if (axis < 0)
      axis += rank;
    SmallVector<ArrayRef<Expr>> inputs;
    for (Value v : c.getInputs()) {
      inputs.push_back(dimsOf(v));
      if (static_cast<int64_t>(inputs.back().size()) != rank)
        return;
    }
    setDims(result,
            shape::concat<Expr>(
                inputs, axis, Expr::constant(0),
                [&](const Expr &a, const Expr &b) {
                  return a == b ? a : fresh();
                },
                [&](const Expr &a, const Expr &b) {
                  if (a == Expr::constant(0))
                    return b;
                  if (a.isConstant() && b.isConstant())
                    return Expr::constant(a.coeff + b.coeff);
                  return fresh();
                }));
  } else if (auto s = dyn_cast<SliceOp>(op)) {
    // Axes not sliced, or sliced [0, end >= size) with step 1, keep their
    // size.
    SmallVector<Expr> out = operandDims(0);
    if (static_cast<int64_t>(out.size()) != rank)
      return;
    for (auto [axis, start, end, step] :
         llvm::zip(s.getAxes(), s.getStarts(), s.getEnds(), s.getSteps())) {
      int64_t a = axis < 0 ? axis + rank : axis;
      if (a < 0 || a >= rank)
        return;
      if (!(start == 0 && step == 1 && end >= (int64_t{1} << 31)))
        out[a] = fresh();
    }
    setDims(result, std::move(out));
  }
}

void Analysis::run() {
  auto params = func.getAllArgAttrs();
  for (BlockArgument arg : func.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type)
      continue;
    ArrayAttr names;
    if (auto dict = params ? dyn_cast_or_null<DictionaryAttr>(
                                 params[arg.getArgNumber()])
                           : DictionaryAttr())
      names = dict.getAs<ArrayAttr>("bathy.dim_params");
    SmallVector<Expr> d;
    for (int64_t i = 0; i < type.getRank(); ++i) {
      if (!type.isDynamicDim(i)) {
        d.push_back(Expr::constant(type.getDimSize(i)));
        continue;
      }
      auto name = names && i < static_cast<int64_t>(names.size())
                      ? dyn_cast<StringAttr>(names[i])
                      : StringAttr();
      if (!name || name.getValue().empty()) {
        d.push_back(fresh());
        continue;
      }
      auto [it, inserted] = named.try_emplace(name.getValue(), nextSymbol);
      if (inserted)
        ++nextSymbol;
      d.push_back(Expr::symbol(it->second));
    }
    dims[arg] = std::move(d);
  }
  func.walk([&](Operation *op) { visit(op); });
}

/// The result dims of a broadcasting op where every operand size that is
/// not a static 1 is one expression, or nullopt for ops that do not
/// broadcast.
std::optional<SmallVector<int64_t>> equalDims(Analysis &a, Operation *op) {
  auto inputs = a.broadcastInputs(op);
  if (!inputs)
    return std::nullopt;
  SmallVector<int64_t> equal;
  a.broadcast(inputs->first, inputs->second, &equal);
  return equal;
}

struct GraphSymbolicDimsPass
    : bathy::impl::GraphSymbolicDimsPassBase<GraphSymbolicDimsPass> {
  using GraphSymbolicDimsPassBase::GraphSymbolicDimsPassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    Analysis a(func);
    a.run();
    func.walk([&](Operation *op) {
      if (!isa<BathyDialect>(op->getDialect()) || op->getNumResults() != 1)
        return;
      // Static sizes the types do not show yet.
      Value result = op->getResult(0);
      auto type = dyn_cast<RankedTensorType>(result.getType());
      auto it = a.dims.find(result);
      if (type && it != a.dims.end() && !type.hasStaticShape() &&
          canRefineType(result)) {
        SmallVector<int64_t> shape(type.getShape());
        bool changed = false;
        for (auto [d, e] : llvm::zip(shape, it->second))
          if (ShapedType::isDynamic(d) && e.isConstant() && e.coeff >= 0) {
            d = e.coeff;
            changed = true;
          }
        if (changed) {
          result.setType(RankedTensorType::get(shape, type.getElementType(),
                                               type.getEncoding()));
          ++numRefined;
        }
      }
      if (std::optional<SmallVector<int64_t>> equal = equalDims(a, op)) {
        op->setAttr(kEqualDimsAttr,
                    DenseI64ArrayAttr::get(op->getContext(), *equal));
        ++numAnnotated;
        LLVM_DEBUG(llvm::dbgs() << "equal dims proven for " << op->getName()
                                << " at " << op->getLoc() << "\n");
      }
    });
    syncResultTypesWithReturn(func);
  }
};

} // namespace
