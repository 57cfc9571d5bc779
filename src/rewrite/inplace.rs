//! The destroy handler and the `inplace` rewrite (Theano's `DestroyHandler`
//! and `inplace_elemwise_optimizer`, `local_inplace_setsubtensor`...).
//!
//! The rewrite runs last in FAST_RUN (after fusion and output protection;
//! never in FAST_COMPILE). It walks the schedule the VM will run and turns a
//! node into its [`Inplace`] variant, writing its output over input `i`,
//! only when the handler proves it safe:
//! - (a) the memory of input `i` (its root, following `view_map` and earlier
//!   `destroy_map` entries) was computed by the graph: never a constant, a
//!   shared variable's value, or a user input unless it was declared
//!   `In(x, mutable=True)`;
//! - (b) no node after this one reads that root or any alias of it, this
//!   node reads it through no other input, and no function output is it or
//!   an alias of it;
//! - (c) the output has input `i`'s dtype and broadcastable pattern (the
//!   op does not broadcast it to a bigger shape).
//!
//! One more node may write over a shared variable's value (Theano's
//! update in place: `W - lr * dot(x.T, g)` becomes `Gemm{inplace}` over `W`):
//! a node whose only output is the update of that same shared variable and
//! is read by nothing else, that reads the value through no other input,
//! when no function output is the value or a view of it. It is moved to the
//! end of the schedule, so that every other reader has run and every node
//! that could fail has succeeded before the value changes: a call that fails
//! still changes nothing. Only one per function (the largest value when
//! compiled), since a second could fail after the first wrote. At run time
//! the VM writes over the value only while the container and the call are
//! its sole holders (`SharedContainer::write_over`).
//!
//! Only ops change (no node or variable is added), so the schedule checked
//! here is the graph's toposort, with that one node moved last; it is
//! recorded on the graph (`FunctionGraph::schedule`) and the VM links in
//! exactly that order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::error::Result;
use crate::function::fgraph::{FVarKind, FunctionGraph, NodeId, VarId};
use crate::graph::SharedContainer;
use crate::ops::{Inplace, Op};
use crate::types::Type;

/// The variable whose memory `v` may share: follows `view_map` and
/// `destroy_map` back through the nodes that made it.
pub fn memory_root(fg: &FunctionGraph, mut v: VarId) -> VarId {
    while let Some((n, k)) = fg.owner(v) {
        let op = &fg.nodes[n].op;
        match op.view_of(k).or_else(|| op.destroys(k)) {
            Some(i) => v = fg.nodes[n].inputs[i],
            None => break,
        }
    }
    v
}

/// The facts the handler checks a candidate against.
struct Handler<'a> {
    fg: &'a FunctionGraph,
    /// Position of each scheduled node.
    pos: HashMap<NodeId, usize>,
    /// Readers of each variable: (position, node, input index).
    readers: HashMap<VarId, Vec<(usize, NodeId, usize)>>,
    outputs: HashSet<VarId>,
    /// Variables sharing each root's memory, made so far in schedule order.
    members: HashMap<VarId, Vec<VarId>>,
    mutable_inputs: &'a [bool],
}

impl Handler<'_> {
    /// Whether node `n` may write its output over input `i`.
    fn may_destroy(&self, n: NodeId, i: usize, root_of: &HashMap<VarId, VarId>) -> bool {
        let fg = self.fg;
        let node = &fg.nodes[n];
        let input = node.inputs[i];
        let root = root_of.get(&input).copied().unwrap_or(input);
        // (a) whose memory it is.
        let owned = match &fg.vars[root].kind {
            FVarKind::Output { .. } => true,
            FVarKind::Input(k) => self.mutable_inputs.get(*k).copied().unwrap_or(false),
            _ => false,
        };
        if !owned {
            return false;
        }
        // (b) nobody reads it after this node, nor beside it, nor as an output.
        let here = self.pos[&n];
        let empty = Vec::new();
        for &w in self.members.get(&root).unwrap_or(&empty) {
            if self.outputs.contains(&w) {
                return false;
            }
            for &(p, reader, j) in self.readers.get(&w).map(|r| &r[..]).unwrap_or(&[]) {
                if p > here || (reader == n && !(w == input && j == i)) {
                    return false;
                }
            }
        }
        true
    }

    /// The input of node `n` (the node that computes update `o` of shared
    /// variable `c`) it may write over when it runs last: `c`'s own value,
    /// read through no other input, with no function output among its views
    /// and nobody reading `o` but the update.
    fn may_update_in_place(
        &self,
        n: NodeId,
        o: VarId,
        c: &Arc<SharedContainer>,
        root_of: &HashMap<VarId, VarId>,
    ) -> Option<usize> {
        let fg = self.fg;
        let node = &fg.nodes[n];
        if node.outputs[..] != [o]
            || self.readers.contains_key(&o)
            || fg.outputs.iter().filter(|&&x| x == o).count() != 1
        {
            return None;
        }
        let ins: Vec<&Type> = node.inputs.iter().map(|&v| &fg.vars[v].ty).collect();
        let outs = [&fg.vars[o].ty];
        Inplace::candidates(&node.op, &ins, &outs)
            .into_iter()
            .find(|&i| {
                let input = node.inputs[i];
                let root = root_of.get(&input).copied().unwrap_or(input);
                let FVarKind::Shared(owner) = &fg.vars[root].kind else {
                    return false;
                };
                let empty = Vec::new();
                Arc::ptr_eq(owner, c)
                    && self.members.get(&root).unwrap_or(&empty).iter().all(|&w| {
                        (w == o || !self.outputs.contains(&w))
                            && self.readers.get(&w).is_none_or(|r| {
                                r.iter()
                                    .all(|&(_, reader, j)| reader != n || (w == input && j == i))
                            })
                    })
            })
    }
}

/// The inplace rewrite; `mutable_inputs[k]` tells whether explicit input
/// `k` was declared `In(mutable=True)`, and the graph's outputs from
/// `n_outputs` on are the values of `fg.updated_shared`, in order. Returns
/// whether it changed the graph.
pub fn insert_inplace(
    fg: &mut FunctionGraph,
    mutable_inputs: &[bool],
    n_outputs: usize,
) -> Result<bool> {
    let mut order = fg.toposort();
    let mut handler = Handler {
        fg,
        pos: order.iter().enumerate().map(|(p, &n)| (n, p)).collect(),
        readers: HashMap::new(),
        outputs: fg.outputs.iter().copied().collect(),
        members: HashMap::new(),
        mutable_inputs,
    };
    for (p, &n) in order.iter().enumerate() {
        for (j, &v) in fg.nodes[n].inputs.iter().enumerate() {
            handler.readers.entry(v).or_default().push((p, n, j));
            if fg.owner(v).is_none() {
                let members = handler.members.entry(v).or_default();
                if !members.contains(&v) {
                    members.push(v);
                }
            }
        }
    }
    let mut chosen: Vec<(NodeId, usize)> = Vec::new();
    // The root of each variable made so far (decisions change later roots).
    let mut root_of: HashMap<VarId, VarId> = HashMap::new();
    for &n in &order {
        let node = &fg.nodes[n];
        let ins: Vec<&Type> = node.inputs.iter().map(|&v| &fg.vars[v].ty).collect();
        let outs: Vec<&Type> = node.outputs.iter().map(|&v| &fg.vars[v].ty).collect();
        let pick = Inplace::candidates(&node.op, &ins, &outs)
            .into_iter()
            .find(|&i| handler.may_destroy(n, i, &root_of));
        if let Some(i) = pick {
            chosen.push((n, i));
        }
        // Roots of this node's outputs, as the VM will alias them.
        for (k, &o) in node.outputs.iter().enumerate() {
            let source = match pick {
                Some(i) if k == 0 => Some(i),
                _ => node.op.view_of(k).or_else(|| node.op.destroys(k)),
            };
            let root = match source {
                Some(i) => {
                    let v = node.inputs[i];
                    root_of.get(&v).copied().unwrap_or(v)
                }
                None => o,
            };
            root_of.insert(o, root);
            handler.members.entry(root).or_default().push(o);
        }
    }
    // The update written over its shared variable: the largest value.
    let mut in_place: Option<(usize, NodeId, usize)> = None;
    for (j, c) in fg.updated_shared.iter().enumerate() {
        let Some(&o) = fg.outputs.get(n_outputs + j) else {
            continue;
        };
        let Some((n, _)) = fg.owner(o) else {
            continue;
        };
        if chosen.iter().any(|&(m, _)| m == n) {
            continue;
        }
        if let Some(i) = handler.may_update_in_place(n, o, c, &root_of)
            && in_place.is_none_or(|(size, _, _)| c.size() > size)
        {
            in_place = Some((c.size(), n, i));
        }
    }
    drop(handler);
    if let Some((_, n, i)) = in_place {
        chosen.push((n, i));
        order.retain(|&m| m != n);
        order.push(n);
    }
    let changed = !chosen.is_empty();
    for (n, i) in chosen {
        let op = std::mem::replace(&mut fg.nodes[n].op, Op::DeepCopy);
        fg.nodes[n].op = Op::Inplace(Inplace::new(op, i));
    }
    fg.schedule = Some(order);
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::ops::{Elemwise, ScalarOp};
    use crate::types::TensorType;

    fn vector() -> Type {
        Type::Tensor(TensorType::new(DType::Float64, &[false]))
    }

    fn unary(fg: &mut FunctionGraph, op: ScalarOp, x: VarId) -> VarId {
        fg.add_node(Op::Elemwise(Elemwise { scalar_op: op }), vec![x])
            .unwrap()[0]
    }

    fn destroyed(fg: &FunctionGraph, v: VarId) -> Option<usize> {
        let (n, k) = fg.owner(v)?;
        fg.nodes[n].op.destroys(k)
    }

    #[test]
    fn an_intermediate_read_by_nobody_later_is_written_over_but_an_input_is_not() {
        let mut fg = FunctionGraph::default();
        let x = fg.add_leaf(vector(), FVarKind::Input(0), Some("x".into()), None);
        let e = unary(&mut fg, ScalarOp::Exp, x);
        let g = unary(&mut fg, ScalarOp::Neg, e);
        fg.outputs = vec![g];
        assert!(insert_inplace(&mut fg, &[false], 1).unwrap());
        assert_eq!(destroyed(&fg, e), None);
        assert_eq!(destroyed(&fg, g), Some(0));
        assert_eq!(fg.op_name(fg.owner(g).unwrap().0), "Elemwise{Neg}[(0, 0)]");
        assert_eq!(fg.schedule, Some(fg.toposort()));
    }

    #[test]
    fn a_mutable_input_may_be_written_over() {
        let mut fg = FunctionGraph::default();
        let x = fg.add_leaf(vector(), FVarKind::Input(0), Some("x".into()), None);
        let e = unary(&mut fg, ScalarOp::Exp, x);
        fg.outputs = vec![e];
        insert_inplace(&mut fg, &[true], 1).unwrap();
        assert_eq!(destroyed(&fg, e), Some(0));
    }

    #[test]
    fn a_value_that_is_an_output_or_read_later_is_kept() {
        let mut fg = FunctionGraph::default();
        let x = fg.add_leaf(vector(), FVarKind::Input(0), Some("x".into()), None);
        let e = unary(&mut fg, ScalarOp::Exp, x);
        let g = unary(&mut fg, ScalarOp::Neg, e);
        let h = unary(&mut fg, ScalarOp::Tanh, e);
        fg.outputs = vec![g, h];
        insert_inplace(&mut fg, &[false], 1).unwrap();
        // `g` runs first and `h` reads `e` after it; `h`, the last reader, may.
        assert_eq!(destroyed(&fg, g), None);
        assert_eq!(destroyed(&fg, h), Some(0));
        let mut fg2 = FunctionGraph::default();
        let x = fg2.add_leaf(vector(), FVarKind::Input(0), None, None);
        let e = unary(&mut fg2, ScalarOp::Exp, x);
        let g = unary(&mut fg2, ScalarOp::Neg, e);
        fg2.outputs = vec![g, e];
        insert_inplace(&mut fg2, &[false], 1).unwrap();
        assert_eq!(destroyed(&fg2, g), None);
    }

    #[test]
    fn a_value_read_twice_by_the_node_is_kept() {
        let mut fg = FunctionGraph::default();
        let x = fg.add_leaf(vector(), FVarKind::Input(0), None, None);
        let e = unary(&mut fg, ScalarOp::Exp, x);
        let m = fg
            .add_node(
                Op::Elemwise(Elemwise {
                    scalar_op: ScalarOp::Mul,
                }),
                vec![e, e],
            )
            .unwrap()[0];
        fg.outputs = vec![m];
        insert_inplace(&mut fg, &[false], 1).unwrap();
        assert_eq!(destroyed(&fg, m), None);
    }
}
