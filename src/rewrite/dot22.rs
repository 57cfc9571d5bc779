//! The matrix products the gemm rewrite left alone get Theano's names:
//! `dot(x, y)` of two matrices of one float dtype becomes `Dot22(x, y)`
//! (`local_dot_to_dot22`), and a `Dot22` scaled by a scalar, read by nothing
//! else, becomes `Dot22Scalar(x, y, a)` (`local_dot22_to_dot22scalar`): the
//! scale is applied to the product's sums, with no elementwise pass over the
//! result. Both run in the specialize stage, after the gemm rewrite has
//! turned the products that are added to something into `Gemm`.

use crate::dtype::DType;
use crate::error::Result;
use crate::function::fgraph::{FunctionGraph, NodeId, VarId};
use crate::memory::Tensor;
use crate::ops::scalar::cast_tensor;
use crate::ops::{Dot22, Op, ScalarOp};
use crate::rewrite::local::{cast_to, constant, each_node, producer, scalar_op, uniform_constant};

pub fn local_dot_to_dot22(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| {
        let node = &fg.nodes[n];
        let (Op::Dot, &[x, y]) = (&node.op, &node.inputs[..]) else {
            return Ok(None);
        };
        let (tx, ty) = (&fg.vars[x].ty, &fg.vars[y].ty);
        let dtype = tx.dtype();
        if tx.ndim() != 2
            || ty.ndim() != 2
            || ty.dtype() != dtype
            || !matches!(dtype, DType::Float32 | DType::Float64)
        {
            return Ok(None);
        }
        Ok(Some(
            fg.add_node(Op::Dot22(Dot22 { scaled: false }), vec![x, y])?[0],
        ))
    })
}

pub fn local_dot22_to_dot22scalar(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| {
        if scalar_op(fg, n) != Some(ScalarOp::Mul) || fg.nodes[n].inputs.len() != 2 {
            return Ok(None);
        }
        let inputs = fg.nodes[n].inputs.clone();
        for (p, s) in [(inputs[0], inputs[1]), (inputs[1], inputs[0])] {
            let Some((Op::Dot22(Dot22 { scaled: false }), &[x, y])) = producer(fg, p) else {
                continue;
            };
            if !read_only_by(fg, p, n) {
                continue;
            }
            let dtype = fg.vars[p].ty.dtype();
            let Some(a) = scalar(fg, s, dtype)? else {
                continue;
            };
            return Ok(Some(
                fg.add_node(Op::Dot22(Dot22 { scaled: true }), vec![x, y, a])?[0],
            ));
        }
        Ok(None)
    })
}

/// Whether node `n` is the only reader of `v`, which is no graph output.
fn read_only_by(fg: &FunctionGraph, v: VarId, n: NodeId) -> bool {
    !fg.outputs.contains(&v)
        && fg
            .clients()
            .get(&v)
            .is_some_and(|c| c.iter().all(|&(reader, _)| reader == n))
}

/// `s` as a 0-d scale of `dtype` when it holds one value and broadcasts along
/// every axis: a constant (made 0-d), a 0-d variable, or a DimShuffle that
/// only adds axes to one; a float variable of another dtype is cast.
fn scalar(fg: &mut FunctionGraph, s: VarId, dtype: DType) -> Result<Option<VarId>> {
    if !fg.vars[s].ty.broadcastable().iter().all(|&b| b) {
        return Ok(None);
    }
    if fg.constant(s).is_some() {
        let Some(value) = uniform_constant(fg, s) else {
            return Ok(None);
        };
        let value = Tensor::from_slice::<f64>(DType::Float64, &[], &[value])?;
        return Ok(Some(constant(fg, cast_tensor(&value, dtype)?)));
    }
    let zero_d = if fg.vars[s].ty.ndim() == 0 {
        s
    } else {
        match producer(fg, s) {
            Some((Op::DimShuffle(d), &[v])) if d.input_ndim == 0 => v,
            _ => return Ok(None),
        }
    };
    if !fg.vars[zero_d].ty.dtype().is_float() {
        return Ok(None);
    }
    cast_to(fg, zero_d, dtype).map(Some)
}
