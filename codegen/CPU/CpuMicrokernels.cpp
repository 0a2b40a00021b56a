//===- CpuMicrokernels.cpp - Contractions become runtime kernel calls -----===//
//
// After bufferization, every linalg.generic that has exactly the form of a
// runtime kernel (MicrokernelMatchers.h: matmul, 2-D and depthwise
// convolution on f32) is replaced by a call into the runtime: operands are
// cast to unranked memrefs, which lower to (rank, descriptor pointer) pairs
// that the C entry points in runtime/cpu/kernels.h decode. Transposes
// feeding an operand (or reading a fused attention's result) become strides,
// and a convolution's zero padding is read in place.
//
//===----------------------------------------------------------------------===//
#include "MicrokernelMatchers.h"
#include "bathy/Codegen/CPU/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "runtime/cpu/entry_points.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-cpu-microkernels"

namespace bathy {
#define GEN_PASS_DEF_CPUMICROKERNELSPASS
#include "bathy/Codegen/CPU/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {

using cpu::matchMicrokernel;
using cpu::MicrokernelMatch;

/// The allocation a buffer is a view of (null if not a memref.alloc).
Operation *rootAlloc(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v.getDefiningOp<memref::AllocOp>();
}

/// The permutation a copy into `dst` applies (result dim i = source dim
/// perm[i]) and its source, if `op` is such a copy: linalg.transpose, or a
/// generic that only moves elements between permuted indexings.
std::optional<std::pair<Value, SmallVector<int64_t>>>
permutingCopy(Operation *op, Value dst) {
  if (auto t = dyn_cast<linalg::TransposeOp>(op)) {
    if (!t.hasPureBufferSemantics() || t.getInit() != dst)
      return std::nullopt;
    return std::make_pair(t.getInput(), llvm::to_vector(t.getPermutation()));
  }
  auto g = dyn_cast<linalg::GenericOp>(op);
  if (!g || !g.hasPureBufferSemantics() || g.getNumDpsInputs() != 1 ||
      g.getNumDpsInits() != 1 || g.getDpsInitOperand(0)->get() != dst ||
      g.getNumReductionLoops() != 0)
    return std::nullopt;
  Block *body = g.getBody();
  auto yield = dyn_cast<linalg::YieldOp>(body->getTerminator());
  if (!yield || body->getOperations().size() != 1 ||
      yield.getValues().size() != 1 ||
      yield.getValues()[0] != body->getArgument(0))
    return std::nullopt;
  AffineMap in = g.getIndexingMapsArray()[0], out = g.getIndexingMapsArray()[1];
  if (!in.isPermutation() || !out.isPermutation())
    return std::nullopt;
  SmallVector<int64_t> perm;
  for (unsigned i = 0; i < out.getNumResults(); ++i) {
    unsigned loop = out.getDimPosition(i);
    for (unsigned k = 0; k < in.getNumResults(); ++k)
      if (in.getDimPosition(k) == loop)
        perm.push_back(k);
  }
  return std::make_pair(g.getDpsInputOperand(0)->get(), perm);
}

/// When `v`, used by `reader` (directly) and read by `user` (the kernel;
/// the same op unless `reader` is a cast feeding it), is a fresh buffer that
/// a permuting copy fills and nothing else touches, a transposed view of the
/// copy's source (the kernel takes any strides), created before `reader`;
/// the copy and buffer go to `dead`.
Value viewThroughTranspose(Value v, Operation *reader, Operation *user,
                           SmallVectorImpl<Operation *> &dead) {
  auto alloc = v.getDefiningOp<memref::AllocOp>();
  if (!alloc)
    return {};
  Operation *writer = nullptr;
  for (Operation *u : alloc->getUsers()) {
    if (u == reader)
      continue;
    if (writer)
      return {};
    writer = u;
  }
  if (!writer || writer->getBlock() != user->getBlock() ||
      !writer->isBeforeInBlock(user))
    return {};
  auto copy = permutingCopy(writer, v);
  if (!copy)
    return {};
  auto [source, perm] = *copy;
  // The source must still hold the same data when the kernel runs: ops in
  // between may only write other fresh buffers.
  Operation *sourceRoot = rootAlloc(source);
  for (Operation *op = writer->getNextNode(); op != user;
       op = op->getNextNode()) {
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects)
      return {};
    SmallVector<MemoryEffects::EffectInstance> list;
    effects.getEffects(list);
    for (auto &e : list) {
      if (!isa<MemoryEffects::Write>(e.getEffect()))
        continue;
      Operation *root = e.getValue() ? rootAlloc(e.getValue()) : nullptr;
      if (!root || root == sourceRoot)
        return {};
    }
  }
  OpBuilder b(reader);
  Value view = memref::TransposeOp::create(
      b, writer->getLoc(), source,
      AffineMapAttr::get(AffineMap::getPermutationMap(perm, b.getContext())));
  dead.push_back(writer);
  dead.push_back(alloc);
  return view;
}

/// The buffer under a chain of single-use memref.cast ops, and the cast
/// reading it (null when `v` is not such a cast chain).
std::pair<Value, Operation *> throughCasts(Value v) {
  Operation *reader = nullptr;
  while (auto c = v.getDefiningOp<memref::CastOp>()) {
    if (!c->hasOneUse())
      return {v, nullptr};
    reader = c;
    v = c.getSource();
  }
  return {v, reader};
}

/// Replaces operand `index` of `call` by a cast of `buffer` and erases the
/// cast chain it replaces if nothing else uses it.
void replaceCastOperand(func::CallOp call, unsigned index, Value buffer) {
  Value old = call.getOperand(index);
  OpBuilder b(call);
  call->setOperand(
      index, memref::CastOp::create(b, call.getLoc(), old.getType(), buffer));
  while (auto c = old.getDefiningOp<memref::CastOp>()) {
    if (!c->use_empty())
      break;
    old = c.getSource();
    c->erase();
  }
}

/// When the fresh buffer a kernel writes (operand `index` of `call`, behind
/// casts) is only read by a permuting copy into another fresh buffer, the
/// kernel writes that buffer through a transposed view instead, and the
/// copy is dropped (the attention output [B, H, S, D] -> [B, S, H, D]).
bool writeThroughTranspose(func::CallOp call, unsigned index) {
  auto [root, reader] = throughCasts(call.getOperand(index));
  auto alloc = root.getDefiningOp<memref::AllocOp>();
  if (!alloc || !reader)
    return false;
  Operation *copy = nullptr;
  for (Operation *u : alloc->getUsers()) {
    if (u == reader)
      continue;
    if (copy)
      return false;
    copy = u;
  }
  if (!copy || copy->getBlock() != call->getBlock() ||
      !call->isBeforeInBlock(copy))
    return false;
  Value dst;
  if (auto t = dyn_cast<linalg::TransposeOp>(copy))
    dst = t.getInit();
  else if (auto g = dyn_cast<linalg::GenericOp>(copy);
           g && g.getNumDpsInits() == 1)
    dst = g.getDpsInitOperand(0)->get();
  auto permuted = dst ? permutingCopy(copy, dst) : std::nullopt;
  if (!permuted || permuted->first != root)
    return false;
  auto dstAlloc = dst.getDefiningOp<memref::AllocOp>();
  if (!dstAlloc || dstAlloc->getBlock() != call->getBlock())
    return false;
  // Nothing may use the destination before the copy fills it.
  for (Operation *u : dstAlloc->getUsers())
    if (u != copy &&
        (u->getBlock() != copy->getBlock() || u->isBeforeInBlock(copy)))
      return false;
  // It must exist when the kernel runs.
  if (call->isBeforeInBlock(dstAlloc)) {
    for (Value size : dstAlloc->getOperands())
      if (Operation *def = size.getDefiningOp();
          def && def->getBlock() == call->getBlock() &&
          !def->isBeforeInBlock(call))
        return false;
    dstAlloc->moveBefore(call);
  }
  const SmallVector<int64_t> &perm = permuted->second;
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = i;
  OpBuilder b(call);
  Value view = memref::TransposeOp::create(
      b, copy->getLoc(), dst,
      AffineMapAttr::get(
          AffineMap::getPermutationMap(inverse, b.getContext())));
  replaceCastOperand(call, index, view);
  copy->erase();
  if (alloc->use_empty())
    alloc->erase();
  return true;
}

func::FuncOp declare(ModuleOp module, StringRef name, TypeRange args) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto f = func::FuncOp::create(b, module.getLoc(), name,
                                b.getFunctionType(args, {}));
  f.setPrivate();
  return f;
}

/// Whether `op` fills all of `buffer` with +0.0 (linalg.fill, or a
/// linalg.map without inputs yielding that constant).
bool isZeroFill(Operation *op, Value buffer) {
  Value value;
  if (auto fill = dyn_cast<linalg::FillOp>(op)) {
    if (fill.getDpsInitOperand(0)->get() != buffer)
      return false;
    value = fill.getDpsInputOperand(0)->get();
  } else if (auto map = dyn_cast<linalg::MapOp>(op)) {
    if (!map.getInputs().empty() || map.getInit() != buffer)
      return false;
    auto yield = cast<linalg::YieldOp>(map.getMapper().front().getTerminator());
    if (yield.getNumOperands() != 1)
      return false;
    value = yield.getOperand(0);
  } else {
    return false;
  }
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  auto f = constant ? dyn_cast<FloatAttr>(constant.getValue()) : FloatAttr();
  return f && f.getValue().isPosZero();
}

/// The buffer `v` is a view of (through subviews and casts).
Value viewRoot(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto sub = dyn_cast<memref::SubViewOp>(def))
      v = sub.getSource();
    else if (auto cast = dyn_cast<memref::CastOp>(def))
      v = cast.getSource();
    else
      break;
  }
  return v;
}

/// A convolution input the lowering zero-padded: a fresh buffer, filled
/// with zero, the unpadded input copied into its interior, read by nothing
/// but `conv`. The runtime kernels read the padding in place instead.
struct PaddedInput {
  Value source;
  int64_t top = 0, left = 0;
  SmallVector<Operation *> dead; // copy, subview, fill, alloc
};

std::optional<PaddedInput> unpaddedInput(Value input, Operation *conv) {
  auto alloc = input.getDefiningOp<memref::AllocOp>();
  if (!alloc || alloc->getBlock() != conv->getBlock())
    return std::nullopt;
  Operation *fill = nullptr;
  memref::SubViewOp sub;
  for (OpOperand &use : alloc->getUses()) {
    Operation *u = use.getOwner();
    if (u == conv)
      continue;
    if (auto sv = dyn_cast<memref::SubViewOp>(u); sv && !sub)
      sub = sv;
    else if (!fill && isZeroFill(u, alloc))
      fill = u;
    else
      return std::nullopt;
  }
  if (!fill || !sub || !sub->hasOneUse())
    return std::nullopt;
  auto copy = dyn_cast<memref::CopyOp>(*sub->getUsers().begin());
  if (!copy || copy.getTarget() != sub.getResult())
    return std::nullopt;
  Value source = copy.getSource();
  auto srcType = cast<MemRefType>(source.getType());
  ArrayRef<int64_t> offsets = sub.getStaticOffsets();
  if (srcType.getRank() != 4 || offsets.size() != 4 ||
      llvm::any_of(offsets, ShapedType::isDynamic) || offsets[0] != 0 ||
      offsets[1] != 0 ||
      llvm::any_of(sub.getStaticStrides(), [](int64_t s) { return s != 1; }))
    return std::nullopt;
  // The copy covers the whole source.
  for (auto [i, size] : llvm::enumerate(sub.getMixedSizes())) {
    if (std::optional<int64_t> c = getConstantIntValue(size)) {
      if (*c != srcType.getDimSize(i))
        return std::nullopt;
      continue;
    }
    auto dim = cast<Value>(size).getDefiningOp<memref::DimOp>();
    std::optional<int64_t> index =
        dim ? getConstantIntValue(dim.getIndex()) : std::nullopt;
    if (!dim || dim.getSource() != source || index != int64_t(i))
      return std::nullopt;
  }
  if (!fill->isBeforeInBlock(copy) || !copy->isBeforeInBlock(conv))
    return std::nullopt;
  // The source is read later than the copy read it: nothing in between may
  // write it.
  Value root = viewRoot(source);
  for (Operation *op = copy->getNextNode(); op != conv;
       op = op->getNextNode()) {
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects) {
      if (!isPure(op))
        return std::nullopt;
      continue;
    }
    SmallVector<MemoryEffects::EffectInstance> instances;
    effects.getEffects(instances);
    for (auto &e : instances) {
      if (!isa<MemoryEffects::Write>(e.getEffect()))
        continue;
      Value written = e.getValue();
      if (!written || viewRoot(written) == root)
        return std::nullopt;
    }
  }
  PaddedInput p;
  p.source = source;
  p.top = offsets[2];
  p.left = offsets[3];
  p.dead = {copy, sub, fill, alloc};
  return p;
}

struct CpuMicrokernelsPass
    : impl::CpuMicrokernelsPassBase<CpuMicrokernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Every contraction and convolution the runtime has a kernel for, found
    // by its form (MicrokernelMatchers.h).
    SmallVector<std::pair<linalg::GenericOp, MicrokernelMatch>> matched;
    module.walk([&](linalg::GenericOp g) {
      if (!g.hasPureBufferSemantics())
        return;
      if (std::optional<MicrokernelMatch> m = matchMicrokernel(g)) {
        LLVM_DEBUG(llvm::dbgs() << "microkernel " << m->entryPoint() << " for "
                                << g.getLoc() << "\n");
        matched.emplace_back(g, std::move(*m));
      }
    });
    MLIRContext *ctx = &getContext();
    Type f32 = Float32Type::get(ctx);
    Type i64 = IntegerType::get(ctx, 64);
    for (auto &[g, match] : matched) {
      SmallVector<Value, 3> ops = {g.getDpsInputOperand(0)->get(),
                                   g.getDpsInputOperand(1)->get(),
                                   g.getDpsInitOperand(0)->get()};
      // A transpose feeding an operand becomes the operand's strides.
      for (int i = 0; i < 2; ++i) {
        SmallVector<Operation *> dead;
        if (Value view = viewThroughTranspose(ops[i], g, g, dead)) {
          g->setOperand(i, view);
          ops[i] = view;
          for (Operation *op : dead)
            op->erase();
          ++numFoldedTransposes;
        }
      }
      // Zero padding of a convolution's input is read in place.
      PaddedInput pads;
      bool conv = match.isConvolution();
      if (conv)
        if (std::optional<PaddedInput> p = unpaddedInput(ops[0], g)) {
          pads = std::move(*p);
          ops[0] = pads.source;
        }
      OpBuilder b(g);
      Location loc = g.getLoc();
      SmallVector<Value> args;
      for (Value v : ops) {
        auto t = cast<MemRefType>(v.getType());
        auto unranked = UnrankedMemRefType::get(f32, t.getMemorySpace());
        args.push_back(memref::CastOp::create(b, loc, unranked, v));
      }
      if (conv) {
        SmallVector<int64_t> scalars(match.strides.begin(),
                                     match.strides.end());
        llvm::append_range(scalars, match.dilations);
        scalars.push_back(pads.top);
        scalars.push_back(pads.left);
        for (int64_t v : scalars)
          args.push_back(
              arith::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(v)));
      }
      func::FuncOp callee =
          declare(module, match.entryPoint(), ValueRange(args).getTypes());
      func::CallOp::create(b, loc, callee, args);
      g.erase();
      for (Operation *op : pads.dead)
        op->erase();
      if (!pads.dead.empty())
        ++numFoldedPads;
      ++numCalls;
    }
    // Fused attention (called since the lowering): transposes around it
    // become strides too. Operands: q, k, v[, mask], out, then scalars.
    SmallVector<func::CallOp> attention;
    module.walk([&](func::CallOp call) {
      if (call.getCallee() == rt::entry::kAttentionF32 ||
          call.getCallee() == rt::entry::kAttentionMaskedF32)
        attention.push_back(call);
    });
    for (func::CallOp call : attention) {
      unsigned buffers = 0;
      while (buffers < call.getNumOperands() &&
             isa<UnrankedMemRefType>(call.getOperand(buffers).getType()))
        ++buffers;
      for (unsigned i = 0; i + 1 < buffers; ++i) {
        auto [root, reader] = throughCasts(call.getOperand(i));
        SmallVector<Operation *> dead;
        if (!reader)
          continue;
        if (Value view = viewThroughTranspose(root, reader, call, dead)) {
          replaceCastOperand(call, i, view);
          for (Operation *op : dead)
            op->erase();
          ++numFoldedTransposes;
        }
      }
      if (buffers > 0 && writeThroughTranspose(call, buffers - 1))
        ++numFoldedTransposes;
    }
  }
};

} // namespace
} // namespace bathy
