//===- CpuParallelize.cpp - Generated loops split across the CPU threads --===//
//
// bathy-cpu-parallelize (memref level): each large top-level linalg op is
// moved into a task function taking a [begin, end) slice of one or two
// flattened parallel loops, and replaced by a call of a launch declaration
// (marked kParallelTaskAttr / kParallelGrainAttr). The other half of the
// mechanism, bathy-cpu-parallel-launch-to-llvm, gives each launch its body
// after the LLVM conversion (CpuParallelLaunchToLLVM.cpp).
//
//===----------------------------------------------------------------------===//
#include "bathy/Codegen/CPU/Passes.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-cpu-parallelize"

namespace bathy {
#define GEN_PASS_DEF_CPUPARALLELIZEPASS
#include "bathy/Codegen/CPU/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {

/// Stand-in trip count of a dynamic loop when estimating work.
constexpr int64_t kAssumedDynamicSize = 64;
/// Outer loops at least this long are split alone; shorter (or dynamic) ones
/// are flattened with the next parallel loop.
constexpr int64_t kLongLoop = 16;

/// Where a loop dim appears in one operand: the result position of a bare
/// `dK`, none, or "unsplittable" (inside a compound expression or twice).
struct DimUse {
  std::optional<unsigned> position;
  bool splittable = true;
};

DimUse useOf(AffineMap map, unsigned dim) {
  DimUse use;
  for (auto [i, e] : llvm::enumerate(map.getResults())) {
    if (!e.isFunctionOfDim(dim))
      continue;
    auto d = dyn_cast<AffineDimExpr>(e);
    if (!d || use.position) {
      use.splittable = false;
      return use;
    }
    use.position = i;
  }
  return use;
}

/// A loop that tasks slice, and the operand and result position giving its
/// size.
struct SplitDim {
  unsigned dim;
  unsigned sizeOperand;
  unsigned sizePosition;
};

/// A plan to split one op over the flattened space of one or two parallel
/// loops (outer, inner): a task takes a range of that space, one outer
/// iteration (a row of inner iterations) at a time. Two loops keep batch-1
/// models parallel when the outer loop is the (dynamic) batch. `grain` is
/// the fewest flattened iterations worth a thread.
struct Split {
  SmallVector<SplitDim, 2> dims;
  int64_t grain = 1;
};

/// The trip count of split loop `d`, read from `memref` (the operand, or
/// its copy inside the task).
Value loopSize(OpBuilder &b, Location loc, Value memref, const SplitDim &d) {
  auto type = cast<MemRefType>(memref.getType());
  if (type.isDynamicDim(d.sizePosition))
    return memref::DimOp::create(b, loc, memref, d.sizePosition);
  return arith::ConstantIndexOp::create(b, loc,
                                        type.getDimSize(d.sizePosition));
}

std::optional<Split> planSplit(linalg::LinalgOp op, int64_t minWork) {
  if (!op.hasPureBufferSemantics() || op.getNumLoops() == 0)
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  auto estimate = [&](unsigned d) {
    return ShapedType::isDynamic(ranges[d]) ? kAssumedDynamicSize : ranges[d];
  };
  Split split;
  for (unsigned dim = 0; dim < op.getNumLoops() && split.dims.size() < 2;
       ++dim) {
    // Loops of one iteration give nothing to split.
    if (iterators[dim] != utils::IteratorType::parallel || ranges[dim] == 1)
      continue;
    std::optional<std::pair<unsigned, unsigned>> sizeFrom;
    bool ok = true;
    for (OpOperand &operand : op->getOpOperands()) {
      if (!isa<MemRefType>(operand.get().getType()))
        continue;
      DimUse use = useOf(maps[operand.getOperandNumber()], dim);
      bool isInit = op.isDpsInit(&operand);
      // Tasks must write disjoint parts of every output.
      if (!use.splittable || (isInit && !use.position)) {
        ok = false;
        break;
      }
      if (use.position && !sizeFrom)
        sizeFrom = {operand.getOperandNumber(), *use.position};
    }
    // A buffer passed as several operands gets one slice, so each of them
    // must index the loop at the same place.
    for (OpOperand &a : op->getOpOperands())
      for (OpOperand &b : op->getOpOperands())
        if (ok && a.getOperandNumber() < b.getOperandNumber() &&
            a.get() == b.get() && isa<MemRefType>(a.get().getType()) &&
            useOf(maps[a.getOperandNumber()], dim).position !=
                useOf(maps[b.getOperandNumber()], dim).position)
          ok = false;
    if (!ok || !sizeFrom)
      continue;
    split.dims.push_back({dim, sizeFrom->first, sizeFrom->second});
    // An outer loop known to be long enough splits alone (whole rows).
    if (!ShapedType::isDynamic(ranges[dim]) && ranges[dim] >= kLongLoop)
      break;
  }
  if (split.dims.empty())
    return std::nullopt;
  int64_t flat = 1;
  for (SplitDim &d : split.dims)
    flat *= estimate(d.dim);
  // Work per flattened iteration: the rest of the nest times the body.
  int64_t bodyOps = 1;
  if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
    bodyOps = std::max<int64_t>(
        1, static_cast<int64_t>(generic.getBody()->getOperations().size()) - 1);
  int64_t inner = bodyOps;
  for (unsigned d = 0; d < op.getNumLoops(); ++d)
    if (llvm::none_of(split.dims, [&](SplitDim &s) { return s.dim == d; }))
      inner = std::min<int64_t>(inner * estimate(d), int64_t(1) << 40);
  if (flat < 2 || inner * flat < 2 * minWork)
    return std::nullopt;
  split.grain = std::max<int64_t>(1, (minWork + inner - 1) / inner);
  return split;
}

/// The values `op` needs from outside besides constants: its operands, then
/// the values its regions capture. Empty if one cannot be passed.
std::optional<SmallVector<Value>> capturesOf(Operation *op,
                                             SmallVector<Operation *> &consts) {
  llvm::SetVector<Value> values;
  for (Value v : op->getOperands())
    values.insert(v);
  llvm::SetVector<Value> above;
  getUsedValuesDefinedAbove(op->getRegions(), above);
  SmallVector<Value> result;
  for (Value v : values)
    result.push_back(v);
  for (Value v : above) {
    if (values.contains(v))
      continue;
    Operation *def = v.getDefiningOp();
    if (def && def->getNumOperands() == 0 && matchPattern(v, m_Constant())) {
      consts.push_back(def);
      continue;
    }
    if (!v.getType().isIntOrIndexOrFloat())
      return std::nullopt;
    result.push_back(v);
  }
  return result;
}

struct CpuParallelizePass : impl::CpuParallelizePassBase<CpuParallelizePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    for (func::FuncOp func : funcs) {
      if (func.isDeclaration())
        continue;
      SmallVector<linalg::LinalgOp> ops;
      for (Block &block : func.getBody())
        for (Operation &op : block)
          if (auto l = dyn_cast<linalg::LinalgOp>(op))
            ops.push_back(l);
      unsigned next = 0;
      for (linalg::LinalgOp op : ops) {
        bool split = succeeded(parallelize(module, func, op, next));
        LLVM_DEBUG(llvm::dbgs()
                   << (split ? "split " : "kept serial ") << op->getName()
                   << " in @" << func.getSymName() << "\n");
        if (split)
          ++numParallel;
        else
          ++numSerial;
      }
    }
  }

  LogicalResult parallelize(ModuleOp module, func::FuncOp func,
                            linalg::LinalgOp op, unsigned &next) {
    std::optional<Split> split = planSplit(op, minWork);
    if (!split)
      return failure();
    SmallVector<Operation *> consts;
    std::optional<SmallVector<Value>> captures = capturesOf(op, consts);
    if (!captures)
      return failure();

    MLIRContext *ctx = &getContext();
    Location loc = op.getLoc();
    Type index = IndexType::get(ctx);
    std::string name;
    do {
      name = (func.getSymName() + "_task" + Twine(next++)).str();
    } while (module.lookupSymbol(name) ||
             module.lookupSymbol(name + "_launch"));

    // The task: the op on the [begin, end) range of the flattened split
    // loops.
    SmallVector<Type> taskArgs = {index, index};
    for (Value v : *captures)
      taskArgs.push_back(v.getType());
    OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
    auto task =
        func::FuncOp::create(mb, loc, name, mb.getFunctionType(taskArgs, {}));
    task.setPrivate();
    Block *entry = task.addEntryBlock();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    Value begin = entry->getArgument(0), end = entry->getArgument(1);
    IRMapping mapping;
    for (Operation *c : consts)
      b.clone(*c, mapping);
    for (auto [i, v] : llvm::enumerate(*captures))
      mapping.map(v, entry->getArgument(i + 2));
    // The size of split loop `d` from the whole (unsliced) operands.
    auto sizeOf = [&](OpBuilder &ob, const SplitDim &d) {
      return loopSize(ob, loc, mapping.lookup(op->getOperand(d.sizeOperand)),
                      d);
    };
    // Per split loop: offset and count of this task's slice.
    SmallVector<std::pair<Value, OpFoldResult>, 2> ranges;
    if (split->dims.size() == 1) {
      ranges.push_back(
          {begin, arith::SubIOp::create(b, loc, end, begin).getResult()});
    } else {
      // Rows of the outer loop covering [begin, end), each clipped to the
      // part of the inner loop inside the range.
      Value innerSize = sizeOf(b, split->dims[1]);
      Value zero = arith::ConstantIndexOp::create(b, loc, 0);
      Value one = arith::ConstantIndexOp::create(b, loc, 1);
      Value first = arith::DivSIOp::create(b, loc, begin, innerSize);
      Value last = arith::CeilDivSIOp::create(b, loc, end, innerSize);
      auto rows = scf::ForOp::create(b, loc, first, last, one);
      b.setInsertionPointToStart(rows.getBody());
      Value row = rows.getInductionVar();
      Value rowStart = arith::MulIOp::create(b, loc, row, innerSize);
      Value lo = arith::MaxSIOp::create(
          b, loc, arith::SubIOp::create(b, loc, begin, rowStart), zero);
      Value hi = arith::MinSIOp::create(
          b, loc, arith::SubIOp::create(b, loc, end, rowStart), innerSize);
      ranges.push_back({row, b.getIndexAttr(1)});
      ranges.push_back({lo, arith::SubIOp::create(b, loc, hi, lo).getResult()});
    }
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    // An operand used twice (an in-place op) is sliced once: planSplit
    // saw the same plain use of the loops in both maps or none in either.
    llvm::SmallDenseSet<Value> sliced;
    IRMapping sliceMapping = mapping;
    for (OpOperand &operand : op->getOpOperands()) {
      Value v = operand.get();
      auto type = dyn_cast<MemRefType>(v.getType());
      if (!type || !sliced.insert(v).second)
        continue;
      Value whole = mapping.lookup(v);
      SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
      SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
      SmallVector<OpFoldResult> sizes(type.getRank());
      bool touched = false;
      for (auto [d, range] : llvm::zip(split->dims, ranges)) {
        DimUse use = useOf(maps[operand.getOperandNumber()], d.dim);
        if (!use.position)
          continue;
        offsets[*use.position] = range.first;
        sizes[*use.position] = range.second;
        touched = true;
      }
      if (!touched)
        continue;
      for (int64_t d = 0; d < type.getRank(); ++d) {
        if (sizes[d])
          continue;
        if (type.isDynamicDim(d))
          sizes[d] = memref::DimOp::create(b, loc, whole, d).getResult();
        else
          sizes[d] = b.getIndexAttr(type.getDimSize(d));
      }
      sliceMapping.map(
          v, memref::SubViewOp::create(b, loc, whole, offsets, sizes, strides));
    }
    Operation *clone = b.clone(*op, sliceMapping);
    // linalg.index of a split loop counts from the slice's offset.
    clone->walk([&](linalg::IndexOp idx) {
      for (auto [d, range] : llvm::zip(split->dims, ranges)) {
        if (idx.getDim() != d.dim)
          continue;
        OpBuilder ib(idx->getContext());
        ib.setInsertionPointAfter(idx);
        auto shifted =
            arith::AddIOp::create(ib, idx.getLoc(), idx, range.first);
        idx.getResult().replaceAllUsesExcept(shifted, shifted);
      }
    });
    b.setInsertionPointToEnd(entry);
    func::ReturnOp::create(b, loc);

    // The launch: declared here, defined once in the LLVM dialect.
    SmallVector<Type> launchArgs = {index};
    for (Value v : *captures)
      launchArgs.push_back(v.getType());
    auto launch = func::FuncOp::create(mb, loc, name + "_launch",
                                       mb.getFunctionType(launchArgs, {}));
    launch.setPrivate();
    launch->setAttr(kParallelTaskAttr, FlatSymbolRefAttr::get(task));
    launch->setAttr(kParallelGrainAttr, mb.getI64IntegerAttr(split->grain));

    OpBuilder cb(op);
    Value size;
    for (const SplitDim &d : split->dims) {
      Value n = loopSize(cb, loc, op->getOperand(d.sizeOperand), d);
      size = size ? Value(arith::MulIOp::create(cb, loc, size, n)) : n;
    }
    SmallVector<Value> callArgs = {size};
    llvm::append_range(callArgs, *captures);
    func::CallOp::create(cb, loc, launch, callArgs);
    op->erase();
    return success();
  }
};

} // namespace
} // namespace bathy
