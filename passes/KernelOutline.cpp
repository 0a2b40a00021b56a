//===- KernelOutline.cpp - One kernel function per compute op -------------===//
//
// The kernel boundary: compute ops move into private kernel functions that
// the host launches. Fusion later changes which ops share a kernel; code
// generation works one kernel at a time.
//
//===----------------------------------------------------------------------===//
#include "bathy/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringExtras.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-kernel-outline"

namespace bathy {
#define GEN_PASS_DEF_KERNELOUTLINEPASS
#include "bathy/Passes/Passes.h.inc"
} // namespace bathy

using namespace mlir;
using namespace bathy;

bool bathy::isHostShapeOp(Operation *op) {
  if (isa<ShapeOp, SizeOp>(op))
    return true;
  if (op->getNumResults() == 0)
    return false;
  return llvm::all_of(op->getResultTypes(), [](Type t) {
    auto ranked = dyn_cast<RankedTensorType>(t);
    return ranked && ranked.getRank() <= 1 && ranked.hasStaticShape() &&
           ranked.getNumElements() <= 16 &&
           ranked.getElementType().isInteger(64);
  });
}

namespace {

/// Appends the ONNX node names a location refers to (NameLocs whose child
/// names the op type, as the importer writes them; any NameLoc otherwise).
void collectNodeNames(Location loc, SmallVectorImpl<StringRef> &names) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    if (!llvm::is_contained(names, name.getName().strref()))
      names.push_back(name.getName().strref());
    return;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location part : fused.getLocations())
      collectNodeNames(part, names);
}

struct KernelOutlinePass
    : bathy::impl::KernelOutlinePassBase<KernelOutlinePass> {
  using KernelOutlinePassBase::KernelOutlinePassBase;

  /// A constant small enough to copy into the kernel that uses it.
  bool isInlinableConstant(Value v) const {
    auto constant = v.getDefiningOp<ConstantOp>();
    if (!constant)
      return false;
    auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
    return dense && (dense.isSplat() ||
                     dense.getNumElements() <= maxInlineConstantElements);
  }

  /// One kernel for `ops` (in block order, each reading only values defined
  /// before the last of them, their results read outside only after it): a
  /// group at the last op holds them all and yields what others read.
  void outline(ArrayRef<Operation *> ops, func::FuncOp host,
               SymbolTable &symbols, unsigned index, StringRef kind = "") {
    llvm::SmallPtrSet<Operation *, 8> members(ops.begin(), ops.end());
    SmallVector<Value> escaping;
    SmallVector<Location> locs;
    for (Operation *op : ops) {
      locs.push_back(op->getLoc());
      for (Value r : op->getResults())
        if (llvm::any_of(r.getUsers(), [&](Operation *user) {
              return !members.contains(user);
            }))
          escaping.push_back(r);
    }
    // Read by nothing: still computed, as before outlining.
    if (escaping.empty())
      for (Operation *op : ops)
        llvm::append_range(escaping, op->getResults());
    OpBuilder builder(ops.front()->getContext());
    builder.setInsertionPointAfter(ops.back());
    Location loc =
        ops.size() == 1 ? ops.front()->getLoc() : builder.getFusedLoc(locs);
    auto group =
        FusionGroupOp::create(builder, loc, ValueRange(escaping).getTypes(),
                              builder.getStringAttr(kind), ArrayAttr());
    for (auto [value, result] : llvm::zip(escaping, group.getResults()))
      value.replaceUsesWithIf(result, [&](OpOperand &use) {
        return !members.contains(use.getOwner());
      });
    Block *body = builder.createBlock(&group.getBody());
    for (Operation *op : ops)
      op->moveBefore(body, body->end());
    builder.setInsertionPointToEnd(body);
    YieldOp::create(builder, loc, escaping);
    outlineGroup(group, host, symbols, index);
  }

  /// Host shape ops in runs that can share a kernel: a run grows until an
  /// op outside it reads one of its values (the kernel must come before
  /// that reader), so a Shape -> Gather -> Concat chain, even interleaved
  /// with compute, is one launch.
  static SmallVector<SmallVector<Operation *>>
  shapeRuns(Block &block, ArrayRef<Operation *> shapeOps) {
    llvm::SmallPtrSet<Operation *, 16> isShape(shapeOps.begin(),
                                               shapeOps.end());
    SmallVector<SmallVector<Operation *>> runs;
    SmallVector<Operation *> open;
    llvm::DenseSet<Value> produced;
    auto seal = [&] {
      if (!open.empty())
        runs.push_back(std::move(open));
      open.clear();
      produced.clear();
    };
    for (Operation &op : block) {
      if (isShape.contains(&op)) {
        open.push_back(&op);
        produced.insert(op.result_begin(), op.result_end());
        continue;
      }
      bool reads = false;
      op.walk([&](Operation *inner) {
        reads |= llvm::any_of(inner->getOperands(),
                              [&](Value v) { return produced.contains(v); });
      });
      if (reads)
        seal();
    }
    seal();
    return runs;
  }

  /// One kernel for a whole fusion group: values from above become
  /// arguments (small constants are copied in), the yield becomes the return.
  void outlineGroup(FusionGroupOp group, func::FuncOp host,
                    SymbolTable &symbols, unsigned index) {
    MLIRContext *ctx = group->getContext();
    Block &body = group.getBody().front();
    llvm::SetVector<Value> args, copied;
    SmallVector<StringRef> opNames;
    // Named after the ops that compute; re-indexing that a kernel absorbed
    // (head splits around a GEMM or attention) only names a kernel that
    // does nothing else.
    auto reindexes = [](Operation &op) {
      return isa<TransposeOp, ReshapeOp, DynamicReshapeOp, SqueezeOp,
                 UnsqueezeOp>(op);
    };
    bool computes = llvm::any_of(body.without_terminator(),
                                 [&](Operation &op) { return !reindexes(op); });
    for (Operation &op : body.without_terminator()) {
      if (opNames.size() < 3 && !(computes && reindexes(op)))
        opNames.push_back(op.getName().stripDialect());
      for (Value operand : op.getOperands()) {
        Operation *def = operand.getDefiningOp();
        if (def && def->getParentOp() == group)
          continue;
        if (isInlinableConstant(operand))
          copied.insert(operand);
        else
          args.insert(operand);
      }
    }
    OpBuilder builder(ctx);
    builder.setInsertionPointToEnd(host->getParentOfType<ModuleOp>().getBody());
    std::string name = (llvm::join(opNames, "_") + "_" + Twine(index)).str();
    auto type = FunctionType::get(ctx, TypeRange(args.getArrayRef()),
                                  group.getResultTypes());
    auto kernel = func::FuncOp::create(builder, group.getLoc(), name, type);
    kernel.setPrivate();
    kernel->setAttr(kKernelAttrName, UnitAttr::get(ctx));
    SmallVector<StringRef> nodes;
    for (Operation &op : body.without_terminator())
      collectNodeNames(op.getLoc(), nodes);
    kernel->setAttr(kKernelNodesAttrName, builder.getStrArrayAttr(nodes));
    if (!group.getKind().empty())
      kernel->setAttr(kKernelKindAttrName, group.getKindAttr());
    if (auto rejected = group.getRejectedAttr())
      kernel->setAttr(kKernelRejectedAttrName, rejected);
    symbols.insert(kernel);

    Block *entry = kernel.addEntryBlock();
    builder.setInsertionPointToStart(entry);
    IRMapping mapping;
    for (auto [arg, value] : llvm::zip(entry->getArguments(), args))
      mapping.map(value, arg);
    for (Value v : copied)
      mapping.map(v, builder.clone(*v.getDefiningOp())->getResult(0));
    for (Operation &op : body.without_terminator())
      builder.clone(op, mapping);
    auto yield = cast<YieldOp>(body.getTerminator());
    SmallVector<Value> results;
    for (Value v : yield.getValues())
      results.push_back(mapping.lookupOrDefault(v));
    func::ReturnOp::create(builder, group.getLoc(), results);

    builder.setInsertionPoint(group);
    auto launch =
        LaunchOp::create(builder, group.getLoc(), group.getResultTypes(),
                         kernel.getSymName(), args.getArrayRef());
    group->replaceAllUsesWith(launch.getResults());
    LLVM_DEBUG(llvm::dbgs() << "kernel @" << kernel.getSymName() << " with "
                            << args.size() << " arguments\n");
    group->erase();
    ++numKernels;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> hosts;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func->hasAttr(kKernelAttrName) && !func.isExternal())
        hosts.push_back(func);
    unsigned index = 0;
    for (func::FuncOp host : hosts) {
      SmallVector<Operation *> work, shapeWork;
      SmallVector<FusionGroupOp> groups;
      host.walk([&](Operation *op) {
        if (auto group = dyn_cast<FusionGroupOp>(op)) {
          groups.push_back(group);
          return;
        }
        if (isa<FusionGroupOp>(op->getParentOp()))
          return;
        if (!isa<BathyDialect>(op->getDialect()) ||
            isa<ConstantOp, LaunchOp>(op))
          return;
        if (isHostShapeOp(op)) {
          if (shapeOpsInHost)
            ++numHostOps;
          else
            shapeWork.push_back(op);
          return;
        }
        work.push_back(op);
      });
      // Runs are found before anything moves (positions are what count).
      SmallVector<SmallVector<Operation *>> runs;
      if (host.getBody().hasOneBlock())
        runs = shapeRuns(host.getBody().front(), shapeWork);
      else
        for (Operation *op : shapeWork)
          runs.push_back({op});
      for (Operation *op : work)
        outline(ArrayRef<Operation *>(op), host, symbols, index++);
      for (ArrayRef<Operation *> run : runs)
        outline(run, host, symbols, index++, "shape");
      for (FusionGroupOp group : groups)
        outlineGroup(group, host, symbols, index++);
      // Constants copied into every user are dead in the host.
      for (Block &block : host.getBody())
        for (Operation &op :
             llvm::make_early_inc_range(llvm::reverse(block.getOperations())))
          if (isa<ConstantOp>(op) && op.use_empty())
            op.erase();
    }
  }
};

} // namespace
