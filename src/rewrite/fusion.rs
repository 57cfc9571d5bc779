//! Elementwise fusion (Theano's `fusion` / `local_elemwise_fusion`): a tree
//! of elementwise nodes whose intermediate results nobody else reads becomes
//! one `Elemwise{Composite{...}}` node, which computes it in one pass over
//! the output with no full-size temporaries.
//!
//! A producer is absorbed into its consumer's composite when it is an
//! elementwise node (or a composite) with one output that is no graph output,
//! every reader of that output is already in the composite, and the output
//! has the consumer's broadcastable pattern (so nothing computed is
//! recomputed along a broadcast axis). Inputs of the composite are numbered
//! in the order a left-to-right walk from the root meets them, as Theano's
//! repeated one-level fusion numbers them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use smallvec::SmallVec;

use crate::error::Result;
use crate::function::fgraph::{FunctionGraph, NodeId, VarId};
use crate::ops::Op;
use crate::ops::composite::{Composite, ExprArg, ExprNode};

/// The scalar graph of an elementwise node, over its own inputs.
fn scalar_graph(op: &Op, dtype: crate::dtype::DType) -> Option<Vec<ExprNode>> {
    match op {
        Op::Elemwise(e) => Some(vec![ExprNode {
            op: e.scalar_op,
            args: (0..e.scalar_op.arity()).map(ExprArg::Input).collect(),
            dtype,
        }]),
        Op::Composite(c) => Some(c.nodes.clone()),
        _ => None,
    }
}

/// An elementwise node the kernels can run (one tensor output, no complex).
fn fusable(fg: &FunctionGraph, n: NodeId) -> bool {
    let node = &fg.nodes[n];
    if !matches!(node.op, Op::Elemwise(_) | Op::Composite(_)) || node.outputs.len() != 1 {
        return false;
    }
    let real = |v: &VarId| {
        let ty = &fg.vars[*v].ty;
        ty.tensor().is_some() && !ty.dtype().is_complex()
    };
    node.inputs.iter().all(real) && node.outputs.iter().all(real)
}

pub fn elemwise_fusion(fg: &mut FunctionGraph) -> Result<bool> {
    let order = fg.toposort();
    let clients = fg.clients();
    let graph_outputs: HashSet<VarId> = fg.outputs.iter().copied().collect();
    let mut absorbed = vec![false; fg.nodes.len()];
    let mut changed = false;
    for &root in order.iter().rev() {
        if absorbed[root] || !fusable(fg, root) {
            continue;
        }
        let root_out = fg.nodes[root].outputs[0];
        let bcast = fg.vars[root_out].ty.broadcastable();
        let mut members: HashSet<NodeId> = HashSet::from([root]);
        let mut frontier: Vec<NodeId> = vec![root];
        // Candidates refused only because a reader was not in yet are tried
        // again whenever the composite grows.
        loop {
            let mut grew = false;
            let scan: Vec<NodeId> = frontier.clone();
            for m in scan {
                for &v in &fg.nodes[m].inputs {
                    let Some((p, _)) = fg.owner(v) else { continue };
                    if members.contains(&p)
                        || absorbed[p]
                        || !fusable(fg, p)
                        || graph_outputs.contains(&v)
                        || fg.vars[v].ty.broadcastable() != bcast
                    {
                        continue;
                    }
                    let readers_inside = clients
                        .get(&v)
                        .is_some_and(|cs| cs.iter().all(|(c, _)| members.contains(c)));
                    if readers_inside {
                        members.insert(p);
                        frontier.push(p);
                        grew = true;
                    }
                }
            }
            if !grew {
                break;
            }
        }
        if members.len() < 2 {
            continue;
        }
        let Some((composite, leaves)) = build(fg, root, &members) else {
            continue;
        };
        let new_out = fg.add_node(Op::Composite(Arc::new(composite)), leaves)?[0];
        if fg.vars[new_out].ty != fg.vars[root_out].ty {
            continue;
        }
        fg.replace(root_out, new_out);
        for m in members {
            absorbed[m] = true;
        }
        changed = true;
    }
    Ok(changed)
}

/// The composite of `members` (rooted at `root`) and its input variables.
/// None when the kernels cannot run it (then nothing is fused).
fn build(
    fg: &FunctionGraph,
    root: NodeId,
    members: &HashSet<NodeId>,
) -> Option<(Composite, Vec<VarId>)> {
    let mut leaves: Vec<VarId> = Vec::new();
    let mut leaf_index: HashMap<VarId, usize> = HashMap::new();
    let mut nodes: Vec<ExprNode> = Vec::new();
    // The expression node computing each fused variable.
    let mut done: HashMap<VarId, usize> = HashMap::new();
    let inner = |v: VarId| fg.owner(v).map(|(n, _)| n).filter(|n| members.contains(n));
    let root_out = fg.nodes[root].outputs[0];
    let mut stack: Vec<(VarId, bool)> = vec![(root_out, false)];
    while let Some((v, expanded)) = stack.pop() {
        let Some(n) = inner(v) else {
            if let std::collections::hash_map::Entry::Vacant(e) = leaf_index.entry(v) {
                e.insert(leaves.len());
                leaves.push(v);
            }
            continue;
        };
        if done.contains_key(&v) {
            continue;
        }
        if !expanded {
            stack.push((v, true));
            for &i in fg.nodes[n].inputs.iter().rev() {
                stack.push((i, false));
            }
            continue;
        }
        let args: SmallVec<[ExprArg; 3]> = fg.nodes[n]
            .inputs
            .iter()
            .map(|i| match done.get(i) {
                Some(&k) => ExprArg::Node(k),
                None => ExprArg::Input(leaf_index[i]),
            })
            .collect();
        let graph = scalar_graph(&fg.nodes[n].op, fg.vars[v].ty.dtype())?;
        let base = nodes.len();
        for node in graph {
            nodes.push(ExprNode {
                op: node.op,
                args: node
                    .args
                    .iter()
                    .map(|a| match *a {
                        ExprArg::Input(i) => args[i],
                        ExprArg::Node(j) => ExprArg::Node(base + j),
                    })
                    .collect(),
                dtype: node.dtype,
            });
        }
        done.insert(v, nodes.len() - 1);
    }
    let dtypes = leaves.iter().map(|&v| fg.vars[v].ty.dtype()).collect();
    let composite = Composite::new(dtypes, nodes).ok()?;
    Some((composite, leaves))
}
