//! Removal of ops that do nothing: a cast to the dtype the input already
//! has, `DimShuffle{0,1,...}`, a DimShuffle of a DimShuffle (one pattern,
//! so `x.T.T` is `x`), a reshape to the input's own shape, a Subtensor of
//! full slices (`x[:]`), a Rebroadcast that changes no flag, the conditions
//! of an `Assert` that are constants known to hold.

use crate::error::Result;
use crate::function::fgraph::{FunctionGraph, VarId};
use crate::ops::{Assert, DimShuffle, IdxEntry, Op, ScalarOp};

use super::local::{each_node, is_constant, producer, uniform_constant};

pub fn local_useless_cast(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| match &fg.nodes[n].op {
        Op::Elemwise(e) if matches!(e.scalar_op, ScalarOp::Cast(_)) => {
            Ok(Some(fg.nodes[n].inputs[0]))
        }
        _ => Ok(None),
    })
}

pub fn local_useless_dimshuffle(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| match &fg.nodes[n].op {
        Op::DimShuffle(d) if d.is_identity() => Ok(Some(fg.nodes[n].inputs[0])),
        _ => Ok(None),
    })
}

/// `DimShuffle{outer}(DimShuffle{inner}(x))` → `DimShuffle{outer ∘ inner}(x)`.
pub fn local_dimshuffle_dimshuffle(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| {
        let Op::DimShuffle(outer) = &fg.nodes[n].op else {
            return Ok(None);
        };
        let Some((Op::DimShuffle(inner), inner_inputs)) = producer(fg, fg.nodes[n].inputs[0])
        else {
            return Ok(None);
        };
        let x = inner_inputs[0];
        let order: Vec<Option<usize>> = outer
            .new_order
            .iter()
            .map(|d| d.and_then(|j| inner.new_order[j]))
            .collect();
        let inplace = outer.inplace;
        let bcast = fg.vars[x].ty.broadcastable();
        let Ok(merged) = DimShuffle::new(&bcast, order, inplace) else {
            return Ok(None);
        };
        if merged.is_identity() {
            return Ok(Some(x));
        }
        Ok(Some(fg.add_node(Op::DimShuffle(merged), vec![x])?[0]))
    })
}

/// Whether `dim` is `x.shape[k]` (`Shape_i{k}(x)`, or 1 where `x` is
/// broadcastable there).
fn is_shape_of(fg: &FunctionGraph, dim: VarId, x: VarId, k: usize) -> bool {
    if fg.vars[x].ty.broadcastable()[k] && is_constant(fg, dim, 1.0) {
        return true;
    }
    matches!(producer(fg, dim), Some((Op::ShapeI(i), ins)) if *i == k && ins[0] == x)
}

pub fn local_useless_reshape(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| {
        let Op::Reshape(ndim) = fg.nodes[n].op else {
            return Ok(None);
        };
        let (x, shape) = (fg.nodes[n].inputs[0], fg.nodes[n].inputs[1]);
        let x_ndim = fg.vars[x].ty.ndim();
        if ndim != x_ndim {
            return Ok(None);
        }
        // A vector reshaped to a vector keeps its length.
        if ndim == 1 {
            return Ok(Some(x));
        }
        let same = match producer(fg, shape) {
            Some((Op::Shape, ins)) => ins[0] == x,
            Some((Op::MakeVector(_), dims)) => {
                dims.len() == ndim
                    && dims
                        .iter()
                        .enumerate()
                        .all(|(k, &d)| is_shape_of(fg, d, x, k))
            }
            _ => false,
        };
        Ok(same.then_some(x))
    })
}

pub fn local_useless_subtensor(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| {
        let Op::Subtensor(s) = &fg.nodes[n].op else {
            return Ok(None);
        };
        let full = s.idx_list.iter().all(|e| {
            matches!(
                e,
                IdxEntry::Slice {
                    start: None,
                    stop: None,
                    step: None
                }
            )
        });
        Ok(full.then(|| fg.nodes[n].inputs[0]))
    })
}

pub fn local_useless_rebroadcast(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| match &fg.nodes[n].op {
        Op::Rebroadcast(_) => Ok(Some(fg.nodes[n].inputs[0])),
        _ => Ok(None),
    })
}

/// `Assert(x, c_1, ..., c_k)` without its conditions that are non-zero
/// constants; `x` itself when none is left.
pub fn local_remove_useless_assert(fg: &mut FunctionGraph) -> Result<bool> {
    each_node(fg, |fg, n| {
        let Op::Assert(Assert { msg }) = &fg.nodes[n].op else {
            return Ok(None);
        };
        let inputs = &fg.nodes[n].inputs;
        let open: Vec<VarId> = inputs[1..]
            .iter()
            .copied()
            .filter(|&c| uniform_constant(fg, c).is_none_or(|v| v == 0.0))
            .collect();
        if open.len() + 1 == inputs.len() {
            return Ok(None);
        }
        if open.is_empty() {
            return Ok(Some(inputs[0]));
        }
        let op = Op::Assert(Assert { msg: msg.clone() });
        let mut kept = vec![inputs[0]];
        kept.extend(open);
        Ok(Some(fg.add_node(op, kept)?[0]))
    })
}
