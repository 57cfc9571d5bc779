//! The fused softmax cross-entropy (Theano's `nnet` rewrites):
//! - `crossentropy_categorical_1hot(softmax(x + b), y)` →
//!   `CrossentropySoftmaxArgmax1HotWithBias(x, b, y)[0]`
//!   (`crossentropy_to_crossentropy_with_softmax_with_bias`);
//! - `log(softmax(x + b))[arange(n), y]` (the tutorials' negative
//!   log-likelihood, before its `-mean`) → `-CrossentropySoftmaxArgmax1HotWithBias(x, b, y)[0]`
//!   (`local_advanced_indexing_crossentropy_onehot`), where `n` is the
//!   number of rows of `y` or of `x`.
//!
//! A softmax without a bias gets a zero bias of `x`'s column count; a
//! softmax of `x + b` with `b` a row broadcast along the rows is split
//! into `x` and `b`.
//!
//! In the specialize stage, once the gradient's rewrite has read its
//! softmax:
//! - `Softmax(x + b)` → `SoftmaxWithBias(x, b)` (`local_softmax_with_bias`);
//! - a softmax of the `x` and `b` of a fused cross-entropy node is that
//!   node's own softmax output `.1` (`local_softmax_of_crossentropy`), so
//!   that the training step's gradient (`CrossentropySoftmax1HotWithBiasDx`)
//!   reads the softmax the loss computed instead of computing it again.

use std::collections::HashSet;

use crate::error::Result;
use crate::function::fgraph::{FunctionGraph, NodeId, VarId};
use crate::memory::Tensor;
use crate::ops::{AdvIdx, NnetOp, Op, ScalarOp};

use super::local::{constant, each_node, elemwise, elemwise_of, is_constant, producer};

/// `b` when `v` is `DimShuffle{x,0}(b)`.
fn row_of(fg: &FunctionGraph, v: VarId) -> Option<VarId> {
    match producer(fg, v)? {
        (Op::DimShuffle(d), ins) if d.new_order == [None, Some(0)] => Some(ins[0]),
        _ => None,
    }
}

/// `(x, b)` of the softmax whose output is `sm`: `Softmax(x + row(b))`,
/// `SoftmaxWithBias(x, b)`, or `Softmax(x)` with `b` absent.
fn softmax_parts(fg: &FunctionGraph, sm: VarId) -> Option<(VarId, Option<VarId>)> {
    match producer(fg, sm)? {
        (Op::Nnet(NnetOp::SoftmaxWithBias), ins) => Some((ins[0], Some(ins[1]))),
        (Op::Nnet(NnetOp::Softmax), ins) => Some(split_bias(fg, ins[0])),
        _ => None,
    }
}

/// `x + row(b)` split into `(x, Some(b))`.
fn split_bias(fg: &FunctionGraph, z: VarId) -> (VarId, Option<VarId>) {
    if let Some(ins) = elemwise_of(fg, z, ScalarOp::Add) {
        let same_dtype = |v: VarId| fg.vars[v].ty.dtype() == fg.vars[z].ty.dtype();
        for (a, r) in [(ins[0], ins[1]), (ins[1], ins[0])] {
            if let Some(b) = row_of(fg, r)
                && same_dtype(a)
                && same_dtype(b)
                && !fg.vars[a].ty.broadcastable()[0]
            {
                return (a, Some(b));
            }
        }
    }
    (z, None)
}

/// `CrossentropySoftmaxArgmax1HotWithBias(x, b, y)[0]`, with a zero bias
/// when `b` is absent.
fn fused_nll(fg: &mut FunctionGraph, x: VarId, b: Option<VarId>, y: VarId) -> Result<VarId> {
    let b = match b {
        Some(b) => b,
        None => {
            let zero = constant(fg, Tensor::zeros(fg.vars[x].ty.dtype(), &[])?);
            let cols = fg.add_node(Op::ShapeI(1), vec![x])?[0];
            fg.add_node(Op::Alloc, vec![zero, cols])?[0]
        }
    };
    let op = Op::Nnet(NnetOp::CrossentropySoftmaxArgmax1HotWithBias);
    Ok(fg.add_node(op, vec![x, b, y])?[0])
}

pub fn crossentropy_to_crossentropy_with_softmax_with_bias(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| {
        if fg.nodes[n].op != Op::Nnet(NnetOp::CrossentropyCategorical1Hot) {
            return Ok(None);
        }
        let (sm, y) = (fg.nodes[n].inputs[0], fg.nodes[n].inputs[1]);
        let Some((x, b)) = softmax_parts(fg, sm) else {
            return Ok(None);
        };
        Ok(Some(fused_nll(fg, x, b, y)?))
    })
}

/// Whether `v` is `x.shape[0]` for one of `of`.
fn is_rows_of(fg: &FunctionGraph, v: VarId, of: &[VarId]) -> bool {
    matches!(producer(fg, v), Some((Op::ShapeI(0), ins)) if of.contains(&ins[0]))
}

/// The softmax argument `(x, b)` under a log-softmax `lsm`.
fn log_softmax_parts(fg: &FunctionGraph, lsm: VarId) -> Option<(VarId, Option<VarId>)> {
    match producer(fg, lsm)? {
        (Op::Nnet(NnetOp::LogSoftmax), ins) => Some(split_bias(fg, ins[0])),
        (Op::Elemwise(e), ins) if e.scalar_op == ScalarOp::Log => softmax_parts(fg, ins[0]),
        _ => None,
    }
}

pub fn local_advanced_indexing_crossentropy_onehot(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| {
        let Op::AdvancedSubtensor(a) = &fg.nodes[n].op else {
            return Ok(None);
        };
        if a.entries != [AdvIdx::Array, AdvIdx::Array] {
            return Ok(None);
        }
        let (lsm, rows, y) = (
            fg.nodes[n].inputs[0],
            fg.nodes[n].inputs[1],
            fg.nodes[n].inputs[2],
        );
        let Some((x, b)) = log_softmax_parts(fg, lsm) else {
            return Ok(None);
        };
        let Some((Op::ARange(_), range)) = producer(fg, rows) else {
            return Ok(None);
        };
        let (start, stop, step) = (range[0], range[1], range[2]);
        if !is_constant(fg, start, 0.0)
            || !is_constant(fg, step, 1.0)
            || !is_rows_of(fg, stop, &[y, x, lsm])
            || !fg.vars[y].ty.dtype().is_int()
            || fg.vars[y].ty.ndim() != 1
        {
            return Ok(None);
        }
        let nll = fused_nll(fg, x, b, y)?;
        Ok(Some(elemwise(fg, ScalarOp::Neg, vec![nll])?))
    })
}

/// Whether `v` is all zeros: a zero constant, or `second(a, 0)`.
fn is_zeros(fg: &FunctionGraph, v: VarId) -> bool {
    if is_constant(fg, v, 0.0) {
        return true;
    }
    match elemwise_of(fg, v, ScalarOp::Second) {
        Some(ins) => is_constant(fg, ins[1], 0.0),
        None => false,
    }
}

/// The gradient of the negative log-likelihood above with respect to the
/// softmax's input: `SoftmaxGrad(AdvancedIncSubtensor(zeros, g, arange(n), y) / sm, sm)`
/// with `sm = softmax(...)` → `CrossentropySoftmax1HotWithBiasDx(-g, sm, y)`
/// (`local_advanced_indexing_crossentropy_onehot_grad`).
pub fn local_advanced_indexing_crossentropy_onehot_grad(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| {
        if fg.nodes[n].op != Op::Nnet(NnetOp::SoftmaxGrad) {
            return Ok(None);
        }
        let (dy, sm) = (fg.nodes[n].inputs[0], fg.nodes[n].inputs[1]);
        if softmax_parts(fg, sm).is_none() {
            return Ok(None);
        }
        let Some(div) = elemwise_of(fg, dy, ScalarOp::TrueDiv) else {
            return Ok(None);
        };
        if div[1] != sm {
            return Ok(None);
        }
        let Some((Op::AdvancedIncSubtensor(inc), ins)) = producer(fg, div[0]) else {
            return Ok(None);
        };
        if inc.set_instead_of_inc || inc.entries != [AdvIdx::Array, AdvIdx::Array] {
            return Ok(None);
        }
        let (zeros, g, rows, y) = (ins[0], ins[1], ins[2], ins[3]);
        if !is_zeros(fg, zeros) || !fg.vars[y].ty.dtype().is_int() || fg.vars[y].ty.ndim() != 1 {
            return Ok(None);
        }
        let Some((Op::ARange(_), range)) = producer(fg, rows) else {
            return Ok(None);
        };
        let (start, stop, step) = (range[0], range[1], range[2]);
        if !is_constant(fg, start, 0.0)
            || !is_constant(fg, step, 1.0)
            || !is_rows_of(fg, stop, &[y, sm])
        {
            return Ok(None);
        }
        // One gradient value per row (the result must keep SoftmaxGrad's
        // type, which `each_node` checks).
        let g_ty = &fg.vars[g].ty;
        if g_ty.ndim() != 1 || !g_ty.dtype().is_float() {
            return Ok(None);
        }
        let minus_g = elemwise(fg, ScalarOp::Neg, vec![g])?;
        let op = Op::Nnet(NnetOp::CrossentropySoftmax1HotWithBiasDx);
        Ok(Some(fg.add_node(op, vec![minus_g, sm, y])?[0]))
    })
}

pub fn local_softmax_with_bias(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| {
        let node = &fg.nodes[n];
        if node.op != Op::Nnet(NnetOp::Softmax) {
            return Ok(None);
        }
        let (x, Some(b)) = split_bias(fg, node.inputs[0]) else {
            return Ok(None);
        };
        Ok(Some(
            fg.add_node(Op::Nnet(NnetOp::SoftmaxWithBias), vec![x, b])?[0],
        ))
    })
}

pub fn local_softmax_of_crossentropy(fg: &mut FunctionGraph) -> Result<bool> {
    let fused: Vec<NodeId> = fg
        .toposort()
        .into_iter()
        .filter(|&n| fg.nodes[n].op == Op::Nnet(NnetOp::CrossentropySoftmaxArgmax1HotWithBias))
        .collect();
    if fused.is_empty() {
        return Ok(false);
    }
    each_node(fg, |fg, n| {
        let sm = fg.nodes[n].outputs[0];
        let Some((x, Some(b))) = softmax_parts(fg, sm) else {
            return Ok(None);
        };
        for &xent in &fused {
            let ins = &fg.nodes[xent].inputs;
            if ins[0] == x && ins[1] == b && !depends_on(fg, ins[2], n) {
                return Ok(Some(fg.nodes[xent].outputs[1]));
            }
        }
        Ok(None)
    })
}

/// Whether `v` is computed from an output of node `n` (the labels of a
/// fused node could be, say, the argmax of the very softmax it would replace).
fn depends_on(fg: &FunctionGraph, v: VarId, n: NodeId) -> bool {
    let mut seen = HashSet::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        let Some((owner, _)) = fg.owner(v) else {
            continue;
        };
        if owner == n {
            return true;
        }
        if seen.insert(owner) {
            stack.extend(fg.nodes[owner].inputs.iter().copied());
        }
    }
    false
}
