//! Elementwise ops: a scalar op applied over broadcast tensors (Theano's
//! `Elemwise{add,no_inplace}`), with NumPy-like upcasting.

use crate::dtype::{self, DType};
use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::ops::scalar::{
    Prim, broadcast_copy, broadcast_shapes, cast_tensor, convert, map1, map2, map3,
};
use crate::types::{Broadcastable, TensorType, Type};
use crate::with_dtype;

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
    /// `second(a, b)` (`T.fill`): `b` broadcast to the shape of `a`, in `b`'s
    /// dtype. Gradient: none for `a` (only its shape matters), and for `b`
    /// the output gradient summed over the axes `b` was broadcast along.
    Second,
}

impl ScalarOp {
    /// Theano's name of the scalar op.
    pub fn name(self) -> String {
        match self {
            ScalarOp::Add => "add".into(),
            ScalarOp::Sub => "sub".into(),
            ScalarOp::Mul => "mul".into(),
            ScalarOp::TrueDiv => "true_div".into(),
            ScalarOp::IntDiv => "int_div".into(),
            ScalarOp::Mod => "mod".into(),
            ScalarOp::Pow => "pow".into(),
            ScalarOp::Maximum => "maximum".into(),
            ScalarOp::Minimum => "minimum".into(),
            ScalarOp::Eq => "eq".into(),
            ScalarOp::Neq => "neq".into(),
            ScalarOp::Lt => "lt".into(),
            ScalarOp::Le => "le".into(),
            ScalarOp::Gt => "gt".into(),
            ScalarOp::Ge => "ge".into(),
            ScalarOp::And => "and_".into(),
            ScalarOp::Or => "or_".into(),
            ScalarOp::Xor => "xor".into(),
            ScalarOp::Neg => "neg".into(),
            ScalarOp::Abs => "abs_".into(),
            ScalarOp::Sqr => "sqr".into(),
            ScalarOp::Sqrt => "sqrt".into(),
            ScalarOp::Exp => "exp".into(),
            ScalarOp::Log => "log".into(),
            ScalarOp::Sin => "sin".into(),
            ScalarOp::Cos => "cos".into(),
            ScalarOp::Tanh => "tanh".into(),
            ScalarOp::Sigmoid => "sigmoid".into(),
            ScalarOp::Invert => "invert".into(),
            ScalarOp::Switch => "switch".into(),
            ScalarOp::Cast(d) => format!("Cast{{{d}}}"),
            ScalarOp::Second => "second".into(),
        }
    }

    /// Parses Theano's name (as the Python layer spells it).
    pub fn parse(name: &str) -> Result<ScalarOp> {
        const ALL: [ScalarOp; 31] = [
            ScalarOp::Add,
            ScalarOp::Sub,
            ScalarOp::Mul,
            ScalarOp::TrueDiv,
            ScalarOp::IntDiv,
            ScalarOp::Mod,
            ScalarOp::Pow,
            ScalarOp::Maximum,
            ScalarOp::Minimum,
            ScalarOp::Eq,
            ScalarOp::Neq,
            ScalarOp::Lt,
            ScalarOp::Le,
            ScalarOp::Gt,
            ScalarOp::Ge,
            ScalarOp::And,
            ScalarOp::Or,
            ScalarOp::Xor,
            ScalarOp::Neg,
            ScalarOp::Abs,
            ScalarOp::Sqr,
            ScalarOp::Sqrt,
            ScalarOp::Exp,
            ScalarOp::Log,
            ScalarOp::Sin,
            ScalarOp::Cos,
            ScalarOp::Tanh,
            ScalarOp::Sigmoid,
            ScalarOp::Invert,
            ScalarOp::Switch,
            ScalarOp::Second,
        ];
        ALL.iter()
            .copied()
            .find(|op| op.name() == name)
            .ok_or_else(|| Error::Value(format!("unknown elementwise op {name:?}")))
    }

    pub fn arity(self) -> usize {
        use ScalarOp::*;
        match self {
            Neg | Abs | Sqr | Sqrt | Exp | Log | Sin | Cos | Tanh | Sigmoid | Invert | Cast(_) => 1,
            Switch => 3,
            _ => 2,
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
        use ScalarOp::*;
        matches!(self, Eq | Neq | Lt | Le | Gt | Ge)
    }

    fn is_float_function(self) -> bool {
        use ScalarOp::*;
        matches!(self, Sqrt | Exp | Log | Sin | Cos | Tanh | Sigmoid)
    }

    /// The output dtype for these input dtypes.
    pub fn output_dtype(self, inputs: &[DType]) -> Result<DType> {
        use ScalarOp::*;
        Ok(match self {
            Cast(d) => d,
            _ if self.is_comparison() => DType::Bool,
            _ if self.is_float_function() => inputs[0].upgrade_to_float(),
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
            _ => dtype::arithmetic_upcast(inputs),
        })
    }

    /// The dtype the computation runs in.
    fn compute_dtype(self, inputs: &[DType], out: DType) -> DType {
        if self.is_comparison() {
            dtype::upcast(inputs)
        } else if let ScalarOp::Cast(_) = self {
            inputs[0]
        } else {
            out
        }
    }
}

/// `Elemwise{<scalar op>}`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Elemwise {
    pub scalar_op: ScalarOp,
}

impl Elemwise {
    pub fn name(&self) -> String {
        match self.scalar_op {
            ScalarOp::Cast(_) => format!("Elemwise{{{}}}", self.scalar_op.name()),
            ScalarOp::Sigmoid => "sigmoid".into(),
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
        let mut tensors = Vec::new();
        for t in inputs {
            tensors.push(t.tensor().ok_or_else(|| {
                Error::Type(format!("{} expects tensor inputs, got {}", self.name(), t))
            })?);
        }
        let nd = tensors[0].ndim();
        if tensors.iter().any(|t| t.ndim() != nd) {
            return Err(Error::Type(format!(
                "{}: inputs must have the same number of dimensions, got {:?}",
                self.name(),
                tensors.iter().map(|t| t.ndim()).collect::<Vec<_>>()
            )));
        }
        let bcast: Broadcastable = (0..nd)
            .map(|d| tensors.iter().all(|t| t.broadcastable[d]))
            .collect();
        let dtypes: Vec<DType> = tensors.iter().map(|t| t.dtype).collect();
        let out = self.scalar_op.output_dtype(&dtypes)?;
        Ok(vec![Type::Tensor(TensorType {
            dtype: out,
            broadcastable: bcast,
        })])
    }

    /// Computes the op on values.
    pub fn perform(&self, inputs: &[&Tensor], out_dtype: DType) -> Result<Tensor> {
        let op = self.scalar_op;
        let in_dtypes: smallvec::SmallVec<[DType; 3]> = inputs.iter().map(|t| t.dtype).collect();
        if let ScalarOp::Cast(to) = op {
            return cast_tensor(inputs[0], to);
        }
        if op == ScalarOp::Switch {
            let cond = cast_tensor(inputs[0], out_dtype)?;
            let a = cast_tensor(inputs[1], out_dtype)?;
            let b = cast_tensor(inputs[2], out_dtype)?;
            return with_dtype!(out_dtype, T => map3::<T, T>(&cond, &a, &b, out_dtype, |c, x, y| if c != T::zero() { x } else { y }));
        }
        if op == ScalarOp::Second {
            return second(inputs[0], inputs[1], out_dtype);
        }
        let compute = op.compute_dtype(&in_dtypes, out_dtype);
        let result = if in_dtypes.iter().all(|&d| d == compute) {
            // The common case after canonicalization: no input needs a cast.
            with_dtype!(compute, T => {
                if inputs.len() == 1 {
                    unary::<T>(op, inputs[0], compute)?
                } else {
                    binary::<T>(op, inputs[0], inputs[1], compute)?
                }
            })
        } else {
            let cast: smallvec::SmallVec<[Tensor; 3]> = inputs
                .iter()
                .map(|t| cast_tensor(t, compute))
                .collect::<Result<_>>()?;
            with_dtype!(compute, T => {
                if cast.len() == 1 {
                    unary::<T>(op, &cast[0], compute)?
                } else {
                    binary::<T>(op, &cast[0], &cast[1], compute)?
                }
            })
        };
        if result.dtype != out_dtype {
            cast_tensor(&result, out_dtype)
        } else {
            Ok(result)
        }
    }
}

/// `b` broadcast to the common shape of `a` and `b` (only `a`'s shape is read).
fn second(a: &Tensor, b: &Tensor, out_dtype: DType) -> Result<Tensor> {
    let shape = broadcast_shapes(&[&a.shape, &b.shape])?;
    let b = cast_tensor(b, out_dtype)?;
    with_dtype!(out_dtype, T => {
        let values = broadcast_copy::<T>(&b, &shape)?;
        Tensor::from_slice(out_dtype, &shape, &values)
    })
}

fn bool_of(b: bool) -> u8 {
    b as u8
}

fn unary<T: Prim>(op: ScalarOp, a: &Tensor, dtype: DType) -> Result<Tensor> {
    use ScalarOp::*;
    let float = |f: fn(f64) -> f64| map1::<T, T>(a, dtype, move |x| T::from_f64(f(x.to_f64())));
    match op {
        Neg => map1::<T, T>(a, dtype, |x| x.neg()),
        Abs => map1::<T, T>(a, dtype, |x| x.abs()),
        Sqr => map1::<T, T>(a, dtype, |x| x.mul(x)),
        Sqrt => float(f64::sqrt),
        Exp => float(f64::exp),
        Log => float(f64::ln),
        Sin => float(f64::sin),
        Cos => float(f64::cos),
        Tanh => float(f64::tanh),
        Sigmoid => float(|x| 1.0 / (1.0 + (-x).exp())),
        Invert => {
            if dtype == DType::Bool {
                map1::<T, T>(a, dtype, |x| {
                    convert::<u8, T>(bool_of(x == T::zero()), false)
                })
            } else {
                map1::<T, T>(a, dtype, |x| T::from_i128(!x.to_i128()))
            }
        }
        _ => Err(Error::Runtime(format!("{} is not unary", op.name()))),
    }
}

fn binary<T: Prim>(op: ScalarOp, a: &Tensor, b: &Tensor, dtype: DType) -> Result<Tensor> {
    use ScalarOp::*;
    let cmp =
        |f: fn(&T, &T) -> bool| map2::<T, u8>(a, b, DType::Bool, move |x, y| bool_of(f(&x, &y)));
    match op {
        Add => map2::<T, T>(a, b, dtype, |x, y| x.add(y)),
        Sub => map2::<T, T>(a, b, dtype, |x, y| x.sub(y)),
        Mul => map2::<T, T>(a, b, dtype, |x, y| x.mul(y)),
        TrueDiv => map2::<T, T>(a, b, dtype, |x, y| x.div(y)),
        IntDiv => map2::<T, T>(a, b, dtype, |x, y| x.floor_div(y)),
        Mod => map2::<T, T>(a, b, dtype, |x, y| x.modulo(y)),
        Pow => map2::<T, T>(a, b, dtype, |x, y| x.pow(y)),
        Maximum => map2::<T, T>(a, b, dtype, |x, y| if x.is_nan() || x >= y { x } else { y }),
        Minimum => map2::<T, T>(a, b, dtype, |x, y| if x.is_nan() || x <= y { x } else { y }),
        Eq => cmp(|x, y| x == y),
        Neq => cmp(|x, y| x != y),
        Lt => cmp(|x, y| x < y),
        Le => cmp(|x, y| x <= y),
        Gt => cmp(|x, y| x > y),
        Ge => cmp(|x, y| x >= y),
        And => map2::<T, T>(a, b, dtype, |x, y| T::from_i128(x.to_i128() & y.to_i128())),
        Or => map2::<T, T>(a, b, dtype, |x, y| T::from_i128(x.to_i128() | y.to_i128())),
        Xor => map2::<T, T>(a, b, dtype, |x, y| T::from_i128(x.to_i128() ^ y.to_i128())),
        _ => Err(Error::Runtime(format!("{} is not binary", op.name()))),
    }
}
