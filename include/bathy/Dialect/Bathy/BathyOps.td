//===- BathyOps.td - The bathy dialect's operations -----------------------===//
//
// Grouped by op family, named as in every other layer (Infer<Family>.cpp,
// the importer's ops/<Family>.cpp, codegen/ToLinalg/<Family>.cpp):
// elementwise, contraction, pooling, reduction, attention, data movement;
// then the kernel, fusion and check ops.
//
//===----------------------------------------------------------------------===//
#ifndef BATHY_DIALECT_BATHY_BATHYOPS_TD
#define BATHY_DIALECT_BATHY_BATHYOPS_TD

include "bathy/Dialect/Bathy/BathyBase.td"

//===----------------------------------------------------------------------===//
// Data movement family (1/2): constants and shapes
//===----------------------------------------------------------------------===//

def Bathy_ConstantOp : Bathy_Op<"constant", [ConstantLike,
    AllTypesMatch<["value", "result"]>]> {
  let summary = "A constant tensor (weights are dense resource blobs).";
  let description = [{
    Materializes a constant tensor. Small constants are written inline; model
    weights are `dense_resource` blobs so that IR printing never copies them.

    Example:
    ```mlir
    %c = bathy.constant dense<[1, 2]> : tensor<2xi64>
    %w = bathy.constant dense_resource<fc_weight> : tensor<768x768xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Bathy_ShapeOp : Bathy_Op<"shape", [Bathy_InferTypes]> {
  let summary = "The shape of a tensor as a 1-D i64 tensor.";
  let description = [{
    Returns dims `[start, end)` of the input's shape (ONNX `Shape`). `start`
    and `end` are clamped to `[0, rank]` after adding the rank to negative
    values. Folds to a constant when those dims are static.

    Example:
    ```mlir
    %s = bathy.shape %x : (tensor<?x128xf32>) -> tensor<2xi64>
    %t = bathy.shape %x {start = 1 : i64} : (tensor<?x128xf32>) -> tensor<1xi64>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input,
                       DefaultValuedAttr<I64Attr, "0">:$start,
                       OptionalAttr<I64Attr>:$end);
  let results = (outs Bathy_ShapeTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Bathy_SizeOp : Bathy_Op<"size", [Bathy_InferTypes]> {
  let summary = "The number of elements of a tensor, as an i64 scalar.";
  let description = [{
    Example:
    ```mlir
    %n = bathy.size %x : (tensor<?x4xf32>) -> tensor<i64>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input);
  let results = (outs TensorOf<[I64]>:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Bathy_ConstantOfShapeOp : Bathy_Op<"constant_of_shape", [Bathy_InferTypes]> {
  let summary = "A tensor of a given shape filled with one value.";
  let description = [{
    `value` is a one-element tensor attribute whose element type is the
    result's; the shape comes from a 1-D i64 operand.

    Example:
    ```mlir
    %z = bathy.constant_of_shape %s {value = dense<0.0> : tensor<1xf32>}
        : (tensor<2xi64>) -> tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Bathy_ShapeTensor:$shape, ElementsAttr:$value);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = "$shape attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Bathy_RangeOp : Bathy_Op<"range", [Bathy_InferTypes]> {
  let summary = "A 1-D sequence start, start + delta, ... up to limit.";
  let description = [{
    The operands are scalars (rank 0) of one numeric element type. The result
    has `max(ceil((limit - start) / delta), 0)` elements; that is static when
    all three operands are constants.

    Example:
    ```mlir
    %r = bathy.range %start, %limit, %delta
        : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$start, Bathy_Tensor:$limit,
                       Bathy_Tensor:$delta);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = [{
    $start `,` $limit `,` $delta attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Elementwise family (1/3): unary
//===----------------------------------------------------------------------===//

class Bathy_MathUnaryOp<string mnemonic, string formula,
                        Type operandType = Bathy_FloatTensor,
                        list<Trait> traits = []>
    : Bathy_UnaryOp<mnemonic, operandType, traits> {
  let summary = "Elementwise " # formula # ".";
  let description = "Computes `" # formula # "` for every element; the " #
    "result has the input's type.\n\nExample:\n```mlir\n%y = bathy." #
    mnemonic # " %x : (tensor<2x?xf32>) -> tensor<2x?xf32>\n```";
}

def Bathy_NegOp : Bathy_MathUnaryOp<"neg", "-x", Bathy_Tensor> {
  let hasFolder = 1;
}
def Bathy_AbsOp : Bathy_MathUnaryOp<"abs", "|x|", Bathy_Tensor>;
def Bathy_SignOp : Bathy_MathUnaryOp<"sign", "sign(x) in {-1, 0, 1}", Bathy_Tensor>;
def Bathy_ReluOp : Bathy_MathUnaryOp<"relu", "max(x, 0)", Bathy_Tensor>;
def Bathy_ExpOp : Bathy_MathUnaryOp<"exp", "e^x">;
def Bathy_LogOp : Bathy_MathUnaryOp<"log", "ln(x)">;
def Bathy_SqrtOp : Bathy_MathUnaryOp<"sqrt", "sqrt(x)">;
def Bathy_RsqrtOp : Bathy_MathUnaryOp<"rsqrt", "1 / sqrt(x)">;
def Bathy_ReciprocalOp : Bathy_MathUnaryOp<"reciprocal", "1 / x">;
def Bathy_TanhOp : Bathy_MathUnaryOp<"tanh", "tanh(x)">;
def Bathy_ErfOp : Bathy_MathUnaryOp<"erf", "erf(x)">;
def Bathy_SigmoidOp : Bathy_MathUnaryOp<"sigmoid", "1 / (1 + e^-x)">;
def Bathy_SiluOp : Bathy_MathUnaryOp<"silu", "x * sigmoid(x)">;
def Bathy_HardSwishOp : Bathy_MathUnaryOp<"hardswish",
    "x * max(0, min(1, x / 6 + 1 / 2))">;
def Bathy_SoftplusOp : Bathy_MathUnaryOp<"softplus", "ln(1 + e^x)">;
def Bathy_CosOp : Bathy_MathUnaryOp<"cos", "cos(x)">;
def Bathy_SinOp : Bathy_MathUnaryOp<"sin", "sin(x)">;
def Bathy_FloorOp : Bathy_MathUnaryOp<"floor", "floor(x)">;
def Bathy_CeilOp : Bathy_MathUnaryOp<"ceil", "ceil(x)">;
def Bathy_RoundOp : Bathy_MathUnaryOp<"round",
    "x rounded to the nearest integer, halves to even">;
def Bathy_NotOp : Bathy_MathUnaryOp<"not", "logical not x", Bathy_BoolTensor>;

def Bathy_GeluOp : Bathy_UnaryOp<"gelu", Bathy_FloatTensor> {
  let summary = "Elementwise Gaussian error linear unit.";
  let description = [{
    `x * 0.5 * (1 + erf(x / sqrt(2)))`, or with `approximate = "tanh"`
    `x * 0.5 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))`.

    Example:
    ```mlir
    %y = bathy.gelu %x {approximate = "tanh"} : (tensor<4xf32>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Bathy_FloatTensor:$input,
                       DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let hasVerifier = 1;
}

def Bathy_LeakyReluOp : Bathy_UnaryOp<"leaky_relu", Bathy_FloatTensor> {
  let summary = "Elementwise x if x >= 0 else alpha * x.";
  let description = [{
    Example:
    ```mlir
    %y = bathy.leaky_relu %x {alpha = 0.1 : f32} : (tensor<4xf32>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Bathy_FloatTensor:$input,
                       DefaultValuedAttr<F32Attr, "0.01">:$alpha);
}

def Bathy_EluOp : Bathy_UnaryOp<"elu", Bathy_FloatTensor> {
  let summary = "Elementwise x if x >= 0 else alpha * (e^x - 1).";
  let description = [{
    Example:
    ```mlir
    %y = bathy.elu %x {alpha = 1.0 : f32} : (tensor<4xf32>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Bathy_FloatTensor:$input,
                       DefaultValuedAttr<F32Attr, "1.0">:$alpha);
}

def Bathy_HardSigmoidOp : Bathy_UnaryOp<"hard_sigmoid", Bathy_FloatTensor> {
  let summary = "Elementwise max(0, min(1, alpha * x + beta)).";
  let description = [{
    Example:
    ```mlir
    %y = bathy.hard_sigmoid %x {alpha = 0.2 : f32, beta = 0.5 : f32}
        : (tensor<4xf32>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Bathy_FloatTensor:$input,
                       DefaultValuedAttr<F32Attr, "0.2">:$alpha,
                       DefaultValuedAttr<F32Attr, "0.5">:$beta);
}

def Bathy_ClipOp : Bathy_UnaryOp<"clip"> {
  let summary = "Elementwise clamp to [min, max]; either bound may be absent.";
  let description = [{
    `min(max(x, min), max)`: with min > max every element becomes max, as
    ONNX runtimes compute it. NaN stays NaN.

    Example:
    ```mlir
    %y = bathy.clip %x {min = 0.0, max = 6.0} : (tensor<4xf32>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input, OptionalAttr<F64Attr>:$min,
                       OptionalAttr<F64Attr>:$max);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise family (2/3): binary and comparisons
//===----------------------------------------------------------------------===//

class Bathy_ArithBinaryOp<string mnemonic, string formula,
                          list<Trait> traits = [],
                          Type operandType = Bathy_Tensor>
    : Bathy_BinaryOp<mnemonic, operandType, traits> {
  let summary = "Elementwise " # formula # " with broadcasting.";
  let description = "Computes `" # formula # "` for each pair of elements " #
    "after NumPy broadcasting; both operands have one element type.\n\n" #
    "Example:\n```mlir\n%z = bathy." # mnemonic #
    " %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xf32>\n```";
}

def Bathy_AddOp : Bathy_ArithBinaryOp<"add", "lhs + rhs", [Commutative]> {
  let hasFolder = 1;
}
def Bathy_SubOp : Bathy_ArithBinaryOp<"sub", "lhs - rhs"> {
  let hasFolder = 1;
}
def Bathy_MulOp : Bathy_ArithBinaryOp<"mul", "lhs * rhs", [Commutative]> {
  let hasFolder = 1;
}
def Bathy_DivOp : Bathy_ArithBinaryOp<"div",
    "lhs / rhs (integers truncate toward zero)"> {
  let hasFolder = 1;
}
def Bathy_PowOp : Bathy_ArithBinaryOp<"pow", "lhs ^ rhs">;
def Bathy_MaxOp : Bathy_ArithBinaryOp<"max", "max(lhs, rhs)", [Commutative]> {
  let hasFolder = 1;
}
def Bathy_MinOp : Bathy_ArithBinaryOp<"min", "min(lhs, rhs)", [Commutative]> {
  let hasFolder = 1;
}
def Bathy_ModOp : Bathy_ArithBinaryOp<"mod",
    "lhs mod rhs (sign of rhs; with fmod the sign of lhs)"> {
  let arguments = (ins Bathy_Tensor:$lhs, Bathy_Tensor:$rhs,
                       DefaultValuedAttr<BoolAttr, "false">:$fmod);
  let hasFolder = 1;
}
def Bathy_PReluOp : Bathy_ArithBinaryOp<"prelu",
    "lhs if lhs >= 0 else rhs * lhs">;
def Bathy_AndOp : Bathy_ArithBinaryOp<"and", "lhs and rhs", [Commutative],
                                      Bathy_BoolTensor>;
def Bathy_OrOp : Bathy_ArithBinaryOp<"or", "lhs or rhs", [Commutative],
                                     Bathy_BoolTensor>;
def Bathy_XorOp : Bathy_ArithBinaryOp<"xor", "lhs xor rhs", [Commutative],
                                      Bathy_BoolTensor>;

class Bathy_CmpOp<string mnemonic, string formula, list<Trait> traits = []>
    : Bathy_CompareOp<mnemonic, traits> {
  let summary = "Elementwise comparison " # formula # " with broadcasting.";
  let description = "Compares each pair of elements after NumPy " #
    "broadcasting; both operands have one element type, the result is i1." #
    "\n\nExample:\n```mlir\n%m = bathy." # mnemonic #
    " %x, %y : (tensor<?x4xf32>, tensor<4xf32>) -> tensor<?x4xi1>\n```";
}

def Bathy_EqualOp : Bathy_CmpOp<"equal", "lhs == rhs", [Commutative]> {
  let hasFolder = 1;
}
def Bathy_LessOp : Bathy_CmpOp<"less", "lhs < rhs">;
def Bathy_LessEqualOp : Bathy_CmpOp<"less_equal", "lhs <= rhs">;
def Bathy_GreaterOp : Bathy_CmpOp<"greater", "lhs > rhs">;
def Bathy_GreaterEqualOp : Bathy_CmpOp<"greater_equal", "lhs >= rhs">;

//===----------------------------------------------------------------------===//
// Elementwise family (3/3): select and cast
//===----------------------------------------------------------------------===//

def Bathy_WhereOp : Bathy_Op<"where", [Bathy_ElementwiseTrait,
                                       Bathy_InferTypes]> {
  let summary = "Elementwise cond ? lhs : rhs with three-way broadcasting.";
  let description = [{
    Example:
    ```mlir
    %z = bathy.where %mask, %x, %y
        : (tensor<1x1x?x?xi1>, tensor<?x12x?x?xf32>, tensor<f32>)
        -> tensor<?x12x?x?xf32>
    ```
  }];
  let arguments = (ins Bathy_BoolTensor:$condition, Bathy_Tensor:$lhs,
                       Bathy_Tensor:$rhs);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = [{
    $condition `,` $lhs `,` $rhs attr-dict `:` functional-type(operands, results)
  }];
  let hasFolder = 1;
}

def Bathy_CastOp : Bathy_Op<"cast", [Bathy_ElementwiseTrait,
                                     SameOperandsAndResultShape]> {
  let summary = "Elementwise conversion to the result's element type.";
  let description = [{
    Float to integer truncates toward zero; to i1 is `x != 0`; from i1 gives 0
    or 1. The result's shape is the input's.

    Example:
    ```mlir
    %y = bathy.cast %x : (tensor<?x4xi64>) -> tensor<?x4xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Contraction family: matmul and convolution
//===----------------------------------------------------------------------===//

def Bathy_MatmulOp : Bathy_Op<"matmul", [Bathy_ContractionTrait, Bathy_InferTypes]> {
  let summary = "Batched matrix product with NumPy semantics.";
  let description = [{
    Multiplies the last two dims of `lhs` ([..., M, K]) and `rhs`
    ([..., K, N]); leading batch dims broadcast. A 1-D `lhs` is a row vector
    and a 1-D `rhs` a column vector, and the added dim is removed from the
    result, as in `numpy.matmul` and ONNX `MatMul`.

    Example:
    ```mlir
    %y = bathy.matmul %x, %w
        : (tensor<?x128x768xf32>, tensor<768x3072xf32>) -> tensor<?x128x3072xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$lhs, Bathy_Tensor:$rhs);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Bathy_ConvOp : Bathy_Op<"conv", [Bathy_ConvolutionTrait, Bathy_InferTypes]> {
  let summary = "N-d convolution (cross-correlation) with groups and bias.";
  let description = [{
    `input` is [N, C, D1, ..., Dk], `weight` [M, C / group, K1, ..., Kk] and
    the optional `bias` [M]. `strides` and `dilations` have k entries (default
    1); `pads` has 2k entries, all begins then all ends (default 0). Each
    output spatial dim is
    `(D + pad_begin + pad_end - dilation * (K - 1) - 1) / stride + 1`.

    Example:
    ```mlir
    %y = bathy.conv %x, %w, %b {strides = array<i64: 2, 2>,
                                pads = array<i64: 3, 3, 3, 3>}
        : (tensor<?x3x224x224xf32>, tensor<64x3x7x7xf32>, tensor<64xf32>)
        -> tensor<?x64x112x112xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input, Bathy_Tensor:$weight,
                       Optional<Bathy_Tensor>:$bias,
                       OptionalAttr<DenseI64ArrayAttr>:$strides,
                       OptionalAttr<DenseI64ArrayAttr>:$pads,
                       OptionalAttr<DenseI64ArrayAttr>:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Pooling family
//===----------------------------------------------------------------------===//

def Bathy_MaxPoolOp : Bathy_PoolOp<"max_pool"> {
  let summary = "Max pooling over the spatial dims.";
  let description = [{
    `kernel_shape` has one entry per spatial dim; `strides`, `dilations`
    (default 1) and `pads` (begins then ends, default 0) as for `bathy.conv`.
    With `ceil_mode` the output size rounds up.

    Example:
    ```mlir
    %y = bathy.max_pool %x {kernel_shape = array<i64: 3, 3>,
                            strides = array<i64: 2, 2>,
                            pads = array<i64: 1, 1, 1, 1>}
        : (tensor<1x64x112x112xf32>) -> tensor<1x64x56x56xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input, DenseI64ArrayAttr:$kernel_shape,
                       OptionalAttr<DenseI64ArrayAttr>:$strides,
                       OptionalAttr<DenseI64ArrayAttr>:$pads,
                       OptionalAttr<DenseI64ArrayAttr>:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
}

def Bathy_AvgPoolOp : Bathy_PoolOp<"avg_pool"> {
  let summary = "Average pooling over the spatial dims.";
  let description = [{
    Attributes as for `bathy.max_pool`; with `count_include_pad` the padding
    counts in the divisor.

    Example:
    ```mlir
    %y = bathy.avg_pool %x {kernel_shape = array<i64: 2, 2>,
                            strides = array<i64: 2, 2>}
        : (tensor<1x64x56x56xf32>) -> tensor<1x64x28x28xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input, DenseI64ArrayAttr:$kernel_shape,
                       OptionalAttr<DenseI64ArrayAttr>:$strides,
                       OptionalAttr<DenseI64ArrayAttr>:$pads,
                       OptionalAttr<DenseI64ArrayAttr>:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode,
                       DefaultValuedAttr<BoolAttr, "false">:$count_include_pad);
}

def Bathy_GlobalAvgPoolOp : Bathy_PoolOp<"global_avg_pool"> {
  let summary = "Mean over all spatial dims, which become size 1.";
  let description = [{
    Example:
    ```mlir
    %y = bathy.global_avg_pool %x : (tensor<?x2048x7x7xf32>) -> tensor<?x2048x1x1xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input);
}

def Bathy_GlobalMaxPoolOp : Bathy_PoolOp<"global_max_pool"> {
  let summary = "Maximum over all spatial dims, which become size 1.";
  let description = [{
    Example:
    ```mlir
    %y = bathy.global_max_pool %x : (tensor<?x512x7x7xf32>) -> tensor<?x512x1x1xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input);
}

//===----------------------------------------------------------------------===//
// Reduction family: reductions, softmax and normalization
//===----------------------------------------------------------------------===//

class Bathy_SimpleReductionOp<string mnemonic, string what>
    : Bathy_ReductionOp<mnemonic, [Bathy_ReductionTrait]> {
  let summary = "The " # what # " over the given axes.";
  let description = "Reduces `axes` (sorted, unique, in [0, rank); empty " #
    "reduces every axis) to their " # what # "; with `keepdims` the reduced " #
    "axes stay as size 1.\n\nExample:\n```mlir\n%y = bathy." # mnemonic #
    " %x {axes = array<i64: 2>, keepdims = true}\n    : " #
    "(tensor<?x128x768xf32>) -> tensor<?x128x1xf32>\n```";
}

def Bathy_ReduceSumOp : Bathy_SimpleReductionOp<"reduce_sum", "sum">;
def Bathy_ReduceMeanOp : Bathy_SimpleReductionOp<"reduce_mean", "mean">;
def Bathy_ReduceMaxOp : Bathy_SimpleReductionOp<"reduce_max", "maximum">;
def Bathy_ReduceMinOp : Bathy_SimpleReductionOp<"reduce_min", "minimum">;
def Bathy_ReduceProdOp : Bathy_SimpleReductionOp<"reduce_prod", "product">;

class Bathy_ArgReductionOp<string mnemonic, string what>
    : Bathy_Op<mnemonic, [Bathy_InferTypes]> {
  let summary = "Index (i64) of the " # what # " along one axis.";
  let description = "With `select_last_index` ties pick the last index; " #
    "with `keepdims` the axis stays as size 1.\n\nExample:\n```mlir\n" #
    "%i = bathy." # mnemonic # " %x {axis = 1 : i64, keepdims = false}\n" #
    "    : (tensor<?x1000xf32>) -> tensor<?xi64>\n```";
  let arguments = (ins Bathy_Tensor:$input, I64Attr:$axis,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims,
                       DefaultValuedAttr<BoolAttr, "false">:$select_last_index);
  let results = (outs Bathy_I64Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Bathy_ArgMaxOp : Bathy_ArgReductionOp<"argmax", "maximum">;
def Bathy_ArgMinOp : Bathy_ArgReductionOp<"argmin", "minimum">;

class Bathy_SoftmaxLikeOp<string mnemonic, string what>
    : Bathy_Op<mnemonic, [Bathy_ReductionTrait, Bathy_ShapeOfFirstOperandTrait,
                          Bathy_InferTypes]> {
  let summary = "The " # what # " along one axis.";
  let description = "Example:\n```mlir\n%p = bathy." # mnemonic #
    " %x {axis = 3 : i64}\n    : (tensor<?x12x?x?xf32>) -> " #
    "tensor<?x12x?x?xf32>\n```";
  let arguments = (ins Bathy_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Bathy_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *, std::optional<::mlir::Location> location,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &inferred) {
      return ::bathy::infer::inferAlongAxis(
          location, getOperationName(), adaptor.getInput().getType(),
          static_cast<int64_t>(adaptor.getAxis()), inferred);
    }
  }];
}

def Bathy_SoftmaxOp : Bathy_SoftmaxLikeOp<"softmax", "softmax">;
def Bathy_LogSoftmaxOp : Bathy_SoftmaxLikeOp<"log_softmax", "log of the softmax">;
def Bathy_HardmaxOp : Bathy_SoftmaxLikeOp<"hardmax",
    "one-hot of the first maximum (1 there, 0 elsewhere)">;

def Bathy_LayerNormOp : Bathy_Op<"layer_norm", [Bathy_ReductionTrait, Bathy_ShapeOfFirstOperandTrait, Bathy_InferTypes]> {
  let summary = "Layer normalization over the dims from `axis` on.";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) * scale + bias`, with mean and variance
    taken over dims `[axis, rank)`. `scale` and `bias` broadcast against those
    dims.

    Example:
    ```mlir
    %y = bathy.layer_norm %x, %gamma, %beta {axis = 2 : i64, epsilon = 1.0e-12 : f32}
        : (tensor<?x?x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Bathy_FloatTensor:$input, Bathy_FloatTensor:$scale,
                       Optional<Bathy_FloatTensor>:$bias, I64Attr:$axis,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Bathy_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Bathy_RmsNormOp : Bathy_Op<"rms_norm", [Bathy_ReductionTrait, Bathy_ShapeOfFirstOperandTrait, Bathy_InferTypes]> {
  let summary = "Root-mean-square normalization over the dims from `axis` on.";
  let description = [{
    `x / sqrt(mean(x^2) + epsilon) * scale`, with the mean over dims
    `[axis, rank)`.

    Example:
    ```mlir
    %y = bathy.rms_norm %x, %w {axis = 2 : i64, epsilon = 1.0e-6 : f32}
        : (tensor<?x?x2048xf32>, tensor<2048xf32>) -> tensor<?x?x2048xf32>
    ```
  }];
  let arguments = (ins Bathy_FloatTensor:$input, Bathy_FloatTensor:$scale,
                       I64Attr:$axis,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Bathy_FloatTensor:$result);
  let assemblyFormat =
      "$input `,` $scale attr-dict `:` functional-type(operands, results)";
}

def Bathy_BatchNormOp : Bathy_Op<"batch_norm", [Bathy_ShapeOfFirstOperandTrait, Bathy_InferTypes]> {
  let summary = "Inference-mode batch normalization over dim 1.";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) * scale + bias`, where the four
    parameters are 1-D over the channel dim (dim 1) of an input of rank >= 2.

    Example:
    ```mlir
    %y = bathy.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-5 : f32}
        : (tensor<?x64x56x56xf32>, tensor<64xf32>, tensor<64xf32>,
           tensor<64xf32>, tensor<64xf32>) -> tensor<?x64x56x56xf32>
    ```
  }];
  let arguments = (ins Bathy_FloatTensor:$input, Bathy_FloatTensor:$scale,
                       Bathy_FloatTensor:$bias, Bathy_FloatTensor:$mean,
                       Bathy_FloatTensor:$variance,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Bathy_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale `,` $bias `,` $mean `,` $variance attr-dict `:`
    functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Attention family
//===----------------------------------------------------------------------===//

def Bathy_AttentionOp : Bathy_Op<"attention", [Bathy_InferTypes]> {
  let summary = "Scaled dot-product attention as one op.";
  let description = [{
    `softmax(cap(q · kᵀ · scale) + mask) · v` over the last two dims, where
    `cap(s) = softcap · tanh(s / softcap)` when `softcap > 0` (else `s`).

    `q` is [..., Hq, Sq, D], `k` [..., Hkv, Sk, D] and `v` [..., Hkv, Sk, Dv],
    all of the same rank >= 3; their leading dims (and those of the mask)
    broadcast NumPy style, as the two matmuls attention is made of would.
    `Hq` must be a multiple of `Hkv` (grouped-query attention: query head
    `h` reads key/value head `h / (Hq / Hkv)`). The optional additive `mask`
    is aligned right; its head, query and key dims must be 1 or the size of
    the scores' ([Hq, Sq, Sk]).
    `causal = "upper_left"` masks key `j` for query `i` when `j > i`;
    `"lower_right"` when `j > i + Sk - Sq` (a query block at the end of the
    keys, as with a key/value cache). With `masked_score = c`, a score whose
    mask entry is -inf becomes `c` instead (the masked_fill form
    `where(keep, s, c)`: a row with every key masked then weighs all keys
    equally, as it does in the model). The result is [..., Hq, Sq, Dv].

    Formed by `bathy-fusion-attention` from the matmul/softmax chain exported
    models spell out, and by the importer from ONNX `Attention`. Its location
    lists every ONNX node it replaces.

    Example:
    ```mlir
    %o = bathy.attention %q, %k, %v, %mask {scale = 0.125 : f32}
        : (tensor<1x12x128x64xf32>, tensor<1x12x128x64xf32>,
           tensor<1x12x128x64xf32>, tensor<1x1x128x128xf32>)
        -> tensor<1x12x128x64xf32>
    ```
  }];
  let arguments = (ins Bathy_FloatTensor:$q, Bathy_FloatTensor:$k,
                       Bathy_FloatTensor:$v, Optional<Bathy_FloatTensor>:$mask,
                       F32Attr:$scale,
                       DefaultValuedAttr<F32Attr, "0.0">:$softcap,
                       DefaultValuedStrAttr<StrAttr, "none">:$causal,
                       OptionalAttr<F32Attr>:$masked_score);
  let results = (outs Bathy_FloatTensor:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`,` $mask^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}


//===----------------------------------------------------------------------===//
// Data movement family (2/2)
//===----------------------------------------------------------------------===//

def Bathy_TransposeOp : Bathy_Op<"transpose", [Bathy_ReindexingTrait, Bathy_InferTypes]> {
  let summary = "Permutes dims: result dim i is input dim perm[i].";
  let description = [{
    Example:
    ```mlir
    %y = bathy.transpose %x {perm = array<i64: 0, 2, 1, 3>}
        : (tensor<?x?x12x64xf32>) -> tensor<?x12x?x64xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Bathy_ReshapeOp : Bathy_Op<"reshape", [Bathy_ReindexingTrait]> {
  let summary = "Reinterprets a tensor with the result type's shape.";
  let description = [{
    The element count is unchanged. The result may have at most one dynamic
    dim, which is the input's element count divided by the product of the
    others; a reshape whose target shape is only known at run time is
    `bathy.dynamic_reshape`.

    Example:
    ```mlir
    %y = bathy.reshape %x : (tensor<?x768xf32>) -> tensor<?x12x64xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Bathy_DynamicReshapeOp : Bathy_Op<"dynamic_reshape", [Bathy_ReindexingTrait, Bathy_InferTypes]> {
  let summary = "Reshape to a shape given as a 1-D i64 tensor (ONNX Reshape).";
  let description = [{
    A `0` in `shape` copies the input's dim at that position (unless
    `allowzero`), and one `-1` takes whatever size keeps the element count.
    Becomes `bathy.reshape` once the target shape is known well enough.

    Example:
    ```mlir
    %y = bathy.dynamic_reshape %x, %s
        : (tensor<?x?x768xf32>, tensor<4xi64>) -> tensor<?x?x12x64xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input, Bathy_ShapeTensor:$shape,
                       DefaultValuedAttr<BoolAttr, "false">:$allowzero);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat =
      "$input `,` $shape attr-dict `:` functional-type(operands, results)";
  let hasCanonicalizer = 1;
}

def Bathy_ExpandOp : Bathy_Op<"expand", [Bathy_InferTypes]> {
  let summary = "Broadcasts a tensor against a shape (ONNX Expand).";
  let description = [{
    The result's shape is the NumPy broadcast of the input's shape and the
    1-D i64 `shape` operand.

    Example:
    ```mlir
    %y = bathy.expand %x, %s : (tensor<1x1x?x64xf32>, tensor<4xi64>) -> tensor<?x8x?x64xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input, Bathy_ShapeTensor:$shape);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat =
      "$input `,` $shape attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Bathy_SqueezeOp : Bathy_Op<"squeeze", [Bathy_ReindexingTrait, Bathy_InferTypes]> {
  let summary = "Removes the given size-1 dims.";
  let description = [{
    `axes` are sorted, unique and in [0, rank); each must have size 1.

    Example:
    ```mlir
    %y = bathy.squeeze %x {axes = array<i64: 0, 2>} : (tensor<1x?x1xf32>) -> tensor<?xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Bathy_UnsqueezeOp : Bathy_Op<"unsqueeze", [Bathy_ReindexingTrait, Bathy_InferTypes]> {
  let summary = "Inserts size-1 dims at the given result positions.";
  let description = [{
    `axes` are sorted, unique and in [0, rank + number of axes).

    Example:
    ```mlir
    %y = bathy.unsqueeze %x {axes = array<i64: 1, 2>} : (tensor<?x?xi64>) -> tensor<?x1x1x?xi64>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Bathy_ConcatOp : Bathy_Op<"concat", [Bathy_InferTypes]> {
  let summary = "Joins tensors along one axis.";
  let description = [{
    All inputs have one rank and element type and agree on every dim but
    `axis`.

    Example:
    ```mlir
    %y = bathy.concat %a, %b {axis = 1 : i64}
        : (tensor<?x3xf32>, tensor<?x5xf32>) -> tensor<?x8xf32>
    ```
  }];
  let arguments = (ins Variadic<Bathy_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Bathy_SplitOp : Bathy_Op<"split", [Bathy_InferTypes]> {
  let summary = "Splits a tensor along one axis into pieces of given sizes.";
  let description = [{
    There is one result per entry of `sizes`; the sizes add up to the input's
    dim along `axis`.

    Example:
    ```mlir
    %q, %k, %v = bathy.split %x {axis = 2 : i64, sizes = array<i64: 768, 768, 768>}
        : (tensor<?x?x2304xf32>)
        -> (tensor<?x?x768xf32>, tensor<?x?x768xf32>, tensor<?x?x768xf32>)
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input, I64Attr:$axis,
                       DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Bathy_Tensor>:$results);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Bathy_SliceOp : Bathy_Op<"slice", [Bathy_InferTypes]> {
  let summary = "Strided slice with ONNX Slice semantics and static bounds.";
  let description = [{
    For each listed axis, takes `starts[i]` up to (not including) `ends[i]`
    with step `steps[i]` (non-zero; negative walks backwards). Negative starts
    and ends count from the end and out-of-range values clamp, as in ONNX.

    Example:
    ```mlir
    %y = bathy.slice %x {axes = array<i64: 1>, starts = array<i64: 0>,
                         ends = array<i64: 1>, steps = array<i64: 1>}
        : (tensor<?x128x768xf32>) -> tensor<?x1x768xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input, DenseI64ArrayAttr:$axes,
                       DenseI64ArrayAttr:$starts, DenseI64ArrayAttr:$ends,
                       DenseI64ArrayAttr:$steps);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Bathy_DynamicSliceOp : Bathy_Op<"dynamic_slice", [Bathy_InferTypes]> {
  let summary = "Strided slice whose starts and ends are known at run time.";
  let description = [{
    ONNX Slice where `starts` and `ends` are 1-D integer tensors (one entry per
    axis in `axes`) computed by the graph, typically from the shapes of
    dynamic inputs. Semantics as `bathy.slice`; sliced dims are dynamic
    unless the bounds fold to constants, when it becomes `bathy.slice`.

    Example:
    ```mlir
    %y = bathy.dynamic_slice %mask, %starts, %ends {axes = array<i64: 2, 3>,
                                                    steps = array<i64: 1, 1>}
        : (tensor<1x1x1024x1024xi1>, tensor<2xi64>, tensor<2xi64>)
        -> tensor<1x1x?x?xi1>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input, 1DTensorOf<[I32, I64]>:$starts,
                       1DTensorOf<[I32, I64]>:$ends, DenseI64ArrayAttr:$axes,
                       DenseI64ArrayAttr:$steps);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $starts `,` $ends attr-dict `:` functional-type(operands, results)
  }];
  let hasCanonicalizer = 1;
}

def Bathy_GatherOp : Bathy_Op<"gather", [Bathy_InferTypes]> {
  let summary = "Takes slices along one axis at the given indices.";
  let description = [{
    The result's shape is `data[:axis] + indices + data[axis + 1:]`; negative
    indices count from the end (ONNX `Gather`).

    Example:
    ```mlir
    %e = bathy.gather %table, %ids {axis = 0 : i64}
        : (tensor<30522x768xf32>, tensor<?x?xi64>) -> tensor<?x?x768xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$data, Bathy_IndexTensor:$indices,
                       I64Attr:$axis);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat =
      "$data `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Bathy_GatherElementsOp : Bathy_Op<"gather_elements", [Bathy_InferTypes]> {
  let summary = "Picks one element per index along one axis.";
  let description = [{
    `indices` has the rank of `data` and the result has the shape of
    `indices`: `result[i..., j, k...] = data[i..., indices[i..., j, k...],
    k...]` with `j` at `axis`; off that axis, each indices dim may not exceed
    the data dim. Negative indices count from the end (ONNX
    `GatherElements`).

    Example:
    ```mlir
    %y = bathy.gather_elements %x, %i {axis = 1 : i64}
        : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$data, Bathy_IndexTensor:$indices,
                       I64Attr:$axis);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat =
      "$data `,` $indices attr-dict `:` functional-type(operands, results)";
}

def Bathy_PadOp : Bathy_Op<"pad", [Bathy_InferTypes]> {
  let summary = "Pads (or, with negative amounts, crops) each dim.";
  let description = [{
    `pads` has 2 * rank entries: all begins, then all ends. `mode` is
    `constant` (filled with `value`), `reflect`, `edge` or `wrap`.

    Example:
    ```mlir
    %y = bathy.pad %x {pads = array<i64: 0, 0, 1, 1, 0, 0, 1, 1>}
        : (tensor<1x3x4x4xf32>) -> tensor<1x3x6x6xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input, DenseI64ArrayAttr:$pads,
                       DefaultValuedStrAttr<StrAttr, "constant">:$mode,
                       DefaultValuedAttr<F64Attr, "0.0">:$value);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Bathy_TriluOp : Bathy_Op<"trilu", [Bathy_ShapeOfFirstOperandTrait, Bathy_InferTypes]> {
  let summary = "Keeps the upper or lower triangle of the last two dims.";
  let description = [{
    With `upper`, keeps elements with `col - row >= k` and zeroes the rest;
    otherwise keeps `col - row <= k`.

    Example:
    ```mlir
    %y = bathy.trilu %x {upper = false, k = 0 : i64} : (tensor<?x?xf32>) -> tensor<?x?xf32>
    ```
  }];
  let arguments = (ins Bathy_Tensor:$input,
                       DefaultValuedAttr<BoolAttr, "true">:$upper,
                       DefaultValuedAttr<I64Attr, "0">:$k);
  let results = (outs Bathy_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

def Bathy_LaunchOp : Bathy_Op<"launch", [
    DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Runs a kernel function on tensors and returns its results.";
  let description = [{
    The host function calls each kernel through `bathy.launch`; a kernel is a
    `func.func` marked `bathy.kernel` that holds the ops it implements. The
    kernel boundary exists from import on: before fusion every op is its own
    kernel, fusion only changes the grouping.

    Example:
    ```mlir
    %y = bathy.launch @relu_0(%x) : (tensor<?x64xf32>) -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$kernel, Variadic<AnyType>:$args);
  let results = (outs Variadic<AnyType>:$results);
  let assemblyFormat = [{
    $kernel `(` $args `)` attr-dict `:` functional-type($args, results)
  }];
}

//===----------------------------------------------------------------------===//
// Fusion groups
//===----------------------------------------------------------------------===//

def Bathy_FusionGroupOp : Op<Bathy_Dialect, "fusion_group", [
    RecursiveMemoryEffects, SingleBlock]> {
  let summary = "Ops that will become one kernel.";
  let description = [{
    A non-isolated region: its ops read values defined above it directly.
    `bathy-fusion-form-groups` wraps ops that should share a kernel;
    `bathy-kernel-outline` then turns each group into one kernel function.
    `kind` says what the group is (`elementwise`, `gemm`, `conv`,
    `reduction`, `data_movement`, ...). `rejected` lists, for inputs that
    come from another group, why the producer was not fused in
    (`"<node> (<op type>): <reason>"`), for the fusion report.

    Example:
    ```mlir
    %r = bathy.fusion_group "conv" attributes {rejected = [...]}
        -> tensor<1x64x56x56xf32> {
      %c = bathy.conv %x, %w, %b : ...
      %y = bathy.relu %c : ...
      bathy.yield %y : tensor<1x64x56x56xf32>
    }
    ```
  }];
  let arguments = (ins StrAttr:$kind, OptionalAttr<StrArrayAttr>:$rejected);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $kind attr-dict-with-keyword (`->` type($results)^)? $body
  }];
  let hasVerifier = 1;
}

def Bathy_YieldOp : Bathy_Op<"yield", [Terminator, ReturnLike,
    HasParent<"FusionGroupOp">]> {
  let summary = "The results of a fusion group.";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = [{ ($values^ `:` type($values))? attr-dict }];
}

//===----------------------------------------------------------------------===//
// Run-time checks
//===----------------------------------------------------------------------===//

def Bathy_CheckOp : Op<Bathy_Dialect, "check", [
    MemoryEffects<[MemWrite]>]> {
  let summary = "Stops the run with an error unless a condition holds.";
  let description = [{
    What the compiler needs but cannot prove about run-time sizes and values
    (operand sizes that must agree, indices that must be in range, sizes that
    must not overflow) is checked in the kernel with `bathy.check`. When
    `condition` is false the run stops, before anything depends on the
    requirement, with `message` as its error; `{0}`, `{1}` and `{2}` in the
    message stand for the `values` (integers, printed in decimal). Lowering
    to bathy's kernel IR writes these checks; each target implements them
    (on the CPU: a call of the runtime's `bathy_rt_fail`, which ends the run
    and reports the message).

    The op writes to memory as far as other passes know, so nothing moves a
    read it guards above it and it is never removed as dead.

    Example:
    ```mlir
    bathy.check %same, "node 'mm' (MatMul): inner dims differ: {0} vs {1}"
        (%k0, %k1 : index, index)
    ```
  }];
  let arguments = (ins I1:$condition, StrAttr:$message,
                       Variadic<AnySignlessIntegerOrIndex>:$values);
  let assemblyFormat = [{
    $condition `,` $message (`(` $values^ `:` type($values) `)`)? attr-dict
  }];
  let hasVerifier = 1;
}

#endif // BATHY_DIALECT_BATHY_BATHYOPS_TD
