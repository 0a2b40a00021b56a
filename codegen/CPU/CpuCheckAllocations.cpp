//===- CpuCheckAllocations.cpp - Run-time sizes of allocations are checked ===//
//
// Before every memref.alloc with dynamic sizes: each size is >= 0 and the
// byte count (product of the sizes and the element size) fits in int64.
// Products are formed with mului_extended, whose high half is the overflow.
//
//===----------------------------------------------------------------------===//
#include "bathy/Codegen/CPU/Passes.h"
#include "bathy/Dialect/Bathy/Provenance.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "bathy-cpu-check-allocations"

namespace bathy {
#define GEN_PASS_DEF_CPUCHECKALLOCATIONSPASS
#include "bathy/Codegen/CPU/Passes.h.inc"
} // namespace bathy

using namespace mlir;

namespace bathy {
namespace {

/// "tensor<?x4x?xf32>"-like spelling of a memref type's shape for messages.
std::string describeType(MemRefType type) {
  std::string out;
  llvm::raw_string_ostream os(out);
  for (int64_t d : type.getShape())
    os << (ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d))
       << "x";
  os << type.getElementType();
  return out;
}

struct CpuCheckAllocationsPass
    : impl::CpuCheckAllocationsPassBase<CpuCheckAllocationsPass> {
  void runOnOperation() override {
    SmallVector<memref::AllocOp> allocs;
    getOperation().walk([&](memref::AllocOp op) {
      if (!op.getDynamicSizes().empty())
        allocs.push_back(op);
    });
    for (memref::AllocOp op : allocs) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      MemRefType type = op.getType();
      std::string where = describeLocation(loc);
      std::string prefix = where.empty() ? "" : where + ": ";
      std::string shape = describeType(type);
      Type i64 = b.getI64Type();
      Value zero = arith::ConstantIntOp::create(b, loc, 0, 64);
      SmallVector<Value> sizes;
      for (Value size : op.getDynamicSizes())
        sizes.push_back(arith::IndexCastOp::create(b, loc, i64, size));
      // Sizes in the order of the type's dynamic dims.
      for (auto [i, size] : llvm::enumerate(sizes)) {
        Value ok = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                         size, zero);
        CheckOp::create(b, loc, ok,
                        b.getStringAttr(prefix + "dynamic size " +
                                        std::to_string(i) + " of a " + shape +
                                        " result is negative: {0}"),
                        ValueRange{size});
      }
      // bytes = elementBytes * product(static sizes) * product(dynamic).
      int64_t elementBytes =
          std::max<int64_t>(1, type.getElementTypeBitWidth() / 8);
      uint64_t staticPart = static_cast<uint64_t>(elementBytes);
      bool staticOverflow = false;
      for (int64_t d : type.getShape())
        if (!ShapedType::isDynamic(d) &&
            __builtin_mul_overflow(staticPart, static_cast<uint64_t>(d),
                                   &staticPart))
          staticOverflow = true;
      if (staticOverflow || staticPart > static_cast<uint64_t>(INT64_MAX)) {
        op.emitError("a ") << shape << " buffer cannot be allocated: "
                           << "its static sizes overflow";
        return signalPassFailure();
      }
      Value bytes = arith::ConstantIntOp::create(
          b, loc, static_cast<int64_t>(staticPart), 64);
      Value overflow = arith::ConstantIntOp::create(b, loc, 0, 1);
      Value maxSigned = arith::ConstantIntOp::create(b, loc, INT64_MAX, 64);
      for (Value size : sizes) {
        auto product = arith::MulUIExtendedOp::create(b, loc, bytes, size);
        Value high = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne,
                                           product.getHigh(), zero);
        Value tooBig = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                             product.getLow(), maxSigned);
        overflow = arith::OrIOp::create(
            b, loc, overflow, arith::OrIOp::create(b, loc, high, tooBig));
        bytes = product.getLow();
      }
      Value ok = arith::XOrIOp::create(
          b, loc, overflow, arith::ConstantIntOp::create(b, loc, 1, 1));
      SmallVector<Value> shown(
          sizes.begin(), sizes.begin() + std::min<size_t>(3, sizes.size()));
      std::string list;
      for (size_t i = 0; i < shown.size(); ++i)
        list += (i ? ", {" : "{") + std::to_string(i) + "}";
      if (sizes.size() > shown.size())
        list += ", ...";
      CheckOp::create(b, loc, ok,
                      b.getStringAttr(prefix + "a " + shape +
                                      " result with dynamic sizes [" + list +
                                      "] has too many bytes to allocate"),
                      shown);
      ++numChecked;
      LLVM_DEBUG(llvm::dbgs() << "allocation size checked at " << loc << "\n");
    }
  }
};

} // namespace
} // namespace bathy
