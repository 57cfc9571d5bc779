//! Elementwise arithmetic written into an existing buffer (see
//! [`crate::ops::Op::perform_into`]): the common loop case of a node whose
//! previous output nobody holds any more. Only what needs no cast and no
//! general broadcasting: `add`, `sub`, `mul`, `maximum`, `minimum` over
//! operands of the output's dtype that have its shape or hold one element.
//! The arithmetic is the same `Prim` methods `Elemwise::perform` uses.

use crate::dtype::DType;
use crate::error::Result;
use crate::memory::{Tensor, same_shape};
use crate::ops::elemwise::{Elemwise, ScalarOp};
use crate::ops::scalar::Prim;
use crate::with_dtype;

/// An operand: a contiguous run of the output's length, or one value.
enum Operand<'a, T> {
    Run(&'a [T]),
    One(T),
}

impl<T: Prim> Operand<'_, T> {
    #[inline(always)]
    fn at(&self, i: usize) -> T {
        match self {
            Operand::Run(v) => v[i],
            Operand::One(x) => *x,
        }
    }
}

fn operand<'a, T: Prim>(t: &'a Tensor, out: &Tensor) -> Option<Operand<'a, T>> {
    if same_shape(&t.shape, &out.shape) {
        return t.contiguous_slice::<T>().map(Operand::Run);
    }
    if t.size() == 1 && t.ndim() <= out.ndim() {
        return t
            .contiguous_slice::<T>()?
            .first()
            .copied()
            .map(Operand::One);
    }
    None
}

fn binary_into<T: Prim>(op: ScalarOp, a: &Tensor, b: &Tensor, out: &mut Tensor) -> Result<bool> {
    let (Some(x), Some(y)) = (operand::<T>(a, out), operand::<T>(b, out)) else {
        return Ok(false);
    };
    let f: fn(T, T) -> T = match op {
        ScalarOp::Add => |p, q| p.add(q),
        ScalarOp::Sub => |p, q| p.sub(q),
        ScalarOp::Mul => |p, q| p.mul(q),
        ScalarOp::Maximum => |p, q| if p.is_nan() || p >= q { p } else { q },
        ScalarOp::Minimum => |p, q| if p.is_nan() || p <= q { p } else { q },
        _ => return Ok(false),
    };
    let dst = out.data_mut::<T>()?;
    for (i, d) in dst.iter_mut().enumerate() {
        *d = f(x.at(i), y.at(i));
    }
    Ok(true)
}

impl Elemwise {
    /// [`crate::ops::Op::perform_into`] for elementwise ops.
    pub fn perform_into(&self, inputs: &[&Tensor], out: &mut Tensor) -> Result<bool> {
        let dtype = out.dtype;
        let supported = matches!(
            self.scalar_op,
            ScalarOp::Add | ScalarOp::Sub | ScalarOp::Mul | ScalarOp::Maximum | ScalarOp::Minimum
        );
        if !supported
            || inputs.len() != 2
            || dtype == DType::Bool
            || dtype.is_complex()
            || inputs.iter().any(|t| t.dtype != dtype)
            || !out.is_writable()
            // One operand must give the output its shape (no broadcasting to a new shape).
            || !inputs.iter().any(|t| same_shape(&t.shape, &out.shape))
        {
            return Ok(false);
        }
        with_dtype!(dtype, T => binary_into::<T>(self.scalar_op, inputs[0], inputs[1], out))
    }
}
