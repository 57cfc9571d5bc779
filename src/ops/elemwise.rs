//! Elementwise ops: a scalar op applied over broadcast tensors (Theano's
//! `Elemwise{add,no_inplace}`), with Theano's output-dtype rules. The
//! kernels are in `elemwise_exec` (blocks, threads) and `elemwise_kernels`
//! (typed loops).

use crate::dtype::{self, DType};
use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::ops::elemwise_exec;
use crate::types::{Broadcastable, TensorType, Type};

/// The scalar operation an `Elemwise` applies.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub enum ScalarOp {
    Add,
    Sub,
    Mul,
    TrueDiv,
    IntDiv,
    Mod,
    Pow,
    Maximum,
    Minimum,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Xor,
    Neg,
    Abs,
    Sqr,
    Sqrt,
    Exp,
    Log,
    Sin,
    Cos,
    Tanh,
    Sigmoid,
    Invert,
    /// `switch(cond, a, b)`.
    Switch,
    Cast(DType),
    Exp2,
    Log2,
    Log10,
    Log1p,
    Expm1,
    Sgn,
    Floor,
    Ceil,
    Trunc,
    RoundHalfToEven,
    RoundHalfAwayFromZero,
    Tan,
    ArcSin,
    ArcCos,
    ArcTan,
    ArcTan2,
    Sinh,
    Cosh,
    ArcSinh,
    ArcCosh,
    ArcTanh,
    Erf,
    Erfc,
    Erfinv,
    Gamma,
    GammaLn,
    /// The digamma function `psi(x) = d/dx log(gamma(x))`.
    Psi,
    /// The trigamma function `tri_gamma(x) = d/dx psi(x)`.
    TriGamma,
    /// The tetragamma function `tetra_gamma(x) = d/dx tri_gamma(x)`, SciPy's
    /// `polygamma(2, x)`.
    TetraGamma,
    /// `clip(x, lo, hi)`: `lo` where `x < lo`, else `hi` where `x > hi`, else `x`.
    Clip,
    IsNan,
    IsInf,
    /// `1 / x`.
    Inv,
    Deg2Rad,
    Rad2Deg,
    /// `log(1 + exp(x))`, computed without overflow.
    Softplus,
    /// `second(a, b)` (`T.fill`): `b` broadcast to the shape of `a`, in `b`'s
    /// dtype. Gradient: none for `a` (only its shape matters), and for `b`
    /// the output gradient summed over the axes `b` was broadcast along.
    Second,
}

/// The shape of a scalar op's kernel: what it reads and writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// A float function of one float (exp, sin...).
    FloatUnary,
    /// `T -> T` for any real dtype (neg, abs, sqr, sgn, invert).
    Unary,
    /// `T -> bool` (isnan, isinf).
    Predicate,
    /// `(T, T) -> T` (arithmetic, bitwise, maximum...).
    Binary,
    /// `(F, F) -> F` for floats (arctan2).
    FloatBinary,
    /// `(T, T) -> bool`.
    Compare,
    /// `(bool, T, T) -> T`.
    Switch,
    /// `(T, T, T) -> T`.
    Clip,
    /// `A -> B`.
    Cast(DType),
}

/// Every scalar op but the casts, for parsing names.
const ALL: [ScalarOp; 67] = {
    use ScalarOp::*;
    [
        Add,
        Sub,
        Mul,
        TrueDiv,
        IntDiv,
        Mod,
        Pow,
        Maximum,
        Minimum,
        Eq,
        Neq,
        Lt,
        Le,
        Gt,
        Ge,
        And,
        Or,
        Xor,
        Neg,
        Abs,
        Sqr,
        Sqrt,
        Exp,
        Log,
        Sin,
        Cos,
        Tanh,
        Sigmoid,
        Invert,
        Switch,
        Exp2,
        Log2,
        Log10,
        Log1p,
        Expm1,
        Sgn,
        Floor,
        Ceil,
        Trunc,
        RoundHalfToEven,
        RoundHalfAwayFromZero,
        Tan,
        ArcSin,
        ArcCos,
        ArcTan,
        ArcTan2,
        Sinh,
        Cosh,
        ArcSinh,
        ArcCosh,
        ArcTanh,
        Erf,
        Erfc,
        Erfinv,
        Gamma,
        GammaLn,
        Psi,
        TriGamma,
        TetraGamma,
        Clip,
        IsNan,
        IsInf,
        Inv,
        Deg2Rad,
        Rad2Deg,
        Softplus,
        Second,
    ]
};

impl ScalarOp {
    /// Theano's name of the tensor function (`Elemwise{<name>,no_inplace}`).
    pub fn name(self) -> String {
        use ScalarOp::*;
        let s = match self {
            Cast(d) => return format!("Cast{{{d}}}"),
            Add => "add",
            Sub => "sub",
            Mul => "mul",
            TrueDiv => "true_div",
            IntDiv => "int_div",
            Mod => "mod",
            Pow => "pow",
            Maximum => "maximum",
            Minimum => "minimum",
            Eq => "eq",
            Neq => "neq",
            Lt => "lt",
            Le => "le",
            Gt => "gt",
            Ge => "ge",
            And => "and_",
            Or => "or_",
            Xor => "xor",
            Neg => "neg",
            Abs => "abs_",
            Sqr => "sqr",
            Sqrt => "sqrt",
            Exp => "exp",
            Log => "log",
            Sin => "sin",
            Cos => "cos",
            Tanh => "tanh",
            Sigmoid => "sigmoid",
            Invert => "invert",
            Switch => "switch",
            Exp2 => "exp2",
            Log2 => "log2",
            Log10 => "log10",
            Log1p => "log1p",
            Expm1 => "expm1",
            Sgn => "sgn",
            Floor => "floor",
            Ceil => "ceil",
            Trunc => "trunc",
            RoundHalfToEven => "round_half_to_even",
            RoundHalfAwayFromZero => "round_half_away_from_zero",
            Tan => "tan",
            ArcSin => "arcsin",
            ArcCos => "arccos",
            ArcTan => "arctan",
            ArcTan2 => "arctan2",
            Sinh => "sinh",
            Cosh => "cosh",
            ArcSinh => "arcsinh",
            ArcCosh => "arccosh",
            ArcTanh => "arctanh",
            Erf => "erf",
            Erfc => "erfc",
            Erfinv => "erfinv",
            Gamma => "gamma",
            GammaLn => "gammaln",
            Psi => "psi",
            TriGamma => "tri_gamma",
            TetraGamma => "tetra_gamma",
            Clip => "clip",
            IsNan => "isnan",
            IsInf => "isinf",
            Inv => "inv",
            Deg2Rad => "deg2rad",
            Rad2Deg => "rad2deg",
            Softplus => "softplus",
            Second => "second",
        };
        s.into()
    }

    /// `str()` of Theano's scalar op, as it appears inside `Composite{...}`
    /// (unnamed scalar ops print as their class name: `LT`, `Switch`, `Abs`).
    pub fn scalar_name(self) -> String {
        use ScalarOp::*;
        let s = match self {
            Eq => "EQ",
            Neq => "NEQ",
            Lt => "LT",
            Le => "LE",
            Gt => "GT",
            Ge => "GE",
            And => "AND",
            Or => "OR",
            Xor => "XOR",
            Invert => "Invert",
            Abs => "Abs",
            Switch => "Switch",
            IsNan => "IsNan",
            IsInf => "IsInf",
            RoundHalfToEven => "RoundHalfToEven",
            RoundHalfAwayFromZero => "RoundHalfAwayFromZero",
            Sigmoid => "scalar_sigmoid",
            Softplus => "scalar_softplus",
            _ => return self.name(),
        };
        s.into()
    }

    /// The infix operator Theano's pretty printer uses, if any.
    pub fn infix(self) -> Option<&'static str> {
        use ScalarOp::*;
        Some(match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            TrueDiv => "/",
            IntDiv => "//",
            Mod => "%",
            Pow => "**",
            Neg => "-",
            _ => return None,
        })
    }

    /// Parses Theano's name (as the Python layer spells it).
    pub fn parse(name: &str) -> Result<ScalarOp> {
        ALL.iter()
            .copied()
            .find(|op| op.name() == name)
            .ok_or_else(|| Error::Value(format!("unknown elementwise op {name:?}")))
    }

    #[inline]
    pub fn kind(self) -> Kind {
        use ScalarOp::*;
        match self {
            Cast(d) => Kind::Cast(d),
            Neg | Abs | Sqr | Sgn | Invert => Kind::Unary,
            IsNan | IsInf => Kind::Predicate,
            Add | Sub | Mul | TrueDiv | IntDiv | Mod | Pow | Maximum | Minimum | And | Or | Xor
            | Second => Kind::Binary,
            ArcTan2 => Kind::FloatBinary,
            Eq | Neq | Lt | Le | Gt | Ge => Kind::Compare,
            Switch => Kind::Switch,
            Clip => Kind::Clip,
            Sqrt
            | Exp
            | Log
            | Sin
            | Cos
            | Tanh
            | Sigmoid
            | Exp2
            | Log2
            | Log10
            | Log1p
            | Expm1
            | Floor
            | Ceil
            | Trunc
            | RoundHalfToEven
            | RoundHalfAwayFromZero
            | Tan
            | ArcSin
            | ArcCos
            | ArcTan
            | Sinh
            | Cosh
            | ArcSinh
            | ArcCosh
            | ArcTanh
            | Erf
            | Erfc
            | Erfinv
            | Gamma
            | GammaLn
            | Psi
            | TriGamma
            | TetraGamma
            | Inv
            | Deg2Rad
            | Rad2Deg
            | Softplus => Kind::FloatUnary,
        }
    }

    pub fn arity(self) -> usize {
        match self.kind() {
            Kind::FloatUnary | Kind::Unary | Kind::Predicate | Kind::Cast(_) => 1,
            Kind::Switch | Kind::Clip => 3,
            Kind::Binary | Kind::FloatBinary | Kind::Compare => 2,
        }
    }

    pub fn is_commutative(self) -> bool {
        use ScalarOp::*;
        matches!(
            self,
            Add | Mul | Maximum | Minimum | Eq | Neq | And | Or | Xor
        )
    }

    fn is_comparison(self) -> bool {
        self.kind() == Kind::Compare
    }

    /// The output dtype for these input dtypes (Theano's `output_types_preference`).
    pub fn output_dtype(self, inputs: &[DType]) -> Result<DType> {
        use ScalarOp::*;
        let type_err = |what: &str| {
            Err(Error::Type(format!(
                "{} {what}, got input dtypes ({})",
                self.name(),
                inputs
                    .iter()
                    .map(|d| d.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        };
        let first = inputs.first().copied().unwrap_or(DType::Float64);
        Ok(match self {
            Cast(d) => d,
            _ if self.is_comparison() => DType::Bool,
            IsNan | IsInf => DType::Bool,
            RoundHalfToEven | RoundHalfAwayFromZero => {
                if !first.is_float() {
                    return type_err("only works on float types");
                }
                first
            }
            Floor | Ceil | Trunc if first.is_complex() => {
                return type_err("is not defined for complex numbers");
            }
            ArcTan2 => dtype::upcast(
                &inputs
                    .iter()
                    .map(|d| d.upgrade_to_float())
                    .collect::<Vec<_>>(),
            ),
            _ if self.kind() == Kind::FloatUnary => first.upgrade_to_float(),
            TrueDiv => {
                let d = dtype::arithmetic_upcast(inputs);
                if d.is_discrete() { dtype::float_x() } else { d }
            }
            And | Or | Xor | Invert => {
                let d = dtype::upcast(inputs);
                if d.is_float() || d.is_complex() {
                    return Err(Error::Type(format!(
                        "{} is defined for bool and integer dtypes only, got {}",
                        self.name(),
                        d
                    )));
                }
                d
            }
            Switch => dtype::arithmetic_upcast(&inputs[1..]),
            Second => inputs[1],
            Abs | Sqr => first,
            Neg if first == DType::Bool => {
                return type_err("is not defined for bool (use invert)");
            }
            Neg => first,
            Sgn if first == DType::Bool || first.is_complex() => {
                return type_err("is not defined for bool or complex numbers");
            }
            Sgn => first,
            Sub => {
                let d = dtype::arithmetic_upcast(inputs);
                if d == DType::Bool {
                    return type_err("is not defined for bool (use xor or neq)");
                }
                d
            }
            Pow | IntDiv | Mod => {
                let d = dtype::arithmetic_upcast(inputs);
                if d == DType::Bool { DType::Int8 } else { d }
            }
            Clip => {
                let d = dtype::arithmetic_upcast(inputs);
                if d.is_complex() {
                    return type_err("is not defined for complex numbers");
                }
                d
            }
            _ => dtype::arithmetic_upcast(inputs),
        })
    }

    /// The dtype a kernel computes in and the dtype it writes, for these
    /// input dtypes and output dtype. float16 computes in float32.
    pub fn kernel_dtypes(self, inputs: &[DType], out: DType) -> (DType, DType) {
        let widen = |d: DType| {
            if d == DType::Float16 {
                DType::Float32
            } else {
                d
            }
        };
        match self.kind() {
            Kind::Cast(to) => (inputs[0], to),
            Kind::Compare => (widen(dtype::upcast(inputs)), DType::Bool),
            Kind::Predicate => (widen(inputs[0]), DType::Bool),
            _ => (widen(out), widen(out)),
        }
    }
}

/// `Elemwise{<scalar op>}`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Elemwise {
    pub scalar_op: ScalarOp,
}

/// The output type of an elementwise node: inputs of one ndim, broadcastable
/// where every input is. `what` names the op in errors.
pub fn broadcast_output_type(what: &str, inputs: &[&Type], dtype: DType) -> Result<Type> {
    let mut tensors = Vec::with_capacity(inputs.len());
    for t in inputs {
        tensors.push(
            t.tensor()
                .ok_or_else(|| Error::Type(format!("{what} expects tensor inputs, got {t}")))?,
        );
    }
    let nd = tensors.first().map(|t| t.ndim()).unwrap_or(0);
    if tensors.iter().any(|t| t.ndim() != nd) {
        return Err(Error::Type(format!(
            "{what}: inputs must have the same number of dimensions, got {:?}",
            tensors.iter().map(|t| t.ndim()).collect::<Vec<_>>()
        )));
    }
    let bcast: Broadcastable = (0..nd)
        .map(|d| tensors.iter().all(|t| t.broadcastable[d]))
        .collect();
    Ok(Type::Tensor(TensorType {
        dtype,
        broadcastable: bcast,
    }))
}

impl Elemwise {
    pub fn name(&self) -> String {
        match self.scalar_op {
            ScalarOp::Cast(_) => format!("Elemwise{{{}}}", self.scalar_op.name()),
            ScalarOp::Sigmoid => "sigmoid".into(),
            ScalarOp::Softplus => "softplus".into(),
            op => format!("Elemwise{{{},no_inplace}}", op.name()),
        }
    }

    /// Inputs must have the same ndim (the builder dimshuffles them); the
    /// output is broadcastable where every input is.
    pub fn output_types(&self, inputs: &[&Type]) -> Result<Vec<Type>> {
        if inputs.len() != self.scalar_op.arity() {
            return Err(Error::Type(format!(
                "{} takes {} inputs, got {}",
                self.name(),
                self.scalar_op.arity(),
                inputs.len()
            )));
        }
        let dtypes: Vec<DType> = inputs.iter().map(|t| t.dtype()).collect();
        // Tensor-ness and ndim are checked before the dtype rules.
        broadcast_output_type(&self.name(), inputs, DType::Bool)?;
        let out = self.scalar_op.output_dtype(&dtypes)?;
        Ok(vec![broadcast_output_type(&self.name(), inputs, out)?])
    }

    /// Computes the op on values.
    pub fn perform(&self, inputs: &[&Tensor], out_dtype: DType) -> Result<Tensor> {
        if inputs.len() != self.scalar_op.arity() {
            return Err(Error::Runtime(format!(
                "{} takes {} inputs, got {}",
                self.name(),
                self.scalar_op.arity(),
                inputs.len()
            )));
        }
        elemwise_exec::run_elemwise(self.scalar_op, inputs, out_dtype)
    }

    /// [`crate::ops::Op::perform_into`]: the result written over `out`, an
    /// old output of this node, when the kernel can read the inputs as they
    /// are (`Ok(false)`, nothing written, otherwise; `perform` then runs).
    pub fn perform_into(&self, inputs: &[&Tensor], out: &mut Tensor) -> Result<bool> {
        if inputs.len() != self.scalar_op.arity() {
            return Ok(false);
        }
        elemwise_exec::run_elemwise_into(self.scalar_op, inputs, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_op() {
        for op in ALL {
            assert_eq!(ScalarOp::parse(&op.name()).unwrap(), op);
        }
        assert!(ScalarOp::parse("frobnicate").is_err());
    }

    #[test]
    fn float_functions_upgrade_integers_like_theano() {
        use DType::*;
        assert_eq!(ScalarOp::Exp.output_dtype(&[Int8]).unwrap(), Float32);
        assert_eq!(ScalarOp::Exp.output_dtype(&[Int32]).unwrap(), Float64);
        assert_eq!(ScalarOp::Exp.output_dtype(&[Float32]).unwrap(), Float32);
        assert_eq!(ScalarOp::Floor.output_dtype(&[UInt16]).unwrap(), Float32);
        assert_eq!(
            ScalarOp::ArcTan2.output_dtype(&[Int8, Float32]).unwrap(),
            Float32
        );
        assert_eq!(ScalarOp::Pow.output_dtype(&[Bool, Bool]).unwrap(), Int8);
        assert!(ScalarOp::Sub.output_dtype(&[Bool, Bool]).is_err());
        assert!(ScalarOp::Neg.output_dtype(&[Bool]).is_err());
        assert!(ScalarOp::RoundHalfToEven.output_dtype(&[Int32]).is_err());
        assert_eq!(ScalarOp::IsNan.output_dtype(&[Int32]).unwrap(), Bool);
    }
}
