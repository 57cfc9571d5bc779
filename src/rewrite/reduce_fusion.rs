//! `local_careduce_fusion` (PyTensor's name): a Sum, Prod, Mean, Max or Min
//! whose input is an elementwise node (or a fused composite) that nobody
//! else reads becomes one `ReduceComposite` node, which evaluates the
//! expression block by block and reduces each block, so the
//! expression's full-size result is never made: `sum(W ** 2)` reads W once
//! and writes nothing but the sum.
//!
//! Runs in the fusion stage after `local_elemwise_fusion`, so the
//! expression is already one composite. Not fused: an elementwise output
//! with another client or that is a graph output, complex or float16
//! values, and All/Any.

use std::collections::HashSet;

use crate::dtype::DType;
use crate::error::Result;
use crate::function::fgraph::{FunctionGraph, VarId};
use crate::ops::composite::{Composite, ExprArg, ExprNode};
use crate::ops::reduce_composite::ReduceComposite;
use crate::ops::reduce_kernels;
use crate::ops::{Op, ReduceKind};

use super::local::each_node;

/// The composite computing `v` and its producer's inputs, when `v` is the
/// only output of an elementwise node on real tensors.
fn expression(fg: &FunctionGraph, v: VarId) -> Option<(Composite, Vec<VarId>)> {
    let (n, _) = fg.owner(v)?;
    let node = &fg.nodes[n];
    if node.outputs.len() != 1 {
        return None;
    }
    let real = |v: &VarId| {
        let ty = &fg.vars[*v].ty;
        ty.tensor().is_some() && !ty.dtype().is_complex() && ty.dtype() != DType::Float16
    };
    if !node.inputs.iter().all(real) || !real(&v) {
        return None;
    }
    let dtypes: Vec<DType> = node.inputs.iter().map(|&i| fg.vars[i].ty.dtype()).collect();
    let nodes = match &node.op {
        Op::Elemwise(e) => vec![ExprNode {
            op: e.scalar_op,
            args: (0..e.scalar_op.arity()).map(ExprArg::Input).collect(),
            dtype: fg.vars[v].ty.dtype(),
        }],
        Op::Composite(c) => c.nodes.clone(),
        _ => return None,
    };
    let composite = Composite::new(dtypes, nodes).ok()?;
    Some((composite, node.inputs.clone()))
}

pub fn local_careduce_fusion(fg: &mut FunctionGraph) -> Result<bool> {
    // Computed once: replacements made during the pass only make these
    // counts too high (the dead elementwise node still counts), never too low.
    let clients = fg.clients();
    let graph_outputs: HashSet<VarId> = fg.outputs.iter().copied().collect();
    each_node(fg, |fg, n| {
        let Op::Reduce(r) = &fg.nodes[n].op else {
            return Ok(None);
        };
        if matches!(r.kind, ReduceKind::All | ReduceKind::Any) {
            return Ok(None);
        }
        let x = fg.nodes[n].inputs[0];
        let only_reader = clients.get(&x).is_some_and(|cs| cs.len() == 1);
        if !only_reader || graph_outputs.contains(&x) {
            return Ok(None);
        }
        let Some((composite, inputs)) = expression(fg, x) else {
            return Ok(None);
        };
        if !reduce_kernels::supported(composite.out_dtype()) {
            return Ok(None);
        }
        let op = Op::ReduceComposite(Box::new(ReduceComposite {
            reduce: r.clone(),
            composite,
        }));
        Ok(Some(fg.add_node(op, inputs)?[0]))
    })
}
