//===- CudaEmitter.cpp - Kernel functions as CUDA C++ ---------------------===//
//
// Input: kernel functions after buildCudaCodegenPipeline (buffers, scf
// loops, arith, math, memref views as base + offset + sizes + strides,
// bathy.check). Output: one translation unit.
//
// Emitters form a hierarchy over one name table per kernel function:
//
//   CudaEmitter     values, types, scalar ops (arith, math), structured
//                   control flow (scf.for, scf.if), memref metadata and
//                   element access, constants
//   DeviceEmitter   one __global__ function per top-level loop nest; the
//                   nest's outermost scf.parallel is spread over a grid of
//                   threads (grid-stride, the last dim fastest so adjacent
//                   threads touch adjacent elements); inner parallel loops
//                   run sequentially in their thread; checks record an
//                   error for the host
//   HostEmitter     the rest of the kernel function: allocation, frees,
//                   host-side checks, launches, the packed entry point the
//                   runtime's executor calls
//
// Every emit* method returns failure after a diagnostic at the op it cannot
// write; nothing is written for a function that fails.
//
//===----------------------------------------------------------------------===//
#include "bathy/Codegen/CPU/Passes.h"
#include "bathy/Codegen/CUDA/Cuda.h"
#include "bathy/Dialect/Bathy/BathyOps.h"
#include "runtime/cpu/entry_points.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/IndentedOstream.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"
#include <set>
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include <cstdio>

using namespace mlir;

namespace bathy {
namespace {

/// Names of values within one kernel function, shared by its host and
/// device emitters (a captured value keeps its name as a parameter).
struct NameTable {
  DenseMap<Value, std::string> names;
  unsigned next = 0;
};

/// A C string literal of `text`.
std::string cString(StringRef text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\')
      out += '\\', out += static_cast<char>(c);
    else if (c >= 0x20 && c < 0x7f)
      out += static_cast<char>(c);
    else { // UTF-8 in node names, control characters: octal escapes
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\%03o", static_cast<unsigned>(c));
      out += escaped;
    }
  }
  return out + "\"";
}

class CudaEmitter {
public:
  CudaEmitter(raw_indented_ostream &os, NameTable &table)
      : os(os), table(table) {}
  virtual ~CudaEmitter() = default;

  /// Emits the ops of `block` but its terminator.
  LogicalResult emitBlock(Block &block) {
    for (Operation &op : block.without_terminator())
      if (failed(emitOp(op)))
        return failure();
    return success();
  }

protected:
  raw_indented_ostream &os;
  NameTable &table;

  std::string name(Value v) {
    auto [it, inserted] = table.names.try_emplace(v, "");
    if (inserted)
      it->second = "v" + std::to_string(table.next++);
    return it->second;
  }

  /// The C type of a scalar.
  FailureOr<std::string> scalarType(Type type, Operation *at) {
    if (auto i = dyn_cast<IntegerType>(type); i && !i.isSignless()) {
      std::string base = i.isUnsigned() ? "bathy_u" : "bathy_i";
      switch (i.getWidth()) {
      case 8:
      case 16:
      case 32:
      case 64:
        return base + std::to_string(i.getWidth());
      default:
        break;
      }
    }
    if (type.isIndex() || type.isInteger(64))
      return std::string("bathy_i64");
    if (type.isInteger(32))
      return std::string("bathy_i32");
    if (type.isInteger(16))
      return std::string("bathy_i16");
    if (type.isInteger(8))
      return std::string("bathy_i8");
    if (type.isInteger(1))
      return std::string("bool");
    if (type.isF32())
      return std::string("float");
    if (type.isF64())
      return std::string("double");
    if (type.isF16())
      return std::string("bathy_f16");
    return at->emitError("the CUDA target has no C type for ") << type,
           failure();
  }
  /// The unsigned type of the same width (bool for i1).
  static std::string unsignedType(Type type) {
    unsigned w = type.isIndex() ? 64 : type.getIntOrFloatBitWidth();
    switch (w) {
    case 1:
      return "bool";
    case 8:
      return "bathy_u8";
    case 16:
      return "bathy_u16";
    case 32:
      return "bathy_u32";
    default:
      return "bathy_u64";
    }
  }
  FailureOr<std::string> typeOf(Type type, Operation *at) {
    if (isa<UnrankedMemRefType>(type))
      return std::string("bathy_unranked");
    if (auto memref = dyn_cast<MemRefType>(type)) {
      FailureOr<std::string> element =
          scalarType(memref.getElementType(), at);
      if (failed(element))
        return failure();
      return "bathy_memref<" + *element + ", " +
             std::to_string(memref.getRank()) + ">";
    }
    return scalarType(type, at);
  }

  /// Writes "T name = " for the single result of `op`.
  LogicalResult declare(Value v, Operation *at) {
    FailureOr<std::string> type = typeOf(v.getType(), at);
    if (failed(type))
      return failure();
    os << "const " << *type << " " << name(v) << " = ";
    return success();
  }
  LogicalResult assign(Operation *op, const Twine &expr) {
    if (failed(declare(op->getResult(0), op)))
      return failure();
    os << expr << ";\n";
    return success();
  }

  /// A literal of `attr` (an integer, index or float scalar).
  FailureOr<std::string> literal(Attribute attr, Operation *at) {
    if (auto i = dyn_cast<IntegerAttr>(attr)) {
      Type type = i.getType();
      if (type.isInteger(1))
        return std::string(i.getValue().isZero() ? "false" : "true");
      FailureOr<std::string> c = scalarType(type, at);
      if (failed(c))
        return failure();
      int64_t v = i.getValue().getSExtValue();
      if (v == INT64_MIN)
        return "(" + *c + ")(-9223372036854775807LL - 1)";
      return "(" + *c + ")" + std::to_string(v) + "LL";
    }
    if (auto f = dyn_cast<FloatAttr>(attr)) {
      APFloat value = f.getValue();
      Type type = f.getType();
      if (type.isF64()) {
        if (!value.isFinite())
          return "bathy_f64_bits(0x" +
                 llvm::utohexstr(value.bitcastToAPInt().getZExtValue()) +
                 "ull)";
        char buf[64];
        value.convertToHexString(buf, 0, false, APFloat::rmNearestTiesToEven);
        return std::string(buf);
      }
      bool losesInfo = false;
      value.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven,
                    &losesInfo);
      std::string single;
      if (!value.isFinite()) {
        single = "bathy_f32_bits(0x" +
                 llvm::utohexstr(value.bitcastToAPInt().getZExtValue()) + "u)";
      } else {
        char buf[64];
        value.convertToHexString(buf, 0, false, APFloat::rmNearestTiesToEven);
        single = std::string(buf) + "f";
      }
      if (type.isF32())
        return single;
      if (type.isF16())
        return "(bathy_f16)(" + single + ")";
      return at->emitError("the CUDA target has no literal of type ") << type,
             failure();
    }
    return at->emitError("the CUDA target cannot write constant ") << attr,
           failure();
  }

  /// How an operand takes part in arithmetic: f16 is computed in f32.
  std::string arithmetic(Value v) {
    if (v.getType().isF16())
      return "(float)" + name(v);
    return name(v);
  }
  /// `expr` (computed in f32 for f16) as a value of `type`.
  static std::string narrow(Type type, const std::string &expr) {
    if (type.isF16())
      return "(bathy_f16)(" + expr + ")";
    return expr;
  }

  /// The element index of `indices` in `memref` (a memref value): its
  /// offset and strides from the type where static, else from the
  /// descriptor.
  std::string elementIndex(Value memref, ValueRange indices) {
    auto type = cast<MemRefType>(memref.getType());
    SmallVector<int64_t> strides;
    int64_t offset = 0;
    bool staticLayout = succeeded(type.getStridesAndOffset(strides, offset));
    std::string m = name(memref);
    std::string out;
    auto term = [&](const std::string &t) {
      out += out.empty() ? t : " + " + t;
    };
    if (staticLayout && !ShapedType::isDynamic(offset)) {
      if (offset != 0)
        term(std::to_string(offset));
    } else {
      term(m + ".offset");
    }
    for (auto [k, index] : llvm::enumerate(indices)) {
      std::string stride;
      if (staticLayout && !ShapedType::isDynamic(strides[k])) {
        if (strides[k] == 0)
          continue;
        stride = strides[k] == 1 ? "" : std::to_string(strides[k]);
      } else {
        stride = m + ".strides[" + std::to_string(k) + "]";
      }
      term(stride.empty() ? name(index) : name(index) + " * " + stride);
    }
    return out.empty() ? "0" : out;
  }

  virtual LogicalResult emitOp(Operation &op) {
    return TypeSwitch<Operation *, LogicalResult>(&op)
        .Case<arith::ConstantOp>([&](auto c) { return emitConstant(c); })
        .Case<scf::ForOp>([&](auto f) { return emitFor(f); })
        .Case<scf::IfOp>([&](auto i) { return emitIf(i); })
        .Case<scf::ParallelOp>([&](auto p) { return emitParallel(p); })
        .Case<memref::LoadOp>([&](auto l) { return emitLoad(l); })
        .Case<memref::StoreOp>([&](auto s) { return emitStore(s); })
        .Case<CheckOp>([&](auto c) { return emitCheck(c); })
        .Case<memref::DimOp, memref::ExtractStridedMetadataOp,
              memref::ReinterpretCastOp, memref::CastOp, memref::ReshapeOp,
              memref::TransposeOp,
              memref::ExtractAlignedPointerAsIndexOp>(
            [&](Operation *m) { return emitMemRefMetadata(m); })
        .Case<UnrealizedConversionCastOp>([&](Operation *o) -> LogicalResult {
          // Between signed/unsigned and signless integers of one width.
          if (o->getNumOperands() != 1 || o->getNumResults() != 1 ||
              !o->getOperand(0).getType().isInteger() ||
              !o->getResult(0).getType().isInteger())
            return o->emitError("the CUDA emitter cannot write this cast"),
                   failure();
          FailureOr<std::string> c = scalarType(o->getResult(0).getType(), o);
          if (failed(c))
            return failure();
          return assign(o, "(" + *c + ")" + name(o->getOperand(0)));
        })
        .Default([&](Operation *o) {
          if (isa<arith::ArithDialect, math::MathDialect>(o->getDialect()))
            return emitScalar(o);
          return o->emitError("the CUDA emitter cannot write this op here"),
                 failure();
        });
  }

  /// An element of tensor memory read where this emitter runs.
  virtual std::string readElement(const std::string &lvalue) { return lvalue; }

  /// A parallel loop run sequentially where it stands.
  LogicalResult emitSequentialParallel(scf::ParallelOp op) {
    if (op.getNumReductions() != 0)
      return op.emitError("the CUDA emitter takes parallel loops without "
                          "reductions"),
             failure();
    for (unsigned d = 0; d < op.getNumLoops(); ++d) {
      std::string iv = name(op.getInductionVars()[d]);
      os << "for (bathy_i64 " << iv << " = " << name(op.getLowerBound()[d])
         << "; " << iv << " < " << name(op.getUpperBound()[d]) << "; " << iv
         << " += " << name(op.getStep()[d]) << ") {\n";
      os.indent();
    }
    if (failed(emitBlock(*op.getBody())))
      return failure();
    for (unsigned d = 0; d < op.getNumLoops(); ++d) {
      os.unindent();
      os << "}\n";
    }
    return success();
  }


  /// A check's three message values as int64 expressions (0 for unused).
  SmallVector<std::string, 3> checkValues(CheckOp check) {
    SmallVector<std::string, 3> values;
    for (Value v : check.getValues())
      values.push_back("(bathy_i64)" + name(v));
    while (values.size() < 3)
      values.push_back("0");
    return values;
  }

  virtual LogicalResult emitCheck(CheckOp check) = 0;
  virtual LogicalResult emitParallel(scf::ParallelOp op) = 0;

  virtual LogicalResult emitLoad(memref::LoadOp load) {
    return assign(load, name(load.getMemRef()) + ".aligned[" +
                            elementIndex(load.getMemRef(), load.getIndices()) +
                            "]");
  }
  virtual LogicalResult emitStore(memref::StoreOp store) {
    os << name(store.getMemRef()) << ".aligned["
       << elementIndex(store.getMemRef(), store.getIndices())
       << "] = " << name(store.getValueToStore()) << ";\n";
    return success();
  }

  LogicalResult emitConstant(arith::ConstantOp c) {
    if (isa<ShapedType>(c.getType()))
      return c.emitError("the CUDA emitter takes scalar constants only"),
             failure();
    FailureOr<std::string> v = literal(c.getValue(), c);
    if (failed(v))
      return failure();
    return assign(c, *v);
  }

  /// Loop-carried values and the results of scf.for / scf.if: one mutable
  /// variable each, named like the result.
  LogicalResult declareMutable(Value result, Operation *at,
                               const std::string &init) {
    FailureOr<std::string> type = typeOf(result.getType(), at);
    if (failed(type))
      return failure();
    os << *type << " " << name(result);
    if (!init.empty())
      os << " = " << init;
    os << ";\n";
    return success();
  }
  /// scf.yield into `targets` (through temporaries: the yielded values may
  /// read the targets).
  LogicalResult emitYield(Operation *yield, ValueRange targets) {
    if (targets.empty())
      return success();
    os << "{\n";
    os.indent();
    SmallVector<std::string> temps;
    for (auto [v, t] : llvm::zip(yield->getOperands(), targets)) {
      FailureOr<std::string> type = typeOf(t.getType(), yield);
      if (failed(type))
        return failure();
      std::string temp = "t" + std::to_string(table.next++);
      os << *type << " " << temp << " = " << name(v) << ";\n";
      temps.push_back(temp);
    }
    for (auto [temp, t] : llvm::zip(temps, targets))
      os << name(t) << " = " << temp << ";\n";
    os.unindent();
    os << "}\n";
    return success();
  }

  LogicalResult emitFor(scf::ForOp op) {
    for (auto [result, init, arg] :
         llvm::zip(op.getResults(), op.getInitArgs(), op.getRegionIterArgs())) {
      if (failed(declareMutable(result, op, name(init))))
        return failure();
      table.names[arg] = name(result);
    }
    FailureOr<std::string> ivType =
        scalarType(op.getInductionVar().getType(), op);
    if (failed(ivType))
      return failure();
    std::string iv = name(op.getInductionVar());
    os << "for (" << *ivType << " " << iv << " = " << name(op.getLowerBound())
       << "; " << iv << " < " << name(op.getUpperBound()) << "; " << iv
       << " += " << name(op.getStep()) << ") {\n";
    os.indent();
    if (failed(emitBlock(*op.getBody())))
      return failure();
    if (failed(emitYield(op.getBody()->getTerminator(), op.getResults())))
      return failure();
    os.unindent();
    os << "}\n";
    return success();
  }

  LogicalResult emitIf(scf::IfOp op) {
    for (Value result : op.getResults())
      if (failed(declareMutable(result, op, "")))
        return failure();
    os << "if (" << name(op.getCondition()) << ") {\n";
    os.indent();
    if (failed(emitBlock(op.getThenRegion().front())) ||
        failed(emitYield(op.thenYield(), op.getResults())))
      return failure();
    os.unindent();
    if (!op.getElseRegion().empty()) {
      os << "} else {\n";
      os.indent();
      if (failed(emitBlock(op.getElseRegion().front())) ||
          failed(emitYield(op.elseYield(), op.getResults())))
        return failure();
      os.unindent();
    }
    os << "}\n";
    return success();
  }

  /// Declares the descriptor `n` of C type `type` viewing `src`'s buffer at
  /// element offset `offset`.
  void emitViewOf(const std::string &n, const std::string &type,
                  const std::string &src, const std::string &offset) {
    os << type << " " << n << ";\n"
       << n << ".allocated = " << src << ".allocated;\n"
       << n << ".aligned = " << src << ".aligned;\n"
       << n << ".offset = " << offset << ";\n";
  }
  /// Row-major strides of `n` from its sizes.
  void emitIdentityStrides(const std::string &n, int64_t rank) {
    for (int64_t k = rank - 1; k >= 0; --k) {
      os << n << ".strides[" << k << "] = ";
      if (k == rank - 1)
        os << "1";
      else
        os << n << ".strides[" << k + 1 << "] * " << n << ".sizes[" << k + 1
           << "]";
      os << ";\n";
    }
  }

  /// A copy of the descriptor `from` with its offset, sizes and strides
  /// set from mixed static/dynamic values.
  LogicalResult emitView(Value result, Value from, OpFoldResult offset,
                         ArrayRef<OpFoldResult> sizes,
                         ArrayRef<OpFoldResult> strides, Operation *at) {
    FailureOr<std::string> type = typeOf(result.getType(), at);
    if (failed(type))
      return failure();
    auto text = [&](OpFoldResult r) -> std::string {
      if (auto v = dyn_cast<Value>(r))
        return name(v);
      return std::to_string(cast<IntegerAttr>(cast<Attribute>(r)).getInt()) +
             "LL";
    };
    std::string n = name(result);
    emitViewOf(n, *type, name(from), text(offset));
    for (auto [k, s] : llvm::enumerate(sizes))
      os << n << ".sizes[" << k << "] = " << text(s) << ";\n";
    for (auto [k, s] : llvm::enumerate(strides))
      os << n << ".strides[" << k << "] = " << text(s) << ";\n";
    return success();
  }

  LogicalResult emitMemRefMetadata(Operation *op) {
    if (auto dim = dyn_cast<memref::DimOp>(op)) {
      std::optional<int64_t> k = dim.getConstantIndex();
      if (!k)
        return op->emitError("the CUDA emitter needs a constant dim index"),
               failure();
      auto type = cast<MemRefType>(dim.getSource().getType());
      if (!type.isDynamicDim(*k))
        return assign(op, std::to_string(type.getDimSize(*k)) + "LL");
      return assign(op, name(dim.getSource()) + ".sizes[" +
                            std::to_string(*k) + "]");
    }
    if (auto meta = dyn_cast<memref::ExtractStridedMetadataOp>(op)) {
      Value src = meta.getSource();
      auto type = cast<MemRefType>(src.getType());
      SmallVector<int64_t> strides;
      int64_t offset = 0;
      bool staticLayout =
          succeeded(type.getStridesAndOffset(strides, offset));
      FailureOr<std::string> baseType =
          typeOf(meta.getBaseBuffer().getType(), op);
      if (failed(baseType))
        return failure();
      std::string b = name(meta.getBaseBuffer());
      os << *baseType << " " << b << ";\n"
         << b << ".allocated = " << name(src) << ".allocated;\n"
         << b << ".aligned = " << name(src) << ".aligned;\n"
         << b << ".offset = 0;\n";
      auto field = [&](Value v, bool isStatic, int64_t value,
                       const std::string &dynamic) {
        if (v.use_empty())
          return;
        os << "const bathy_i64 " << name(v) << " = "
           << (isStatic ? std::to_string(value) + "LL" : dynamic) << ";\n";
      };
      field(meta.getOffset(), staticLayout && !ShapedType::isDynamic(offset),
            offset, name(src) + ".offset");
      for (int64_t k = 0; k < type.getRank(); ++k) {
        field(meta.getSizes()[k], !type.isDynamicDim(k), type.getDimSize(k),
              name(src) + ".sizes[" + std::to_string(k) + "]");
        field(meta.getStrides()[k],
              staticLayout && !ShapedType::isDynamic(strides[k]),
              staticLayout ? strides[k] : 0,
              name(src) + ".strides[" + std::to_string(k) + "]");
      }
      return success();
    }
    if (auto cast_ = dyn_cast<memref::ReinterpretCastOp>(op))
      return emitView(cast_.getResult(), cast_.getSource(),
                      cast_.getMixedOffsets()[0], cast_.getMixedSizes(),
                      cast_.getMixedStrides(), op);
    if (auto c = dyn_cast<memref::CastOp>(op)) {
      if (isa<UnrankedMemRefType>(c.getType())) {
        auto from = cast<MemRefType>(c.getSource().getType());
        os << "const bathy_unranked " << name(c.getResult()) << " = {"
           << from.getRank() << ", (void *)&" << name(c.getSource()) << "};\n";
        return success();
      }
      auto from = dyn_cast<MemRefType>(c.getSource().getType());
      auto to = dyn_cast<MemRefType>(c.getType());
      if (!from || !to || from.getRank() != to.getRank())
        return op->emitError("the CUDA emitter casts ranked memrefs only"),
               failure();
      return assign(op, name(c.getSource()));
    }
    if (auto transpose = dyn_cast<memref::TransposeOp>(op)) {
      // A view: result dim i is source dim perm(i).
      FailureOr<std::string> c = typeOf(transpose.getType(), op);
      if (failed(c))
        return failure();
      std::string n = name(transpose.getResult()), src = name(transpose.getIn());
      AffineMap perm = transpose.getPermutation();
      emitViewOf(n, *c, src, src + ".offset");
      for (unsigned i = 0; i < perm.getNumResults(); ++i) {
        unsigned from = perm.getDimPosition(i);
        os << n << ".sizes[" << i << "] = " << src << ".sizes[" << from
           << "];\n"
           << n << ".strides[" << i << "] = " << src << ".strides[" << from
           << "];\n";
      }
      return success();
    }
    if (auto reshape = dyn_cast<memref::ReshapeOp>(op)) {
      // The result aliases the source (identity layout) with the sizes the
      // shape operand holds.
      auto type = cast<MemRefType>(reshape.getType());
      FailureOr<std::string> c = typeOf(type, op);
      if (failed(c))
        return failure();
      std::string n = name(reshape.getResult()), src = name(reshape.getSource());
      std::string shape = name(reshape.getShape());
      emitViewOf(n, *c, src, src + ".offset");
      for (int64_t k = 0; k < type.getRank(); ++k) {
        os << n << ".sizes[" << k << "] = ";
        if (type.isDynamicDim(k))
          os << "(bathy_i64)"
             << readElement(shape + ".aligned[" + shape + ".offset + " +
                            std::to_string(k) + " * " + shape + ".strides[0]]");
        else
          os << type.getDimSize(k) << "LL";
        os << ";\n";
      }
      emitIdentityStrides(n, type.getRank());
      return success();
    }
    if (auto p = dyn_cast<memref::ExtractAlignedPointerAsIndexOp>(op))
      return assign(op, "(bathy_i64)(bathy_u64)" + name(p.getSource()) +
                            ".aligned");
    return op->emitError("the CUDA emitter cannot write this op"), failure();
  }

  /// The low and high halves of a full-width product.
  LogicalResult emitMulExtended(Operation *op, bool isSigned) {
    Type type = op->getResult(0).getType();
    FailureOr<std::string> c = scalarType(type, op);
    if (failed(c))
      return failure();
    std::string u = unsignedType(type);
    std::string a = name(op->getOperand(0)), b = name(op->getOperand(1));
    unsigned width = type.isIndex() ? 64 : type.getIntOrFloatBitWidth();
    if (failed(declare(op->getResult(0), op)))
      return failure();
    os << "(" << *c << ")((" << u << ")" << a << " * (" << u << ")" << b
       << ");\n";
    if (failed(declare(op->getResult(1), op)))
      return failure();
    if (width == 64)
      os << (isSigned ? "bathy_mulhi_s64(" : "(bathy_i64)bathy_mulhi_u64(")
         << a << ", " << b << ");\n";
    else if (isSigned)
      os << "(" << *c << ")(((bathy_i64)" << a << " * (bathy_i64)" << b
         << ") >> " << width << ");\n";
    else
      os << "(" << *c << ")(((bathy_u64)(" << u << ")" << a
         << " * (bathy_u64)(" << u << ")" << b << ") >> " << width << ");\n";
    return success();
  }

  LogicalResult emitScalar(Operation *op) {
    if (isa<arith::MulUIExtendedOp>(op))
      return emitMulExtended(op, /*isSigned=*/false);
    if (isa<arith::MulSIExtendedOp>(op))
      return emitMulExtended(op, /*isSigned=*/true);
    if (op->getNumResults() != 1)
      return op->emitError("the CUDA emitter cannot write this op"), failure();
    Type type = op->getResult(0).getType();
    if (isa<ShapedType>(type))
      return op->emitError("the CUDA emitter takes scalar arithmetic only"),
             failure();
    auto arg = [&](unsigned i) { return arithmetic(op->getOperand(i)); };
    auto bin = [&](StringRef sym) {
      return assign(op, narrow(type, "(" + arg(0) + " " + sym.str() + " " +
                                         arg(1) + ")"));
    };
    // Wrapping integer arithmetic: computed in the unsigned type.
    auto wrap = [&](StringRef sym) -> LogicalResult {
      if (type.isInteger(1)) {
        StringRef boolSym = sym == "*" ? "&" : "^";
        return assign(op, "(" + name(op->getOperand(0)) + " " + boolSym.str() +
                              " " + name(op->getOperand(1)) + ")");
      }
      FailureOr<std::string> c = scalarType(type, op);
      if (failed(c))
        return failure();
      std::string u = unsignedType(type);
      return assign(op, "(" + *c + ")((" + u + ")" + name(op->getOperand(0)) +
                            " " + sym.str() + " (" + u + ")" +
                            name(op->getOperand(1)) + ")");
    };
    auto call = [&](StringRef f32, StringRef f64) -> LogicalResult {
      std::string args;
      for (unsigned i = 0; i < op->getNumOperands(); ++i)
        args += (i ? ", " : "") + arg(i);
      Type operandType = op->getOperand(0).getType();
      StringRef fn = operandType.isF64() ? f64 : f32;
      return assign(op, narrow(type, fn.str() + "(" + args + ")"));
    };
    auto helper = [&](StringRef fn) -> LogicalResult {
      FailureOr<std::string> c = scalarType(type, op);
      if (failed(c))
        return failure();
      std::string args;
      for (unsigned i = 0; i < op->getNumOperands(); ++i)
        args += (i ? ", " : "") + name(op->getOperand(i));
      return assign(op, fn.str() + "<" + *c + ", " + unsignedType(type) +
                            ">(" + args + ")");
    };
    auto floatHelper = [&](StringRef fn) -> LogicalResult {
      std::string t = type.isF64() ? "double" : "float";
      return assign(op, narrow(type, fn.str() + "<" + t + ">(" + arg(0) +
                                         ", " + arg(1) + ")"));
    };
    auto unsignedOperand = [&](unsigned i) {
      Value v = op->getOperand(i);
      return "(" + unsignedType(v.getType()) + ")" + name(v);
    };
    auto ubin = [&](StringRef sym) -> LogicalResult {
      FailureOr<std::string> c = scalarType(type, op);
      if (failed(c))
        return failure();
      return assign(op, "(" + *c + ")(" + unsignedOperand(0) + " " +
                            sym.str() + " " + unsignedOperand(1) + ")");
    };
    auto convert = [&]() -> LogicalResult {
      FailureOr<std::string> c = scalarType(type, op);
      if (failed(c))
        return failure();
      Value in = op->getOperand(0);
      Type from = in.getType();
      bool fromInt = from.isIntOrIndex(), toInt = type.isIntOrIndex();
      bool isUnsignedOp =
          isa<arith::ExtUIOp, arith::UIToFPOp, arith::IndexCastUIOp>(op);
      if (toInt && type.isInteger(1)) // trunci to i1
        return assign(op, "((" + unsignedOperand(0) + " & 1) != 0)");
      if (fromInt && from.isInteger(1)) {
        if (isa<arith::ExtSIOp>(op))
          return assign(op, "(" + *c + ")(" + name(in) + " ? -1 : 0)");
        return assign(op, "(" + *c + ")(" + name(in) + " ? 1 : 0)");
      }
      if (fromInt && toInt) {
        unsigned fw = from.isIndex() ? 64 : from.getIntOrFloatBitWidth();
        unsigned tw = type.isIndex() ? 64 : type.getIntOrFloatBitWidth();
        if (tw <= fw) // truncation wraps
          return assign(op, "(" + *c + ")(" + unsignedType(type) + ")(" +
                                unsignedOperand(0) + ")");
        if (isUnsignedOp)
          return assign(op, "(" + *c + ")" + unsignedOperand(0));
        return assign(op, "(" + *c + ")" + name(in));
      }
      if (fromInt && !toInt) {
        std::string v = isUnsignedOp ? unsignedOperand(0) : name(in);
        std::string t = type.isF16() ? "float" : *c;
        return assign(op, narrow(type, "(" + t + ")" + v));
      }
      if (!fromInt && toInt) {
        StringRef fn =
            isa<arith::FPToUIOp>(op) ? "bathy_fptoui" : "bathy_fptosi";
        std::string t = isa<arith::FPToUIOp>(op) ? unsignedType(type) : *c;
        std::string f = from.isF64() ? "double" : "float";
        return assign(op, "(" + *c + ")" + fn.str() + "<" + t + ", " + f +
                              ">(" + arithmetic(in) + ")");
      }
      // Float to float.
      std::string t = type.isF16() ? "float" : *c;
      return assign(op, narrow(type, "(" + t + ")" + arithmetic(in)));
    };

    return TypeSwitch<Operation *, LogicalResult>(op)
        .Case<arith::AddFOp>([&](auto) { return bin("+"); })
        .Case<arith::SubFOp>([&](auto) { return bin("-"); })
        .Case<arith::MulFOp>([&](auto) { return bin("*"); })
        .Case<arith::DivFOp>([&](auto) { return bin("/"); })
        .Case<arith::RemFOp>([&](auto) { return call("fmodf", "fmod"); })
        .Case<arith::NegFOp>(
            [&](auto) { return assign(op, narrow(type, "(-" + arg(0) + ")")); })
        .Case<arith::AddIOp>([&](auto) { return wrap("+"); })
        .Case<arith::SubIOp>([&](auto) { return wrap("-"); })
        .Case<arith::MulIOp>([&](auto) { return wrap("*"); })
        .Case<arith::DivSIOp, arith::RemSIOp>([&](Operation *o) {
          return assign(op, "(" + name(o->getOperand(0)) +
                                (isa<arith::DivSIOp>(o) ? " / " : " % ") +
                                name(o->getOperand(1)) + ")");
        })
        .Case<arith::DivUIOp>([&](auto) { return ubin("/"); })
        .Case<arith::RemUIOp>([&](auto) { return ubin("%"); })
        .Case<arith::AndIOp>([&](auto) { return ubin("&"); })
        .Case<arith::OrIOp>([&](auto) { return ubin("|"); })
        .Case<arith::XOrIOp>([&](auto) { return ubin("^"); })
        .Case<arith::ShLIOp>([&](auto) { return helper("bathy_shl"); })
        .Case<arith::ShRUIOp>([&](auto) { return helper("bathy_shrui"); })
        .Case<arith::ShRSIOp>([&](auto) { return helper("bathy_shrsi"); })
        .Case<arith::MaxSIOp, arith::MinSIOp, arith::MaxUIOp, arith::MinUIOp>(
            [&](Operation *o) {
              bool isMax = isa<arith::MaxSIOp, arith::MaxUIOp>(o);
              bool isUnsigned = isa<arith::MaxUIOp, arith::MinUIOp>(o);
              std::string a = isUnsigned ? unsignedOperand(0) : name(o->getOperand(0));
              std::string b = isUnsigned ? unsignedOperand(1) : name(o->getOperand(1));
              return assign(op, "(" + a + (isMax ? " > " : " < ") + b + " ? " +
                                    name(o->getOperand(0)) + " : " +
                                    name(o->getOperand(1)) + ")");
            })
        .Case<arith::MaximumFOp>(
            [&](auto) { return floatHelper("bathy_maximumf"); })
        .Case<arith::MinimumFOp>(
            [&](auto) { return floatHelper("bathy_minimumf"); })
        .Case<arith::MaxNumFOp>(
            [&](auto) { return floatHelper("bathy_maxnumf"); })
        .Case<arith::MinNumFOp>(
            [&](auto) { return floatHelper("bathy_minnumf"); })
        .Case<arith::CmpIOp>([&](arith::CmpIOp c) {
          using P = arith::CmpIPredicate;
          bool isUnsigned = c.getPredicate() == P::ult ||
                            c.getPredicate() == P::ule ||
                            c.getPredicate() == P::ugt ||
                            c.getPredicate() == P::uge;
          std::string a = isUnsigned ? unsignedOperand(0) : name(c.getLhs());
          std::string b = isUnsigned ? unsignedOperand(1) : name(c.getRhs());
          const char *sym = "==";
          switch (c.getPredicate()) {
          case P::eq: sym = "=="; break;
          case P::ne: sym = "!="; break;
          case P::slt: case P::ult: sym = "<"; break;
          case P::sle: case P::ule: sym = "<="; break;
          case P::sgt: case P::ugt: sym = ">"; break;
          case P::sge: case P::uge: sym = ">="; break;
          }
          return assign(op, "(" + a + " " + sym + " " + b + ")");
        })
        .Case<arith::CmpFOp>([&](arith::CmpFOp c) {
          using P = arith::CmpFPredicate;
          std::string a = arithmetic(c.getLhs()), b = arithmetic(c.getRhs());
          std::string unordered = "(" + a + " != " + a + " || " + b +
                                  " != " + b + ")";
          std::string e;
          switch (c.getPredicate()) {
          case P::AlwaysFalse: e = "false"; break;
          case P::AlwaysTrue: e = "true"; break;
          case P::OEQ: e = "(" + a + " == " + b + ")"; break;
          case P::OGT: e = "(" + a + " > " + b + ")"; break;
          case P::OGE: e = "(" + a + " >= " + b + ")"; break;
          case P::OLT: e = "(" + a + " < " + b + ")"; break;
          case P::OLE: e = "(" + a + " <= " + b + ")"; break;
          case P::ONE: e = "(" + a + " < " + b + " || " + a + " > " + b + ")"; break;
          case P::ORD: e = "!" + unordered; break;
          case P::UEQ: e = "!(" + a + " < " + b + " || " + a + " > " + b + ")"; break;
          case P::UGT: e = "!(" + a + " <= " + b + ")"; break;
          case P::UGE: e = "!(" + a + " < " + b + ")"; break;
          case P::ULT: e = "!(" + a + " >= " + b + ")"; break;
          case P::ULE: e = "!(" + a + " > " + b + ")"; break;
          case P::UNE: e = "(" + a + " != " + b + ")"; break;
          case P::UNO: e = unordered; break;
          }
          return assign(op, e);
        })
        .Case<arith::SelectOp>([&](arith::SelectOp s) {
          return assign(op, "(" + name(s.getCondition()) + " ? " +
                                name(s.getTrueValue()) + " : " +
                                name(s.getFalseValue()) + ")");
        })
        .Case<arith::ExtSIOp, arith::ExtUIOp, arith::TruncIOp,
              arith::IndexCastOp, arith::IndexCastUIOp, arith::SIToFPOp,
              arith::UIToFPOp, arith::FPToSIOp, arith::FPToUIOp,
              arith::ExtFOp, arith::TruncFOp>(
            [&](Operation *) { return convert(); })
        .Case<arith::BitcastOp>([&](arith::BitcastOp b) -> LogicalResult {
          FailureOr<std::string> to = scalarType(type, op);
          FailureOr<std::string> from = scalarType(b.getIn().getType(), op);
          if (failed(to) || failed(from))
            return failure();
          return assign(op, "bathy_bitcast<" + *to + ", " + *from + ">(" +
                                name(b.getIn()) + ")");
        })
        .Case<math::AbsFOp>([&](auto) { return call("fabsf", "fabs"); })
        .Case<math::AbsIOp>([&](auto) { return helper("bathy_absi"); })
        .Case<math::CeilOp>([&](auto) { return call("ceilf", "ceil"); })
        .Case<math::FloorOp>([&](auto) { return call("floorf", "floor"); })
        .Case<math::RoundOp>([&](auto) { return call("roundf", "round"); })
        .Case<math::RoundEvenOp>([&](auto) { return call("rintf", "rint"); })
        .Case<math::TruncOp>([&](auto) { return call("truncf", "trunc"); })
        .Case<math::SqrtOp>([&](auto) { return call("sqrtf", "sqrt"); })
        .Case<math::RsqrtOp>([&](auto) {
          return assign(op, narrow(type, (type.isF64() ? "(1.0 / sqrt("
                                                       : "(1.0f / sqrtf(") +
                                             arg(0) + "))"));
        })
        .Case<math::CbrtOp>([&](auto) { return call("cbrtf", "cbrt"); })
        .Case<math::ExpOp>([&](auto) { return call("expf", "exp"); })
        .Case<math::Exp2Op>([&](auto) { return call("exp2f", "exp2"); })
        .Case<math::ExpM1Op>([&](auto) { return call("expm1f", "expm1"); })
        .Case<math::LogOp>([&](auto) { return call("logf", "log"); })
        .Case<math::Log2Op>([&](auto) { return call("log2f", "log2"); })
        .Case<math::Log10Op>([&](auto) { return call("log10f", "log10"); })
        .Case<math::Log1pOp>([&](auto) { return call("log1pf", "log1p"); })
        .Case<math::SinOp>([&](auto) { return call("sinf", "sin"); })
        .Case<math::CosOp>([&](auto) { return call("cosf", "cos"); })
        .Case<math::TanOp>([&](auto) { return call("tanf", "tan"); })
        .Case<math::AsinOp>([&](auto) { return call("asinf", "asin"); })
        .Case<math::AcosOp>([&](auto) { return call("acosf", "acos"); })
        .Case<math::AtanOp>([&](auto) { return call("atanf", "atan"); })
        .Case<math::Atan2Op>([&](auto) { return call("atan2f", "atan2"); })
        .Case<math::SinhOp>([&](auto) { return call("sinhf", "sinh"); })
        .Case<math::CoshOp>([&](auto) { return call("coshf", "cosh"); })
        .Case<math::TanhOp>([&](auto) { return call("tanhf", "tanh"); })
        .Case<math::AsinhOp>([&](auto) { return call("asinhf", "asinh"); })
        .Case<math::AcoshOp>([&](auto) { return call("acoshf", "acosh"); })
        .Case<math::AtanhOp>([&](auto) { return call("atanhf", "atanh"); })
        .Case<math::ErfOp>([&](auto) { return call("erff", "erf"); })
        .Case<math::ErfcOp>([&](auto) { return call("erfcf", "erfc"); })
        .Case<math::PowFOp>([&](auto) { return call("powf", "pow"); })
        .Case<math::FmaOp>([&](auto) { return call("fmaf", "fma"); })
        .Case<math::CopySignOp>(
            [&](auto) { return call("copysignf", "copysign"); })
        .Case<math::IsNaNOp>(
            [&](auto) { return assign(op, "isnan(" + arg(0) + ")"); })
        .Case<math::IsInfOp>(
            [&](auto) { return assign(op, "isinf(" + arg(0) + ")"); })
        .Case<math::IsFiniteOp>(
            [&](auto) { return assign(op, "isfinite(" + arg(0) + ")"); })
        .Case<math::IPowIOp>([&](auto) { return helper("bathy_ipowi"); })
        .Case<math::FPowIOp>([&](math::FPowIOp p) {
          return assign(op, narrow(type, (type.isF64() ? "pow(" : "powf(") +
                                             arg(0) + ", (" +
                                             (type.isF64() ? "double" : "float") +
                                             ")" + name(p.getRhs()) + ")"));
        })
        .Case<math::CtPopOp>([&](auto) { return helper("bathy_ctpop"); })
        .Case<math::CountLeadingZerosOp>(
            [&](auto) { return helper("bathy_ctlz"); })
        .Case<math::CountTrailingZerosOp>(
            [&](auto) { return helper("bathy_cttz"); })
        .Default([&](Operation *o) {
          return o->emitError("the CUDA emitter cannot write this op"),
                 failure();
        });
  }
};

/// One __global__ function per top-level loop nest of a kernel function.
class DeviceEmitter : public CudaEmitter {
public:
  using CudaEmitter::CudaEmitter;

  /// Writes `nest` (an scf.parallel, or any op run by one thread) as the
  /// __global__ function `kernel` taking the `captured` values as
  /// parameters; constants among them are written into the body instead.
  LogicalResult emitKernel(Operation *nest, StringRef kernel,
                           ArrayRef<Value> captured) {
    os << "extern \"C\" __global__ void " << kernel << "(";
    bool first = true;
    for (Value v : captured) {
      if (v.getDefiningOp<arith::ConstantOp>())
        continue;
      FailureOr<std::string> type = typeOf(v.getType(), nest);
      if (failed(type))
        return failure();
      os << (first ? "" : ", ") << *type << " " << name(v);
      first = false;
    }
    os << ") {\n";
    os.indent();
    for (Value v : captured)
      if (auto c = v.getDefiningOp<arith::ConstantOp>())
        if (failed(emitConstant(c)))
          return failure();
    if (auto parallel = dyn_cast<scf::ParallelOp>(nest)) {
      if (failed(emitGrid(parallel)))
        return failure();
    } else {
      os << "if (BATHY_TID != 0)\n  return;\n";
      if (failed(emitOp(*nest)))
        return failure();
    }
    os.unindent();
    os << "}\n\n";
    return success();
  }

private:
  /// The outermost parallel loop over the grid.
  LogicalResult emitGrid(scf::ParallelOp op) {
    unsigned rank = op.getNumLoops();
    std::vector<std::string> trips;
    for (unsigned d = 0; d < rank; ++d) {
      std::string n = "n" + std::to_string(table.next++);
      os << "const bathy_i64 " << n << " = bathy_trip("
         << name(op.getLowerBound()[d]) << ", " << name(op.getUpperBound()[d])
         << ", " << name(op.getStep()[d]) << ");\n";
      trips.push_back(n);
    }
    std::string total = "total" + std::to_string(table.next++);
    os << "const bathy_i64 " << total << " = ";
    for (unsigned d = 0; d < rank; ++d)
      os << (d ? " * " : "") << trips[d];
    os << ";\n";
    std::string t = "tid" + std::to_string(table.next++);
    os << "for (bathy_i64 " << t << " = BATHY_TID; " << t << " < " << total
       << "; " << t << " += BATHY_NTHREADS) {\n";
    os.indent();
    std::string rest = "r" + std::to_string(table.next++);
    if (rank > 1)
      os << "bathy_i64 " << rest << " = " << t << ";\n";
    for (int d = rank - 1; d >= 0; --d) {
      std::string iv = name(op.getInductionVars()[d]);
      std::string position = rank == 1 ? t
                             : d == 0  ? rest
                                       : "(" + rest + " % " + trips[d] + ")";
      os << "const bathy_i64 " << iv << " = " << name(op.getLowerBound()[d])
         << " + " << position << " * " << name(op.getStep()[d]) << ";\n";
      if (d > 0)
        os << rest << " /= " << trips[d] << ";\n";
    }
    if (failed(emitBlock(*op.getBody())))
      return failure();
    os.unindent();
    os << "}\n";
    return success();
  }

  LogicalResult emitParallel(scf::ParallelOp op) override {
    return emitSequentialParallel(op);
  }

  LogicalResult emitCheck(CheckOp check) override {
    SmallVector<std::string, 3> values = checkValues(check);
    os << "if (!" << name(check.getCondition()) << ")\n  BATHY_DEVICE_FAIL("
       << (++checkId) << ", " << cString(check.getMessage()) << ", "
       << values[0] << ", " << values[1] << ", " << values[2] << ");\n";
    return success();
  }

public:
  unsigned checkId = 0;
};

/// Loops run on the device; scf.if stays host control flow (the loops in
/// its branches are launched from there).
bool isDeviceWork(Operation *op) {
  return isa<scf::ForOp, scf::ParallelOp, scf::WhileOp>(op);
}

/// A kernel function's host part and its packed entry point.
class HostEmitter : public CudaEmitter {
public:
  /// With `helper`, a host function of the host parts (bufferization's
  /// dealloc_helper): its loops run where they stand.
  HostEmitter(raw_indented_ostream &os, raw_indented_ostream &device,
              NameTable &table, bool helper = false)
      : CudaEmitter(os, table), device(device), deviceEmitter(device, table),
        helper(helper) {}

  LogicalResult emitHelper(func::FuncOp func) {
    if (func.getNumResults() != 0 || func.getBlocks().size() != 1)
      return func.emitError("the CUDA emitter takes single-block helpers "
                            "without results"),
             failure();
    os << "static void " << func.getSymName() << "(";
    for (BlockArgument arg : func.getArguments()) {
      FailureOr<std::string> type = typeOf(arg.getType(), func);
      if (failed(type))
        return failure();
      os << (arg.getArgNumber() ? ", " : "") << *type << " " << name(arg);
    }
    os << ") {\n";
    os.indent();
    if (failed(emitBlock(func.front())))
      return failure();
    os.unindent();
    os << "}\n\n";
    return success();
  }

  LogicalResult emitFunction(func::FuncOp func) {
    kernelName = func.getSymName().str();
    if (func.getBlocks().size() != 1)
      return func.emitError("the CUDA emitter takes single-block kernels"),
             failure();
    bool returning = func.getNumResults() > 0;
    for (Type t : func.getResultTypes())
      if (!isa<MemRefType>(t))
        return func.emitError("the CUDA emitter takes kernels returning "
                              "memrefs only"),
               failure();
    os << "extern \"C\" __attribute__((visibility(\"default\"))) void "
       << rt_entry_prefix << kernelName << "(void **bathy_args) {\n";
    os.indent();
    unsigned k = 0;
    if (returning)
      os << "char *bathy_results = *(char **)bathy_args[" << k++ << "];\n";
    for (BlockArgument arg : func.getArguments()) {
      if (!isa<MemRefType>(arg.getType()))
        return func.emitError("the CUDA emitter takes memref arguments only"),
               failure();
      FailureOr<std::string> type = typeOf(arg.getType(), func);
      if (failed(type))
        return failure();
      os << *type << " " << name(arg) << ";\n";
      os << "std::memcpy(&" << name(arg) << ", *(void **)bathy_args[" << k++
         << "], sizeof " << name(arg) << ");\n";
    }
    if (failed(emitBlock(func.front())))
      return failure();
    auto ret = cast<func::ReturnOp>(func.front().getTerminator());
    if (returning) {
      os << "size_t bathy_at = 0;\n";
      for (Value v : ret.getOperands()) {
        os << "std::memcpy(bathy_results + bathy_at, &" << name(v)
           << ", sizeof " << name(v) << ");\n";
        os << "bathy_at += sizeof " << name(v) << ";\n";
      }
    }
    os.unindent();
    os << "}\n\n";
    return success();
  }

  SmallVector<std::string> globals;
  /// The prelude's kernels this function launches (BATHY_USE_* macros).
  std::set<std::string> usedPrelude;
  const char *rt_entry_prefix = "_mlir__mlir_ciface_";

private:
  raw_indented_ostream &device;
  DeviceEmitter deviceEmitter;
  bool helper;
  std::string kernelName;

  LogicalResult emitOp(Operation &op) override {
    if (auto alloc = dyn_cast<memref::AllocOp>(op))
      return emitAlloc(alloc.getResult(), alloc.getDynamicSizes(), &op,
                       /*onStack=*/false);
    if (auto alloca = dyn_cast<memref::AllocaOp>(op))
      return emitAlloc(alloca.getResult(), alloca.getDynamicSizes(), &op,
                       /*onStack=*/true);
    if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
      os << "bathy_free(" << name(dealloc.getMemref()) << ".allocated);\n";
      return success();
    }
    if (auto copy = dyn_cast<memref::CopyOp>(op))
      return emitCopy(copy);
    if (auto global = dyn_cast<memref::GetGlobalOp>(op))
      return emitGetGlobal(global);
    if (auto call = dyn_cast<func::CallOp>(op))
      return emitCall(call);
    if (auto assertOp = dyn_cast<cf::AssertOp>(op)) {
      os << "if (!" << name(assertOp.getArg()) << ")\n  bathy_fail("
         << cString(assertOp.getMsg()) << ", 0, 0, 0);\n";
      return success();
    }
    if (!helper && isDeviceWork(&op))
      return emitLaunch(&op);
    return CudaEmitter::emitOp(op);
  }

  LogicalResult emitParallel(scf::ParallelOp op) override {
    return helper ? emitSequentialParallel(op) : emitLaunch(op);
  }

  /// The runtime kernels the target-neutral lowering calls, as the
  /// prelude's launches of its CUDA kernels.
  LogicalResult emitCall(func::CallOp call) {
    StringRef callee = call.getCallee();
    const char *launcher =
        callee == rt::entry::kAttentionF32         ? "bathy_attention_f32"
        : callee == rt::entry::kAttentionMaskedF32 ? "bathy_attention_masked_f32"
        : callee == rt::entry::kMatmulF32          ? "bathy_matmul_f32"
        : callee == rt::entry::kConv2dF32          ? "bathy_conv2d_f32"
        : callee == rt::entry::kDwConv2dF32        ? "bathy_dwconv2d_f32"
                                                   : nullptr;
    auto module = call->getParentOfType<ModuleOp>();
    auto target = module.lookupSymbol<func::FuncOp>(callee);
    if (!launcher && target && !target.isExternal() &&
        call.getNumResults() == 0) {
      // A host helper of this source.
      os << callee << "(";
      for (auto [i, v] : llvm::enumerate(call.getOperands()))
        os << (i ? ", " : "") << name(v);
      os << ");\n";
      return success();
    }
    if (!launcher || call.getNumResults() != 0)
      return call.emitError("the CUDA target has no kernel for a call of @")
                 << callee,
             failure();
    usedPrelude.insert(StringRef(launcher).starts_with("bathy_attention")
                           ? "BATHY_USE_ATTENTION"
                       : StringRef(launcher).starts_with("bathy_matmul")
                           ? "BATHY_USE_MATMUL"
                           : "BATHY_USE_CONV");
    os << launcher << "(";
    for (auto [i, v] : llvm::enumerate(call.getOperands()))
      os << (i ? ", " : "") << name(v);
    os << ");\n";
    return success();
  }

  std::string readElement(const std::string &lvalue) override {
    return helper ? lvalue : "BATHY_HOST_READ(&" + lvalue + ")";
  }

  /// A scalar read or write of tensor memory on the host (a value a size
  /// depends on).
  LogicalResult emitLoad(memref::LoadOp load) override {
    if (helper)
      return CudaEmitter::emitLoad(load);
    return assign(load, "BATHY_HOST_READ(&" + name(load.getMemRef()) +
                            ".aligned[" +
                            elementIndex(load.getMemRef(), load.getIndices()) +
                            "])");
  }
  LogicalResult emitStore(memref::StoreOp store) override {
    if (helper)
      return CudaEmitter::emitStore(store);
    os << "BATHY_HOST_WRITE(&" << name(store.getMemRef()) << ".aligned["
       << elementIndex(store.getMemRef(), store.getIndices()) << "], "
       << name(store.getValueToStore()) << ");\n";
    return success();
  }

  LogicalResult emitCheck(CheckOp check) override {
    SmallVector<std::string, 3> values = checkValues(check);
    os << "if (!" << name(check.getCondition()) << ")\n  bathy_fail("
       << cString(check.getMessage()) << ", " << values[0] << ", "
       << values[1] << ", " << values[2] << ");\n";
    return success();
  }

  LogicalResult emitAlloc(Value result, ValueRange dynamicSizes,
                          Operation *at, bool onStack) {
    auto type = cast<MemRefType>(result.getType());
    if (!type.getLayout().isIdentity())
      return at->emitError("the CUDA emitter allocates identity layouts only"),
             failure();
    FailureOr<std::string> c = typeOf(type, at);
    FailureOr<std::string> element = scalarType(type.getElementType(), at);
    if (failed(c) || failed(element))
      return failure();
    std::string n = name(result);
    os << *c << " " << n << ";\n";
    unsigned dyn = 0;
    for (int64_t k = 0; k < type.getRank(); ++k) {
      os << n << ".sizes[" << k << "] = ";
      if (type.isDynamicDim(k))
        os << name(dynamicSizes[dyn++]);
      else
        os << type.getDimSize(k) << "LL";
      os << ";\n";
    }
    emitIdentityStrides(n, type.getRank());
    // The sizes were checked against overflow before (bathy.check from
    // bathy-cpu-check-allocations); the runtime refuses what the memory
    // limit cannot hold.
    // memref.alloca: host scratch (bufferization's ownership lists) on the
    // stack, freed with the function.
    os << n << ".allocated = "
       << (onStack ? "__builtin_alloca((size_t)" : "bathy_alloc((bathy_i64)")
       << "sizeof(" << *element << ")";
    for (int64_t k = 0; k < type.getRank(); ++k)
      os << " * " << n << ".sizes[" << k << "]";
    os << ");\n";
    os << n << ".aligned = (" << *element << " *)" << n << ".allocated;\n";
    os << n << ".offset = 0;\n";
    return success();
  }

  LogicalResult emitGetGlobal(memref::GetGlobalOp op) {
    auto module = op->getParentOfType<ModuleOp>();
    auto global = module.lookupSymbol<memref::GlobalOp>(op.getNameAttr());
    if (!global)
      return op.emitError("no memref.global named ") << op.getName(),
             failure();
    auto type = cast<MemRefType>(op.getType());
    std::string n = name(op.getResult());
    FailureOr<std::string> c = typeOf(type, op);
    FailureOr<std::string> element = scalarType(type.getElementType(), op);
    if (failed(c) || failed(element))
      return failure();
    os << *c << " " << n << ";\n";
    os << n << ".allocated = (void *)BATHY_GLOBAL(" << op.getName() << ");\n";
    os << n << ".aligned = (" << *element << " *)BATHY_GLOBAL("
       << op.getName() << ");\n";
    os << n << ".offset = 0;\n";
    int64_t stride = 1;
    for (int64_t k = type.getRank() - 1; k >= 0; --k) {
      os << n << ".sizes[" << k << "] = " << type.getDimSize(k) << "LL;\n";
      os << n << ".strides[" << k << "] = " << stride << "LL;\n";
      stride *= type.getDimSize(k);
    }
    return success();
  }

  /// The values `op` reads from the function around it.
  static SmallVector<Value> capturedBy(Operation *op) {
    llvm::SetVector<Value> values;
    for (Value v : op->getOperands())
      values.insert(v);
    for (Region &r : op->getRegions()) {
      llvm::SetVector<Value> above;
      getUsedValuesDefinedAbove(r, above);
      values.insert(above.begin(), above.end());
    }
    return SmallVector<Value>(values.begin(), values.end());
  }

  std::string nextKernelName() {
    return kernelName + "_g" + std::to_string(launches++);
  }
  unsigned launches = 0;

  /// The launch of `op` as a __global__ function of its own.
  LogicalResult emitLaunch(Operation *op) {
    if (op->getNumResults() != 0)
      return op->emitError("the CUDA emitter launches loop nests without "
                           "results only"),
             failure();
    SmallVector<Value> captured = capturedBy(op);
    std::string global = nextKernelName();
    if (failed(deviceEmitter.emitKernel(op, global, captured)))
      return failure();
    globals.push_back(global);
    std::string total = "1";
    if (auto parallel = dyn_cast<scf::ParallelOp>(op)) {
      total.clear();
      for (unsigned d = 0; d < parallel.getNumLoops(); ++d)
        total += std::string(d ? " * " : "") + "bathy_trip(" +
                 name(parallel.getLowerBound()[d]) + ", " +
                 name(parallel.getUpperBound()[d]) + ", " +
                 name(parallel.getStep()[d]) + ")";
    }
    os << "bathy_launch(" << global << ", " << total;
    for (Value v : captured)
      if (!v.getDefiningOp<arith::ConstantOp>())
        os << ", " << name(v);
    os << ");\n";
    return success();
  }

  /// memref.copy as a kernel over the destination's elements.
  LogicalResult emitCopy(memref::CopyOp copy) {
    auto type = cast<MemRefType>(copy.getTarget().getType());
    std::string global = nextKernelName();
    std::string src = name(copy.getSource()), dst = name(copy.getTarget());
    FailureOr<std::string> srcType = typeOf(copy.getSource().getType(), copy);
    FailureOr<std::string> dstType = typeOf(type, copy);
    if (failed(srcType) || failed(dstType))
      return failure();
    int64_t rank = type.getRank();
    device << "extern \"C\" __global__ void " << global << "(" << *srcType
           << " src, " << *dstType << " dst) {\n";
    device.indent();
    device << "bathy_i64 total = 1";
    for (int64_t k = 0; k < rank; ++k)
      device << " * dst.sizes[" << k << "]";
    device << ";\n";
    device << "for (bathy_i64 t = BATHY_TID; t < total; t += BATHY_NTHREADS) "
              "{\n";
    device.indent();
    device << "bathy_i64 r = t, s = src.offset, d = dst.offset;\n";
    for (int64_t k = rank - 1; k >= 0; --k) {
      device << "{ bathy_i64 i = r % dst.sizes[" << k << "]; r /= dst.sizes["
             << k << "]; s += i * src.strides[" << k << "]; d += i * dst.strides["
             << k << "]; }\n";
    }
    device << "dst.aligned[d] = src.aligned[s];\n";
    device.unindent();
    device << "}\n";
    device.unindent();
    device << "}\n\n";
    globals.push_back(global);
    os << "bathy_launch(" << global << ", (bathy_i64)1";
    for (int64_t k = 0; k < rank; ++k)
      os << " * " << dst << ".sizes[" << k << "]";
    os << ", " << src << ", " << dst << ");\n";
    return success();
  }
};

/// memref.global as a constant array in device memory.
LogicalResult emitGlobal(memref::GlobalOp global, raw_indented_ostream &os,
                         NameTable &table) {
  struct Literals : CudaEmitter {
    using CudaEmitter::CudaEmitter;
    using CudaEmitter::literal;
    using CudaEmitter::scalarType;
    LogicalResult emitCheck(CheckOp) override { return failure(); }
    LogicalResult emitParallel(scf::ParallelOp) override { return failure(); }
  } lit(os, table);
  auto type = global.getType();
  auto init = dyn_cast_or_null<DenseElementsAttr>(
      global.getInitialValue().value_or(Attribute()));
  if (!init || !global.getConstant())
    return global.emitError("the CUDA emitter takes constant, initialized "
                            "globals only"),
           failure();
  FailureOr<std::string> element = lit.scalarType(type.getElementType(), global);
  if (failed(element))
    return failure();
  int64_t n = std::max<int64_t>(1, type.getNumElements());
  os << "BATHY_CONSTANT " << *element << " " << global.getSymName() << "["
     << n << "] = {";
  int64_t i = 0;
  for (Attribute a : init.getValues<Attribute>()) {
    FailureOr<std::string> v = lit.literal(a, global);
    if (failed(v))
      return failure();
    os << (i++ ? ", " : "") << *v;
  }
  if (i == 0)
    os << "0";
  os << "};\n\n";
  return success();
}

} // namespace

LogicalResult translateToCuda(ModuleOp module, raw_ostream &out) {
  std::string deviceText, hostText;
  llvm::raw_string_ostream deviceStream(deviceText), hostStream(hostText);
  raw_indented_ostream device(deviceStream), host(hostStream);
  NameTable globalNames;
  for (auto global : module.getOps<memref::GlobalOp>())
    if (failed(emitGlobal(global, device, globalNames)))
      return failure();
  bool failedAny = false;
  std::set<std::string> used;
  // Host helpers first: kernels call them.
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || func->hasAttr(kKernelAttrName))
      continue;
    NameTable table;
    std::string d, h;
    llvm::raw_string_ostream ds(d), hs(h);
    raw_indented_ostream dos(ds), hos(hs);
    HostEmitter emitter(hos, dos, table, /*helper=*/true);
    if (failed(emitter.emitHelper(func))) {
      failedAny = true;
      continue;
    }
    host << h;
  }
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || !func->hasAttr(kKernelAttrName))
      continue;
    NameTable table;
    std::string d, h;
    llvm::raw_string_ostream ds(d), hs(h);
    raw_indented_ostream dos(ds), hos(hs);
    HostEmitter emitter(hos, dos, table);
    if (failed(emitter.emitFunction(func))) {
      failedAny = true;
      continue;
    }
    used.insert(emitter.usedPrelude.begin(), emitter.usedPrelude.end());
    device << d;
    host << h;
  }
  if (failedAny)
    return failure();
  bool f16 = false;
  module.walk([&](Operation *op) {
    auto isF16 = [](Type t) { return getElementTypeOrSelf(t).isF16(); };
    f16 |= llvm::any_of(op->getResultTypes(), isF16) ||
           llvm::any_of(op->getOperandTypes(), isF16);
    if (auto g = dyn_cast<memref::GlobalOp>(op))
      f16 |= g.getType().getElementType().isF16();
  });
  out << "// CUDA C++ written by bathy: the device kernels, then (outside "
         "NVRTC) each\n// kernel function's host part.\n";
  if (f16)
    out << "#define BATHY_F16 1\n";
  for (const std::string &macro : used)
    out << "#define " << macro << " 1\n";
  out << "#include \"" << kCudaPreludeName << "\"\n\n"
      << deviceText << "#ifndef __CUDACC_RTC__\n\n"
      << hostText << "#endif // __CUDACC_RTC__\n";
  return success();
}

} // namespace bathy
