//===- FusionFormGroups.cpp - Decide which ops share a kernel -------------===//
//
// A greedy, in-order grouping: each compute op either joins the group of one
// of its producers (when a pattern allows it and no heuristic objects) or
// starts its own. Groups are then materialized as bathy.fusion_group regions
// at the position of their last op; the rules below guarantee that every
// value a group reads from another group is computed before the group starts,
// so that placement keeps the function in dominance order.
//
//===----------------------------------------------------------------------===//
#include "bathy/Passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-fusion-form-groups"

namespace bathy {
#define GEN_PASS_DEF_FUSIONFORMGROUPSPASS
#include "bathy/Passes/Passes.h.inc"
} // namespace bathy

using namespace mlir;
using namespace bathy;

namespace {

enum class Role {
  Elementwise,
  Reindex,
  Gemm,
  Conv,
  Reduction,
  Attention,
  Other
};

Role roleOf(Operation *op) {
  // Roles are declared in ODS (BathyBase.td, "Traits"); attention is one op.
  if (op->hasTrait<bathy::OpTrait::BathyElementwise>())
    return Role::Elementwise;
  if (op->hasTrait<bathy::OpTrait::BathyReindexing>())
    return Role::Reindex;
  if (op->hasTrait<bathy::OpTrait::BathyContraction>())
    return Role::Gemm;
  if (op->hasTrait<bathy::OpTrait::BathyConvolution>())
    return Role::Conv;
  if (isa<AttentionOp>(op))
    return Role::Attention;
  if (op->hasTrait<bathy::OpTrait::BathyReduction>())
    return Role::Reduction;
  return Role::Other;
}

/// Ops that belong to no group: non-bathy ops, constants, launches, groups
/// themselves, and the host's shape arithmetic.
bool isHostOp(Operation *op) {
  return !isa<BathyDialect>(op->getDialect()) ||
         isa<ConstantOp, LaunchOp, FusionGroupOp, YieldOp>(op) ||
         isHostShapeOp(op);
}

/// "node (OpType)" for messages, from the importer's locations.
std::string describe(Operation *op) {
  std::string node;
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    node = name.getName().str();
  else if (auto fused = dyn_cast<FusedLoc>(op->getLoc()))
    for (Location l : fused.getLocations())
      if (auto n = dyn_cast<NameLoc>(l)) {
        node = n.getName().str();
        break;
      }
  std::string type = op->getName().stripDialect().str();
  return node.empty() ? type : node + " (" + type + ")";
}

struct Group {
  std::string kind;
  SmallVector<Operation *> ops;
  unsigned first = 0, last = 0; // positions in the block
  SmallVector<std::string> rejected;
  /// Set once an op outside the group reads one of its values: the group
  /// must then stay where it is (before that reader).
  bool sealed = false;
  /// Values the group reads from outside it: its kernel's arguments.
  llvm::SmallSetVector<Value, 8> inputs;
};

/// The most values one kernel reads. Kernels of hundreds of operands (a Sum
/// of 1,000 inputs) make LLVM's instruction scheduler quadratic; past this
/// many, the next op starts a kernel of its own.
constexpr unsigned kMaxKernelInputs = 64;

struct FusionFormGroupsPass
    : bathy::impl::FusionFormGroupsPassBase<FusionFormGroupsPass> {
  DenseMap<Operation *, unsigned> position;
  DenseMap<Operation *, unsigned> groupOf;
  std::vector<Group> groups;

  static std::string kindFor(Operation *op, Role role) {
    switch (role) {
    case Role::Elementwise:
    case Role::Reindex:
      return "elementwise";
    case Role::Gemm:
      return "gemm";
    case Role::Conv:
      return "conv";
    case Role::Reduction:
      return "reduction";
    case Role::Attention:
      return "attention";
    case Role::Other:
      break;
    }
    return op->getName().stripDialect().str();
  }

  /// Why `consumer` may not join the group of `producer` through `value`;
  /// empty when it may.
  std::string objection(Operation *consumer, Role role, Value value,
                        Operation *producer) {
    Group &g = groups[groupOf.lookup(producer)];
    auto valueType = dyn_cast<RankedTensorType>(value.getType());
    auto resultType =
        consumer->getNumResults() == 1
            ? dyn_cast<RankedTensorType>(consumer->getResult(0).getType())
            : RankedTensorType();
    if (!valueType || !resultType)
      return "unranked or multi-result op";
    if (g.kind != "elementwise" && g.kind != "gemm" && g.kind != "conv" &&
        g.kind != "reduction" && g.kind != "attention")
      return "a " + g.kind + " takes no fused consumers";
    if (g.kind == "attention" && role != Role::Reindex)
      return "an attention takes only re-indexing consumers (written through "
             "strides)";
    if (role == Role::Reduction && g.kind != "elementwise")
      return "a reduction fuses only an elementwise prologue";
    if (role == Role::Conv)
      return "conv operands are not fused (the convolution kernel reads "
             "its input from memory)";
    if (role == Role::Attention &&
        value == cast<AttentionOp>(consumer).getMask())
      return "an attention fuses only re-indexing producers of q, k and v";
    if (role == Role::Gemm || role == Role::Attention) {
      // A GEMM or attention takes a producer that only re-indexes
      // (transpose, reshape): the CPU kernel reads the operand through the
      // re-indexed strides instead of a transposed copy.
      bool reindexOnly = llvm::all_of(
          g.ops, [](Operation *op) { return roleOf(op) == Role::Reindex; });
      if (!reindexOnly)
        return std::string(role == Role::Gemm ? "a GEMM" : "an attention") +
               " fuses only re-indexing (transpose/reshape) producers of its "
               "operands";
      if (g.sealed)
        return "its kernel already feeds another kernel";
      if (!value.hasOneUse())
        return "its result has other users (it is materialized anyway)";
      return "";
    }
    if (role == Role::Other)
      return "a " + consumer->getName().stripDialect().str() +
             " starts its own kernel";
    if (g.sealed)
      return "its kernel already feeds another kernel";
    if (role == Role::Reindex && g.kind != "elementwise" &&
        g.kind != "attention")
      return "re-indexing after a " + g.kind + " is not an epilogue";
    unsigned producerGroup = groupOf.lookup(producer);
    for (Operation *user : value.getUsers()) {
      auto it = groupOf.find(user);
      if (user != consumer &&
          (it == groupOf.end() || it->second != producerGroup))
        return "its result has other users (it is materialized anyway)";
    }
    if (role == Role::Elementwise &&
        valueType.getShape() != resultType.getShape())
      return "the consumer broadcasts it to a larger shape";
    if (role == Role::Reduction &&
        valueType.getShape() !=
            cast<RankedTensorType>(consumer->getOperand(0).getType())
                .getShape())
      return "the reduction reads it broadcast";
    // The kernel would read too many values.
    unsigned added = 0;
    for (Value operand : consumer->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (operand == value || g.inputs.contains(operand) ||
          (def && groupOf.count(def) &&
           groupOf.lookup(def) == groupOf.lookup(producer)))
        continue;
      ++added;
    }
    if (g.inputs.size() + added > kMaxKernelInputs)
      return "the kernel would read more than " +
             std::to_string(kMaxKernelInputs) + " values";
    // Every other input must come from before the group starts.
    for (Value operand : consumer->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (!def || operand == value)
        continue;
      auto it = groupOf.find(def);
      if (it == groupOf.end())
        continue; // host values and constants
      if (it->second == producerGroup)
        continue;
      if (groups[it->second].last >= g.first)
        return "the consumer also reads " + describe(def) +
               ", computed after the group begins";
    }
    return "";
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func->hasAttr(kKernelAttrName) || func.isExternal())
      return;
    for (Block &block : func.getBody()) {
      position.clear();
      groupOf.clear();
      groups.clear();
      unsigned pos = 0;
      for (Operation &op : block)
        position[&op] = pos++;
      for (Operation &op : block) {
        if (isHostOp(&op) || op.hasTrait<mlir::OpTrait::IsTerminator>()) {
          // A host op (say bathy.shape of an intermediate) reading a group's
          // value pins the group before it, like any other reader.
          for (Value operand : op.getOperands())
            if (Operation *def = operand.getDefiningOp())
              if (auto it = groupOf.find(def); it != groupOf.end())
                groups[it->second].sealed = true;
          continue;
        }
        Role role = roleOf(&op);
        std::optional<unsigned> joined;
        SmallVector<std::string> reasons;
        for (Value operand : op.getOperands()) {
          Operation *def = operand.getDefiningOp();
          if (!def || !groupOf.count(def))
            continue;
          std::string why = objection(&op, role, operand, def);
          if (why.empty() && !joined) {
            joined = groupOf.lookup(def);
            continue;
          }
          // A GEMM's other re-indexed operand: its (re-indexing only,
          // single-use) group is absorbed into the one joined.
          if (why.empty() && (role == Role::Gemm || role == Role::Attention) &&
              groupOf.lookup(def) != *joined) {
            absorb(groupOf.lookup(def), *joined);
            continue;
          }
          if (!why.empty())
            reasons.push_back(describe(def) + ": " + why);
        }
        unsigned id;
        if (joined) {
          id = *joined;
          ++numFusedOps;
          if (role == Role::Reduction)
            groups[id].kind = "reduction";
          if (role == Role::Gemm)
            groups[id].kind = "gemm";
          if (role == Role::Attention)
            groups[id].kind = "attention";
        } else {
          id = groups.size();
          Group g;
          g.kind = kindFor(&op, role);
          g.first = position[&op];
          groups.push_back(std::move(g));
        }
        for (Value operand : op.getOperands())
          if (Operation *def = operand.getDefiningOp())
            if (auto it = groupOf.find(def);
                it != groupOf.end() && it->second != id)
              groups[it->second].sealed = true;
        Group &g = groups[id];
        g.ops.push_back(&op);
        g.last = position[&op];
        groupOf[&op] = id;
        for (Value operand : op.getOperands()) {
          Operation *def = operand.getDefiningOp();
          if (!def || !groupOf.count(def) || groupOf.lookup(def) != id)
            g.inputs.insert(operand);
        }
        // Reasons about producers the op did not join, recorded on its group
        // (inputs joined through the chosen producer need none).
        for (std::string &r : reasons)
          g.rejected.push_back(std::move(r));
      }
      for (Group &g : groups)
        materialize(g);
    }
  }

  /// Moves the ops of group `from` into group `into` (`from` produces only
  /// values `into`'s next op reads, from inputs defined before it).
  void absorb(unsigned from, unsigned into) {
    Group &src = groups[from], &dst = groups[into];
    for (Operation *op : src.ops) {
      dst.ops.push_back(op);
      groupOf[op] = into;
    }
    for (Value v : src.inputs)
      dst.inputs.insert(v);
    for (Operation *op : src.ops)
      for (Value r : op->getResults())
        dst.inputs.remove(r);
    src.inputs.clear();
    dst.first = std::min(dst.first, src.first);
    dst.last = std::max(dst.last, src.last);
    for (std::string &r : src.rejected)
      dst.rejected.push_back(std::move(r));
    src.ops.clear();
    src.rejected.clear();
    ++numFusedOps;
  }

  void materialize(Group &g) {
    if (g.ops.empty())
      return; // absorbed into another group
    MLIRContext *ctx = &getContext();
    Operation *last = g.ops.back();
    llvm::SmallPtrSet<Operation *, 8> members(g.ops.begin(), g.ops.end());
    // Results used outside the group become its results.
    SmallVector<Value> escaping;
    for (Operation *op : g.ops)
      for (Value r : op->getResults())
        if (llvm::any_of(r.getUsers(),
                         [&](Operation *u) { return !members.count(u); }))
          escaping.push_back(r);
    OpBuilder b(ctx);
    b.setInsertionPointAfter(last);
    SmallVector<Location> locs;
    for (Operation *op : g.ops)
      locs.push_back(op->getLoc());
    auto group = FusionGroupOp::create(
        b, FusedLoc::get(ctx, locs), TypeRange(ValueRange(escaping)),
        b.getStringAttr(g.kind),
        g.rejected.empty() ? ArrayAttr()
                           : b.getStrArrayAttr(SmallVector<StringRef>(
                                 g.rejected.begin(), g.rejected.end())));
    Block *body = b.createBlock(&group.getBody());
    for (Operation *op : g.ops)
      op->moveBefore(body, body->end());
    b.setInsertionPointToEnd(body);
    YieldOp::create(b, group.getLoc(), escaping);
    for (auto [v, r] : llvm::zip(escaping, group.getResults()))
      v.replaceUsesWithIf(r, [&](OpOperand &use) {
        return use.getOwner()->getParentOp() != group;
      });
    ++numGroups;
    LLVM_DEBUG(llvm::dbgs() << "group '" << group.getKind() << "' of "
                            << body->getOperations().size() - 1 << " ops at "
                            << group.getLoc() << "\n");
  }
};

} // namespace
