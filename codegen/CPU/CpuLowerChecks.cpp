//===- CpuLowerChecks.cpp - bathy.check and cf.assert to bathy_rt_fail ----===//
//
// A check that fails ends the run: the runtime's bathy_rt_fail records the
// message and returns control to the executor without coming back (see
// runtime/cpu/run_context.h). Each check becomes
//
//   scf.if (!cond) { call @bathy_rt_fail(@message, v0, v1, v2) }
//
// with the message a private LLVM string constant shared by equal messages.
//
//===----------------------------------------------------------------------===//
#include "bathy/Codegen/CPU/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "runtime/cpu/entry_points.h"
#include "llvm/ADT/StringMap.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-cpu-lower-checks"

namespace bathy {
#define GEN_PASS_DEF_CPULOWERCHECKSPASS
#include "bathy/Codegen/CPU/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {

/// Runtime verification writes "ERROR: Runtime op verification failed\n^
/// out-of-bounds access\nLocation: loc(...)": one line for a run's error.
std::string oneLine(StringRef message) {
  SmallVector<StringRef> lines;
  message.split(lines, '\n', -1, /*KeepEmpty=*/false);
  std::string out;
  for (StringRef line : lines) {
    line = line.trim();
    line.consume_front("ERROR: ");
    line.consume_front("^ ");
    if (line.empty())
      continue;
    out += (out.empty() ? "" : "; ") + line.str();
  }
  return out;
}

struct CpuLowerChecksPass : impl::CpuLowerChecksPassBase<CpuLowerChecksPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<Operation *> checks;
    module.walk([&](Operation *op) {
      if (isa<CheckOp, cf::AssertOp>(op))
        checks.push_back(op);
    });
    if (checks.empty())
      return;

    OpBuilder b(ctx);
    Type ptr = LLVM::LLVMPointerType::get(ctx);
    Type i64 = b.getI64Type();
    auto failFn = module.lookupSymbol<func::FuncOp>(rt::entry::kFail);
    if (!failFn) {
      b.setInsertionPointToEnd(module.getBody());
      failFn =
          func::FuncOp::create(b, module.getLoc(), rt::entry::kFail,
                               b.getFunctionType({ptr, i64, i64, i64}, {}));
      failFn.setPrivate();
    }

    // One global per distinct message.
    llvm::StringMap<LLVM::GlobalOp> globals;
    auto messageGlobal = [&](StringRef message) {
      LLVM::GlobalOp &global = globals[message];
      if (global)
        return global;
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(module.getBody());
      std::string text = message.str();
      text.push_back('\0');
      auto type = LLVM::LLVMArrayType::get(b.getI8Type(), text.size());
      global = LLVM::GlobalOp::create(
          b, module.getLoc(), type, /*isConstant=*/true, LLVM::Linkage::Private,
          ("__bathy_check_" + Twine(globals.size() - 1)).str(),
          b.getStringAttr(text), /*alignment=*/0);
      return global;
    };

    for (Operation *op : checks) {
      Location loc = op->getLoc();
      Value cond;
      StringRef message;
      std::string flattened;
      SmallVector<Value> values;
      if (auto check = dyn_cast<CheckOp>(op)) {
        cond = check.getCondition();
        message = check.getMessage();
        values.assign(check.getValues().begin(), check.getValues().end());
      } else {
        auto assertion = cast<cf::AssertOp>(op);
        cond = assertion.getArg();
        flattened = oneLine(assertion.getMsg());
        message = flattened;
      }
      b.setInsertionPoint(op);
      Value failed = arith::XOrIOp::create(
          b, loc, cond, arith::ConstantIntOp::create(b, loc, 1, 1));
      auto ifOp = scf::IfOp::create(b, loc, failed, /*withElseRegion=*/false);
      b.setInsertionPointToStart(ifOp.thenBlock());
      LLVM::GlobalOp global = messageGlobal(message);
      Value base = LLVM::AddressOfOp::create(b, loc, global);
      SmallVector<Value> args = {base};
      for (Value v : values) {
        if (v.getType().isIndex())
          v = arith::IndexCastOp::create(b, loc, i64, v);
        else if (v.getType().getIntOrFloatBitWidth() == 1)
          v = arith::ExtUIOp::create(b, loc, i64, v);
        else if (v.getType().getIntOrFloatBitWidth() < 64)
          v = arith::ExtSIOp::create(b, loc, i64, v);
        args.push_back(v);
      }
      while (args.size() < 4)
        args.push_back(arith::ConstantIntOp::create(b, loc, 0, 64));
      func::CallOp::create(b, loc, failFn, args);
      LLVM_DEBUG(llvm::dbgs() << "check at " << loc << " calls the runtime\n");
      op->erase();
      ++numChecks;
    }
  }
};

} // namespace
} // namespace bathy
