//! Merge of matrix products that share an operand (the LSTM's four gates):
//! `dot(x, W_1) ... dot(x, W_k)` becomes one `dot(x, Join(1, W_1, ..., W_k))`
//! whose column slices (`Subtensor{::, a:b}`) are the original results, and
//! the mirrored `dot(W_1, x) ... dot(W_k, x)` becomes
//! `dot(Join(0, W_1, ..., W_k), x)` sliced by rows. One larger product
//! reads `x` once and keeps the GEMM busy, instead of k small ones.
//!
//! When two such groups are only ever added product to product, as an
//! LSTM's gates add `dot(x, W_i) + dot(h, U_i)`, the sums themselves become
//! slices of one `dot(x, Join(W_i)) + dot(h, Join(U_i))`, guarded by an
//! `Assert` that each `W_i` and `U_i` have one length along the joined axis.
//! The gemm rewrite turns that sum into one `Gemm` accumulating into the
//! other product, which is the graph of the hand-merged LSTM; slicing each
//! product and adding the slices would read both products once more.
//!
//! Where it pays, and so where it is applied:
//! - in a function's graph, when every `W_i` is a constant (the `Join` is
//!   folded at compile time) or a shared variable (the linker keeps the
//!   `Join` of shared values and recomputes it only when one of them has
//!   changed, see `vm.rs`), so the concatenation costs nothing per call;
//!   not when the function updates one of those shared variables (the
//!   `Join` would then be recomputed on every call, as below);
//! - in a scan body ([`merge_in_loop_body`], called by `scan_pushout`), when
//!   every `W_i` is loop-invariant (a non-sequence, a constant, or computed
//!   from those only): `scan_pushout` then moves the `Join` out of the loop
//!   as a new non-sequence, so it runs once per call and each step makes one
//!   product.
//!
//! It is not applied when a `W_i` is computed per call from explicit inputs
//! or intermediate results (outside a loop): the `Join` would then copy all
//! of the `W_i` on every call, as much memory traffic as the products' own
//! reads of them, and whether the saving in the products outweighs it
//! depends on the number of rows of `x`, which is not known when compiling.
//! Nor when the `W_i` differ in dtype or broadcastable pattern, when the
//! joined axis is broadcastable, or when their current values (constants,
//! shared variables) disagree on the shared dimension.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::dtype::DType;
use crate::error::Result;
use crate::function::fgraph::{FVarKind, FunctionGraph, NodeId, VarId};
use crate::memory::Tensor;
use crate::ops::{Assert, IdxEntry, Op, ScalarOp, Subtensor};
use crate::types::Type;

use super::local::{elemwise, int64_scalar};

/// Which operand of `dot` the products share.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Side {
    /// `dot(x, W_i)`: the `W_i` are joined along their columns.
    Left,
    /// `dot(W_i, x)`: the `W_i` are joined along their rows.
    Right,
}

impl Side {
    /// The axis of the `W_i` (and of the product) that is joined and sliced.
    fn axis(self) -> usize {
        match self {
            Side::Left => 1,
            Side::Right => 0,
        }
    }
}

/// One product of a group: its node, its `W`, its result.
struct Product {
    node: NodeId,
    w: VarId,
    out: VarId,
}

/// The pass registered in FAST_RUN: merges products whose `W_i` are
/// constants or shared variables that the function does not update.
pub fn merge_shared_operand_products(fg: &mut FunctionGraph) -> Result<bool> {
    let eligible: Vec<bool> = fg
        .vars
        .iter()
        .map(|v| match &v.kind {
            FVarKind::Constant(_) => true,
            FVarKind::Shared(c) => !fg.updated_shared.iter().any(|u| Arc::ptr_eq(u, c)),
            _ => false,
        })
        .collect();
    merge_products(fg, &eligible)
}

/// The same merge in a scan body whose inputs `invariant` (the
/// non-sequences) do not change from step to step: `W_i` computed from them
/// and from constants only qualify, and the `Join` of them is left for
/// `scan_pushout` to move out of the loop.
pub fn merge_in_loop_body(fg: &mut FunctionGraph, invariant: &[VarId]) -> Result<bool> {
    let mut eligible: Vec<bool> = fg
        .vars
        .iter()
        .map(|v| matches!(v.kind, FVarKind::Constant(_)))
        .collect();
    for &v in invariant {
        eligible[v] = true;
    }
    for n in fg.toposort() {
        let node = &fg.nodes[n];
        if node.op.is_foldable()
            && !node.inputs.is_empty()
            && node.inputs.iter().all(|&i| eligible[i])
        {
            for &o in &node.outputs {
                eligible[o] = true;
            }
        }
    }
    merge_products(fg, &eligible)
}

/// The current value of a leaf, when it has one (constants, shared variables).
fn known_value(fg: &FunctionGraph, v: VarId) -> Option<Tensor> {
    match &fg.vars[v].kind {
        FVarKind::Constant(t) => Some(t.clone()),
        FVarKind::Shared(c) => Some(c.get()),
        _ => None,
    }
}

fn merge_products(fg: &mut FunctionGraph, eligible: &[bool]) -> Result<bool> {
    let groups = candidate_groups(fg, eligible);
    let pairs = summed_pairs(fg, &groups);
    let mut merged: HashSet<NodeId> = HashSet::new();
    let mut changed = false;
    let untouched =
        |merged: &HashSet<NodeId>, g: &Group| g.products.iter().all(|p| !merged.contains(&p.node));
    for pair in &pairs {
        let (first, second) = (&groups[pair.first], &groups[pair.second]);
        if !untouched(&merged, first) || !untouched(&merged, second) {
            continue;
        }
        if replace_pair(fg, first, second, pair)? {
            merged.extend(first.products.iter().map(|p| p.node));
            merged.extend(second.products.iter().map(|p| p.node));
            changed = true;
        }
    }
    for group in &groups {
        if untouched(&merged, group) && replace_group(fg, group)? {
            merged.extend(group.products.iter().map(|p| p.node));
            changed = true;
        }
    }
    Ok(changed)
}

/// Products sharing the operand `x` on one side, with `W_i` that can be joined.
struct Group {
    x: VarId,
    side: Side,
    products: Vec<Product>,
}

/// The groups worth merging: at least two products, one per distinct `W`
/// (equal products are the merge pass's), with `W_i` that can be joined.
fn candidate_groups(fg: &FunctionGraph, eligible: &[bool]) -> Vec<Group> {
    let mut groups: BTreeMap<(VarId, Side), Vec<Product>> = BTreeMap::new();
    for n in fg.toposort() {
        let node = &fg.nodes[n];
        let (Op::Dot, &[a, b]) = (&node.op, &node.inputs[..]) else {
            continue;
        };
        let out = node.outputs[0];
        for (x, w, side) in [(a, b, Side::Left), (b, a, Side::Right)] {
            let (xt, wt) = (&fg.vars[x].ty, &fg.vars[w].ty);
            let fits = eligible[w]
                && fg.constant(x).is_none()
                && matches!((xt, wt), (Type::Tensor(_), Type::Tensor(_)))
                && wt.ndim() == 2
                && matches!(xt.ndim(), 1 | 2)
                && !wt.broadcastable()[side.axis()];
            if fits {
                groups
                    .entry((x, side))
                    .or_default()
                    .push(Product { node: n, w, out });
            }
        }
    }
    groups
        .into_iter()
        .filter_map(|((x, side), products)| {
            let mut seen = HashSet::new();
            let products: Vec<Product> =
                products.into_iter().filter(|p| seen.insert(p.w)).collect();
            let group = Group { x, side, products };
            (group.products.len() >= 2 && compatible(fg, &group)).then_some(group)
        })
        .collect()
}

/// The `W_i` can be joined: one dtype, one broadcastable pattern, and known
/// values agreeing on the dimension the product contracts.
fn compatible(fg: &FunctionGraph, group: &Group) -> bool {
    let first = &fg.vars[group.products[0].w].ty;
    if group.products.iter().any(|p| fg.vars[p.w].ty != *first) {
        return false;
    }
    let contracted = 1 - group.side.axis();
    let lengths: HashSet<usize> = group
        .products
        .iter()
        .filter_map(|p| known_value(fg, p.w))
        .map(|t| t.shape[contracted])
        .collect();
    lengths.len() <= 1
}

/// Two groups whose products are only ever added one to one, as an LSTM's
/// gates add `dot(x, W_i) + dot(h, U_i)`: `sums[i]` is the sum of product
/// `i` of the first group and product `partner[i]` of the second.
struct SummedPair {
    first: usize,
    second: usize,
    partner: Vec<usize>,
    sums: Vec<VarId>,
}

/// The pairs of groups (on one side) where every product is read by exactly
/// one `add` whose other operand is a product of the other group, read by
/// that `add` only, and neither is an output of the graph.
fn summed_pairs(fg: &FunctionGraph, groups: &[Group]) -> Vec<SummedPair> {
    let clients = fg.clients();
    let only_reader = |v: VarId| -> Option<NodeId> {
        match clients.get(&v).map(Vec::as_slice) {
            Some(&[(n, _)]) if !fg.outputs.contains(&v) => Some(n),
            _ => None,
        }
    };
    let mut position: HashMap<VarId, (usize, usize)> = HashMap::new();
    for (g, group) in groups.iter().enumerate() {
        for (i, p) in group.products.iter().enumerate() {
            position.insert(p.out, (g, i));
        }
    }
    let mut pairs = Vec::new();
    for (first, group) in groups.iter().enumerate() {
        let mut second = None;
        let mut partner = Vec::new();
        let mut sums = Vec::new();
        for p in &group.products {
            let Some(n) = only_reader(p.out) else { break };
            let node = &fg.nodes[n];
            let is_add = matches!(&node.op, Op::Elemwise(e) if e.scalar_op == ScalarOp::Add);
            let other = match node.inputs[..] {
                [a, b] if is_add && a == p.out && b != p.out => b,
                [a, b] if is_add && b == p.out && a != p.out => a,
                _ => break,
            };
            let Some(&(g, i)) = position.get(&other) else {
                break;
            };
            if g == first
                || groups[g].side != group.side
                || only_reader(other) != Some(n)
                || *second.get_or_insert(g) != g
            {
                break;
            }
            partner.push(i);
            sums.push(node.outputs[0]);
        }
        let complete = sums.len() == group.products.len();
        if let Some(second) = second.filter(|&g| complete && first < g)
            && groups[second].products.len() == sums.len()
        {
            pairs.push(SummedPair {
                first,
                second,
                partner,
                sums,
            });
        }
    }
    pairs
}

/// Replaces the sums of a [`SummedPair`] by slices of one sum of two joined
/// products, `dot(x, Join(W_i)) + dot(h, Join(U_i))`, which the gemm rewrite
/// then turns into one `Gemm` accumulating into the other product. The
/// original sums need `W_i` and `U_i` of one length along the joined axis;
/// the merged sum only checks their totals, so an `Assert` checks the
/// others. Returns false (leaving only unused nodes behind) if a slice's
/// type would not be its sum's.
fn replace_pair(
    fg: &mut FunctionGraph,
    first: &Group,
    second: &Group,
    pair: &SummedPair,
) -> Result<bool> {
    let side = first.side;
    let axis = side.axis();
    let ws: Vec<VarId> = first.products.iter().map(|p| p.w).collect();
    let us: Vec<VarId> = pair.partner.iter().map(|&i| second.products[i].w).collect();
    let a = joined_product(fg, first.x, side, &ws)?;
    let b = joined_product(fg, second.x, side, &us)?;
    let sum = elemwise(fg, ScalarOp::Add, vec![a, b])?;
    let mut guarded_inputs = vec![sum];
    for (&w, &u) in ws.iter().zip(&us).take(ws.len() - 1) {
        let w_len = fg.add_node(Op::ShapeI(axis), vec![w])?[0];
        let u_len = fg.add_node(Op::ShapeI(axis), vec![u])?[0];
        guarded_inputs.push(elemwise(fg, ScalarOp::Eq, vec![w_len, u_len])?);
    }
    let msg = format!(
        "merged sums dot(x, W_i) + dot(h, U_i): W_i and U_i differ in length along axis {axis}"
    );
    let guarded = fg.add_node(Op::Assert(Assert { msg }), guarded_inputs)?[0];
    let slices = slices_of(fg, guarded, side, &ws)?;
    Ok(replace_all(fg, &pair.sums, slices))
}

/// Replaces the products of a group by slices of one joined product.
/// Returns false (leaving only unused nodes behind) if a slice's type
/// would not be its product's.
fn replace_group(fg: &mut FunctionGraph, group: &Group) -> Result<bool> {
    let ws: Vec<VarId> = group.products.iter().map(|p| p.w).collect();
    let product = joined_product(fg, group.x, group.side, &ws)?;
    let slices = slices_of(fg, product, group.side, &ws)?;
    let outs: Vec<VarId> = group.products.iter().map(|p| p.out).collect();
    Ok(replace_all(fg, &outs, slices))
}

/// Replaces each of `olds` by its slice when every slice has its old
/// variable's type; otherwise changes nothing and returns false.
fn replace_all(fg: &mut FunctionGraph, olds: &[VarId], slices: Vec<VarId>) -> bool {
    if olds
        .iter()
        .zip(&slices)
        .any(|(&o, &s)| fg.vars[s].ty != fg.vars[o].ty)
    {
        return false;
    }
    for (&o, s) in olds.iter().zip(slices) {
        fg.replace(o, s);
    }
    true
}

/// `dot(x, Join(1, W_1, ..., W_k))`, or `dot(Join(0, W_1, ..., W_k), x)`.
fn joined_product(fg: &mut FunctionGraph, x: VarId, side: Side, ws: &[VarId]) -> Result<VarId> {
    let axis_var = int64_scalar(fg, side.axis() as i64)?;
    let mut join_inputs = vec![axis_var];
    join_inputs.extend_from_slice(ws);
    let joined = fg.add_node(Op::Join, join_inputs)?[0];
    let operands = match side {
        Side::Left => vec![x, joined],
        Side::Right => vec![joined, x],
    };
    Ok(fg.add_node(Op::Dot, operands)?[0])
}

/// The slices of `v` (a joined product, or a sum of two) along the joined
/// axis, one per `W` of `ws`: slice `i` starts where the lengths of
/// `W_1..W_{i-1}` end.
fn slices_of(fg: &mut FunctionGraph, v: VarId, side: Side, ws: &[VarId]) -> Result<Vec<VarId>> {
    let axis = side.axis();
    let ndim = fg.vars[v].ty.ndim();
    let mut slices = Vec::with_capacity(ws.len());
    let mut start: Option<VarId> = None;
    for (i, &w) in ws.iter().enumerate() {
        let stop = if i + 1 == ws.len() {
            None
        } else {
            let len = fg.add_node(Op::ShapeI(axis), vec![w])?[0];
            Some(match start {
                None => len,
                Some(s) => elemwise(fg, ScalarOp::Add, vec![s, len])?,
            })
        };
        let bound = |b: Option<VarId>| b.map(|_| DType::Int64);
        let entry = IdxEntry::Slice {
            start: bound(start),
            stop: bound(stop),
            step: None,
        };
        // `dot(x, W)` of a matrix x is sliced along its columns, else along
        // its only or first axis.
        let idx_list = if side == Side::Left && ndim == 2 {
            vec![
                IdxEntry::Slice {
                    start: None,
                    stop: None,
                    step: None,
                },
                entry,
            ]
        } else {
            vec![entry]
        };
        let mut inputs = vec![v];
        inputs.extend(start);
        inputs.extend(stop);
        slices.push(fg.add_node(Op::Subtensor(Subtensor { idx_list }), inputs)?[0]);
        start = stop;
    }
    Ok(slices)
}
