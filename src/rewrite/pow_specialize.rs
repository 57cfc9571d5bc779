//! `x ** k` with a constant exponent becomes a cheaper op (Theano's
//! `local_pow_specialize`): `sqr(x)` for 2, `sqrt(x)` for 0.5, `x` for 1,
//! and for a float result `inv(x)`, `inv(sqrt(x))`, `inv(sqr(x))` for -1,
//! -0.5, -2. The base is first cast to the result's dtype, so the value is
//! the one `pow` computes. `x ** 1` goes already in canonicalization
//! (`local_pow_canonicalize`): the gradient of `x ** 2` is `2 * x ** 1`, and
//! the gemm rewrite must see that term as `x`.

use crate::dtype::DType;
use crate::error::Result;
use crate::function::fgraph::{FunctionGraph, VarId};
use crate::ops::scalar::read_all;
use crate::ops::{Elemwise, Op, ScalarOp};

/// The exponent when it is a constant with one value everywhere.
fn constant_exponent(fg: &FunctionGraph, v: VarId) -> Option<f64> {
    let t = fg.constant(v)?;
    if t.dtype.is_complex() {
        return None;
    }
    let values = crate::ops::scalar::cast_tensor(t, DType::Float64)
        .and_then(|c| read_all::<f64>(&c))
        .ok()?;
    let first = *values.first()?;
    values.iter().all(|&x| x == first).then_some(first)
}

fn elemwise(fg: &mut FunctionGraph, op: ScalarOp, x: VarId) -> Result<VarId> {
    Ok(fg.add_node(Op::Elemwise(Elemwise { scalar_op: op }), vec![x])?[0])
}

pub fn pow_specialize(fg: &mut FunctionGraph) -> Result<bool> {
    rewrite_pows(fg, false)
}

pub fn pow_canonicalize(fg: &mut FunctionGraph) -> Result<bool> {
    rewrite_pows(fg, true)
}

/// Rewrites the constant powers; only `x ** 1` when `identity_only`.
fn rewrite_pows(fg: &mut FunctionGraph, identity_only: bool) -> Result<bool> {
    let mut changed = false;
    for n in fg.toposort() {
        let node = &fg.nodes[n];
        if node.op
            != (Op::Elemwise(Elemwise {
                scalar_op: ScalarOp::Pow,
            }))
        {
            continue;
        }
        let (x, y, out) = (node.inputs[0], node.inputs[1], node.outputs[0]);
        let Some(k) = constant_exponent(fg, y) else {
            continue;
        };
        if identity_only && k != 1.0 {
            continue;
        }
        let out_ty = fg.vars[out].ty.clone();
        // The exponent must not widen the result beyond x's shape.
        if out_ty.broadcastable() != fg.vars[x].ty.broadcastable() {
            continue;
        }
        let dtype = out_ty.dtype();
        let ops: &[ScalarOp] = match k {
            1.0 => &[],
            2.0 => &[ScalarOp::Sqr],
            0.5 => &[ScalarOp::Sqrt],
            -1.0 if dtype.is_float() => &[ScalarOp::Inv],
            -0.5 if dtype.is_float() => &[ScalarOp::Sqrt, ScalarOp::Inv],
            -2.0 if dtype.is_float() => &[ScalarOp::Sqr, ScalarOp::Inv],
            _ => continue,
        };
        let mut v = x;
        if fg.vars[v].ty.dtype() != dtype {
            v = elemwise(fg, ScalarOp::Cast(dtype), v)?;
        }
        for &op in ops {
            v = elemwise(fg, op, v)?;
        }
        if v == x || fg.vars[v].ty != out_ty {
            // `x ** 1` of the same type is x itself; anything else that
            // does not keep the type is left alone.
            if v == x && fg.vars[x].ty == out_ty {
                fg.replace(out, x);
                changed = true;
            }
            continue;
        }
        fg.replace(out, v);
        changed = true;
    }
    Ok(changed)
}
