//! Fills out of elementwise arithmetic (Theano's `local_fill_sink` and
//! `local_fill_cut`). The gradient of a sum is `fill(x, gz)` (`second`):
//! `gz` spread to `x`'s shape. Left alone, `2·l2·fill(sqr(W), gz)·W` keeps
//! `sqr(W)` alive and reads a whole W-sized array for a scalar.
//!
//! - `local_fill_sink`: `f(fill(a, b), c)` becomes `fill(a, f(b, c))`, so the
//!   arithmetic runs on the small filling and the fill moves outward.
//! - `local_fill_cut`: `f(fill(a, b), c)` becomes `f(b, c)` when another
//!   input `c` has the output's type and provably `a`'s shape, so that `c`
//!   alone gives the result its shape.
//! - `local_useless_fill`: `fill(a, b)` becomes `b` when `b` provably has
//!   `a`'s shape.
//!
//! Shapes are only compared when they provably agree (see [`shape_source`]):
//! an axis of length 1 broadcasts at run time even where the type does not
//! say so, so equal types do not mean equal shapes.

use crate::error::Result;
use crate::function::fgraph::{FunctionGraph, NodeId, VarId};
use crate::ops::ScalarOp;

use super::local::{cast_to, each_node, elemwise, elemwise_of, scalar_op};

/// `(model, filling)` when `v` is `fill(model, filling)` of `v`'s rank.
fn fill_parts(fg: &FunctionGraph, v: VarId) -> Option<(VarId, VarId)> {
    let inputs = elemwise_of(fg, v, ScalarOp::Second)?;
    let (model, filling) = (inputs[0], inputs[1]);
    let rank = fg.vars[v].ty.ndim();
    (fg.vars[model].ty.ndim() == rank && fg.vars[filling].ty.ndim() == rank)
        .then_some((model, filling))
}

/// The variable whose shape `v` has for certain: an elementwise node's
/// output has the shape of its inputs that are not broadcastable in every
/// axis (a scalar spread over them), when those all have one shape source
/// themselves. Looks at most `SHAPE_SOURCE_DEPTH` nodes deep.
fn shape_source(fg: &FunctionGraph, v: VarId) -> VarId {
    shape_source_within(fg, v, SHAPE_SOURCE_DEPTH)
}

const SHAPE_SOURCE_DEPTH: usize = 6;

fn shape_source_within(fg: &FunctionGraph, v: VarId, depth: usize) -> VarId {
    let Some((n, _)) = fg.owner(v) else {
        return v;
    };
    if depth == 0 || scalar_op(fg, n).is_none() {
        return v;
    }
    let rank = fg.vars[v].ty.ndim();
    let mut source = None;
    for &i in &fg.nodes[n].inputs {
        if fg.vars[i].ty.broadcastable().iter().all(|&b| b) {
            continue;
        }
        if fg.vars[i].ty.ndim() != rank {
            return v;
        }
        let s = shape_source_within(fg, i, depth - 1);
        match source {
            None => source = Some(s),
            Some(t) if t == s => {}
            Some(_) => return v,
        }
    }
    source.unwrap_or(v)
}

/// Whether `a` and `b` provably have one shape: one shape source, or every
/// axis of both of length 1 (broadcastable).
fn same_shape(fg: &FunctionGraph, a: VarId, b: VarId) -> bool {
    let ones = |v: VarId| fg.vars[v].ty.broadcastable().iter().all(|&x| x);
    fg.vars[a].ty.ndim() == fg.vars[b].ty.ndim()
        && ((ones(a) && ones(b)) || shape_source(fg, a) == shape_source(fg, b))
}

/// The elementwise ops these rewrites look through: everything but the fill
/// itself and the ops whose result dtype is not their operands' (a cast or
/// a comparison keeps its inputs' fills meaningful for the dtype rules).
fn sinkable(fg: &FunctionGraph, n: NodeId) -> bool {
    match scalar_op(fg, n) {
        Some(ScalarOp::Second | ScalarOp::Cast(_)) | None => false,
        Some(_) => fg.nodes[n].outputs.len() == 1,
    }
}

/// The filling in the fill's own dtype (the fill's result has the filling's
/// dtype, but be safe).
fn filling_as_fill(fg: &mut FunctionGraph, fill: VarId, filling: VarId) -> Result<VarId> {
    let dtype = fg.vars[fill].ty.dtype();
    cast_to(fg, filling, dtype)
}

/// Rewrites node `n`'s fill inputs: each is cut (replaced by its filling)
/// where another input stands for the output's shape; when `sink`, the
/// others are replaced by their fillings too and their models fill the
/// node's new result. `None` when nothing changes.
fn cut_or_sink(fg: &mut FunctionGraph, n: NodeId, sink: bool) -> Result<Option<VarId>> {
    if !sinkable(fg, n) {
        return Ok(None);
    }
    let Some(op) = scalar_op(fg, n) else {
        return Ok(None);
    };
    let out_ty = fg.vars[fg.nodes[n].outputs[0]].ty.clone();
    let inputs = fg.nodes[n].inputs.clone();
    // The inputs that can stand for the output's shape.
    let references: Vec<VarId> = inputs
        .iter()
        .copied()
        .filter(|&i| fg.vars[i].ty == out_ty && fill_parts(fg, i).is_none())
        .collect();
    let out_bcast = out_ty.broadcastable();
    let mut models = Vec::new();
    let mut cut = false;
    let mut new_inputs = Vec::with_capacity(inputs.len());
    for &i in &inputs {
        let Some((model, filling)) = fill_parts(fg, i) else {
            new_inputs.push(i);
            continue;
        };
        // The model's shape is a reference's, and the filling does not
        // stretch a dimension the output keeps at 1.
        let cuttable = references.iter().any(|&r| same_shape(fg, r, model))
            && fg.vars[filling]
                .ty
                .broadcastable()
                .iter()
                .zip(out_bcast.iter())
                .all(|(&f, &o)| f || !o);
        if cuttable {
            cut = true;
        } else if sink {
            models.push(model);
        } else {
            new_inputs.push(i);
            continue;
        }
        new_inputs.push(filling_as_fill(fg, i, filling)?);
    }
    if !cut && models.is_empty() {
        return Ok(None);
    }
    let mut out = elemwise(fg, op, new_inputs)?;
    for model in models {
        out = elemwise(fg, ScalarOp::Second, vec![model, out])?;
    }
    Ok(Some(out))
}

pub fn local_fill_sink(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| cut_or_sink(fg, n, true))
}

pub fn local_fill_cut(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| cut_or_sink(fg, n, false))
}

/// `fill(a, b)` becomes `b` when `b` has the fill's type and provably `a`'s
/// shape (Theano's `local_useless_fill`).
pub fn local_useless_fill(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| {
        if scalar_op(fg, n) != Some(ScalarOp::Second) {
            return Ok(None);
        }
        let out = fg.nodes[n].outputs[0];
        let (model, filling) = (fg.nodes[n].inputs[0], fg.nodes[n].inputs[1]);
        let useless = same_shape(fg, model, filling) && fg.vars[filling].ty == fg.vars[out].ty;
        Ok(useless.then_some(filling))
    })
}
