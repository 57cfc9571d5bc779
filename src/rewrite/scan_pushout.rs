//! Scan rewrites (SPEC §4.8, §7.4), on each Scan node of a graph:
//! - the inner graph goes through the rewrites itself (once);
//! - once nothing else moves out and the unused outputs are gone, products
//!   sharing an operand against non-sequences are merged
//!   (`product_merge::merge_in_loop_body`), and their `Join` moves out;
//! - loop-invariant work (nodes whose inputs are non-sequences or
//!   constants) is computed once before the loop and enters it as a new
//!   non-sequence, so a shared variable used implicitly and one passed in
//!   `non_sequences` compile to the same loop;
//! - elementwise work on the rows of a sequence (with other operands
//!   invariant) is computed on the whole sequence before the loop and enters
//!   it as a new sequence (`acc + a * W.sum()` keeps only the `add` inside),
//!   and so is the product of a row with an invariant matrix (`dot(x_t, U)`
//!   becomes one `dot(x, U)` before the loop);
//! - outputs nobody uses, and the inputs only they needed, are removed;
//! - the loop is marked as running in place (it writes its states into its
//!   own output buffers), which debugprint shows as `forall_inplace`.

use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::function::fgraph::{FVarKind, FunctionGraph, NodeId, VarId};
use crate::ops::{DimShuffle, Op};
use crate::rewrite::{self, Mode, Optimizer, product_merge};
use crate::scan::{OutputKind, ScanInfo, ScanOp, ScanParts, SeqInfo};

pub fn scan_pushout(fg: &mut FunctionGraph) -> Result<bool> {
    let mut changed = false;
    for n in fg.toposort() {
        let Op::Scan(op) = &fg.nodes[n].op else {
            continue;
        };
        let info = op.0.clone();
        if !info.optimized {
            // The early passes only: fusing the body now would hide the
            // elementwise work on sequences that pushout moves out.
            let mut parts = info.parts();
            let opt = before_blas(inner_optimizer(fg, &info));
            rewrite::optimize_early(&mut parts.fgraph, &opt)?;
            parts.optimized = true;
            fg.nodes[n].op = Op::Scan(ScanOp::new(ScanInfo::new(parts)?));
            changed = true;
            continue;
        }
        let mut plan = Plan::of(fg, n, &info);
        let mut edited = pushout(fg, &info, &mut plan)?;
        edited |= remove_unused_outputs(fg, n, &info, &mut plan);
        edited |= prune_inputs(&info.fgraph, &mut plan);
        if edited {
            plan.rebuild(fg, n, &info)?;
            changed = true;
        } else if !info.inplace {
            let mut parts = info.parts();
            let opt = inner_optimizer(fg, &info);
            // Products on one inner value against several non-sequences
            // become one product of a Join, which the next round moves out.
            // (Only now: the outputs nobody reads are gone, so no product
            // is merged with one computed for nothing.)
            let invariant: Vec<VarId> = info
                .layout
                .non_seq_inner
                .clone()
                .map(|i| info.inner_inputs[i])
                .collect();
            if opt.mode != Mode::FastCompile
                && opt.enabled_by_name("merge_shared_operand_products")
                && product_merge::merge_in_loop_body(&mut parts.fgraph, &invariant)?
            {
                rewrite::optimize_early(&mut parts.fgraph, &before_blas(opt))?;
                fg.nodes[n].op = Op::Scan(ScanOp::new(ScanInfo::new(parts)?));
                changed = true;
                continue;
            }
            // Nothing more moves out: fuse the body and run the loop in place.
            // The BLAS rewrites, which waited for the product merge.
            rewrite::optimize_early(&mut parts.fgraph, &opt)?;
            rewrite::optimize_late(&mut parts.fgraph, &opt)?;
            parts.inplace = true;
            fg.nodes[n].op = Op::Scan(ScanOp::new(ScanInfo::new(parts)?));
            changed = true;
        }
    }
    Ok(changed)
}

/// The rewrites of the inner graph: the outer graph's, in the loop's own
/// mode when it has one.
/// `opt` without the BLAS rewrites: in a loop body they wait until the
/// products sharing an operand are merged (a `Gemv` would hide its product).
fn before_blas(mut opt: Optimizer) -> Optimizer {
    opt.excluding.push("BlasOpt".into());
    opt
}

fn inner_optimizer(fg: &FunctionGraph, info: &ScanInfo) -> Optimizer {
    let mut opt = fg.optimizer.clone();
    if let Some(mode) = info.mode {
        opt.mode = mode;
    }
    opt
}

/// One sequence of the loop being rebuilt.
struct PlanSeq {
    lo: i64,
    hi: i64,
    /// (tap, inner variable of the current inner graph).
    taps: Vec<(i64, VarId)>,
    outer: VarId,
    /// The sequence of the original node this one has the length of.
    origin: usize,
}

/// One output of the loop being rebuilt.
struct PlanOut {
    kind: OutputKind,
    /// Inner variables fed back (taps or the shared state's value).
    inner_in: Vec<VarId>,
    outer_init: Option<VarId>,
    inner_out: VarId,
    /// Its output index on the current node.
    old: usize,
    /// Rows kept (`ScanInfo::keep`).
    keep: Option<usize>,
}

/// A Scan node described in terms of the current inner graph's variables,
/// edited by the rewrites, then rebuilt as a new node.
struct Plan {
    n_steps: Option<VarId>,
    seqs: Vec<PlanSeq>,
    outs: Vec<PlanOut>,
    /// (inner variable, outer variable).
    non_seqs: Vec<(VarId, VarId)>,
    until: Option<VarId>,
}

impl Plan {
    fn of(fg: &FunctionGraph, n: NodeId, info: &ScanInfo) -> Plan {
        let node = &fg.nodes[n];
        let l = &info.layout;
        let inner = |i: usize| info.inner_inputs[i];
        let seqs = info
            .seqs
            .iter()
            .enumerate()
            .map(|(s, si)| PlanSeq {
                lo: si.lo,
                hi: si.hi,
                taps: si
                    .taps
                    .iter()
                    .zip(l.seq_inner[s].clone())
                    .map(|(&t, i)| (t, inner(i)))
                    .collect(),
                outer: node.inputs[l.outer_seq[s]],
                origin: s,
            })
            .collect();
        let outs = info
            .outputs
            .iter()
            .enumerate()
            .map(|(o, kind)| PlanOut {
                kind: kind.clone(),
                inner_in: l.out_inner[o].clone().map(inner).collect(),
                outer_init: l.outer_init[o].map(|k| node.inputs[k]),
                inner_out: info.fgraph.outputs[o],
                old: o,
                keep: info.keep.get(o).copied().flatten(),
            })
            .collect();
        let non_seqs = l
            .non_seq_inner
            .clone()
            .zip(l.outer_non_seq.clone())
            .map(|(i, k)| (inner(i), node.inputs[k]))
            .collect();
        Plan {
            n_steps: info.has_n_steps.then(|| node.inputs[0]),
            seqs,
            outs,
            non_seqs,
            until: info
                .as_while
                .then(|| info.fgraph.outputs[info.outputs.len()]),
        }
    }

    /// The inner variables that become inner inputs, in the layout's order.
    fn inner_inputs(&self) -> Vec<VarId> {
        let mut v: Vec<VarId> = self
            .seqs
            .iter()
            .flat_map(|s| s.taps.iter().map(|t| t.1))
            .collect();
        v.extend(self.outs.iter().flat_map(|o| o.inner_in.iter().copied()));
        v.extend(self.non_seqs.iter().map(|p| p.0));
        v
    }

    fn inner_outputs(&self) -> Vec<VarId> {
        let mut v: Vec<VarId> = self.outs.iter().map(|o| o.inner_out).collect();
        v.extend(self.until);
        v
    }

    /// Makes the new node and points the users of the old outputs at it.
    fn rebuild(&self, fg: &mut FunctionGraph, n: NodeId, info: &ScanInfo) -> Result<()> {
        let inner = extract(&info.fgraph, &self.inner_inputs(), &self.inner_outputs())?;
        let info = ScanInfo::new(ScanParts {
            fgraph: inner,
            has_n_steps: self.n_steps.is_some(),
            seqs: self
                .seqs
                .iter()
                .map(|s| SeqInfo {
                    taps: s.taps.iter().map(|t| t.0).collect(),
                    lo: s.lo,
                    hi: s.hi,
                })
                .collect(),
            outputs: self.outs.iter().map(|o| o.kind.clone()).collect(),
            n_non_seqs: self.non_seqs.len(),
            keep: self.outs.iter().map(|o| o.keep).collect(),
            ..info.parts()
        })?;
        let mut inputs: Vec<VarId> = self.n_steps.into_iter().collect();
        inputs.extend(self.seqs.iter().map(|s| s.outer));
        inputs.extend(self.outs.iter().filter_map(|o| o.outer_init));
        inputs.extend(self.non_seqs.iter().map(|p| p.1));
        let new = fg.add_node(Op::Scan(ScanOp::new(info)), inputs)?;
        let old = fg.nodes[n].outputs.clone();
        for (k, o) in self.outs.iter().enumerate() {
            fg.replace(old[o.old], new[k]);
        }
        Ok(())
    }
}

/// A new graph with `inputs[i]` as its input `i` (any variable of `fg`:
/// cutting there) and the nodes `outputs` need.
fn extract(fg: &FunctionGraph, inputs: &[VarId], outputs: &[VarId]) -> Result<FunctionGraph> {
    let mut new = FunctionGraph::default();
    let mut map: HashMap<VarId, VarId> = HashMap::new();
    for (i, &v) in inputs.iter().enumerate() {
        let var = &fg.vars[v];
        let origin = matches!(var.kind, FVarKind::Input(_))
            .then(|| var.origin.clone())
            .flatten();
        let id = new.add_leaf(var.ty.clone(), FVarKind::Input(i), var.name.clone(), origin);
        map.insert(v, id);
    }
    let mut stack: Vec<(VarId, bool)> = outputs.iter().rev().map(|&o| (o, false)).collect();
    while let Some((v, expanded)) = stack.pop() {
        if map.contains_key(&v) {
            continue;
        }
        let Some((node, _)) = fg.owner(v) else {
            let var = &fg.vars[v];
            let FVarKind::Constant(_) = var.kind else {
                return Err(crate::error::Error::Runtime(format!(
                    "internal error: a scan rewrite left the inner input {} behind",
                    fg.var_text(v)
                )));
            };
            let id = new.add_leaf(
                var.ty.clone(),
                var.kind.clone(),
                var.name.clone(),
                var.origin.clone(),
            );
            map.insert(v, id);
            continue;
        };
        if !expanded {
            stack.push((v, true));
            for &i in fg.nodes[node].inputs.iter().rev() {
                if !map.contains_key(&i) {
                    stack.push((i, false));
                }
            }
            continue;
        }
        let ins: Vec<VarId> = fg.nodes[node].inputs.iter().map(|i| map[i]).collect();
        let outs = new.add_node(fg.nodes[node].op.clone(), ins)?;
        for (&o, &m) in fg.nodes[node].outputs.iter().zip(&outs) {
            new.vars[m].name = fg.vars[o].name.clone();
            map.insert(o, m);
        }
    }
    new.outputs = outputs.iter().map(|o| map[o]).collect();
    Ok(new)
}

/// The variables reachable from `roots`, not going past `cuts`.
fn reachable(fg: &FunctionGraph, roots: &[VarId], cuts: &HashSet<VarId>) -> HashSet<VarId> {
    let mut seen = HashSet::new();
    let mut stack: Vec<VarId> = roots.to_vec();
    while let Some(v) = stack.pop() {
        if !seen.insert(v) || cuts.contains(&v) {
            continue;
        }
        if let Some((node, _)) = fg.owner(v) {
            stack.extend(fg.nodes[node].inputs.iter().copied());
        }
    }
    seen
}

/// How an inner variable relates to the loop.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Depends on the step.
    Step,
    /// The same at every step.
    Invariant,
    /// Elementwise in the rows of plan sequence `s` (tap 0).
    Rows(usize),
}

/// Moves invariant and sequence-elementwise inner work before the loop.
fn pushout(fg: &mut FunctionGraph, info: &ScanInfo, plan: &mut Plan) -> Result<bool> {
    let inner = &info.fgraph;
    let mut class = vec![Class::Step; inner.vars.len()];
    for (v, var) in inner.vars.iter().enumerate() {
        if matches!(var.kind, FVarKind::Constant(_)) {
            class[v] = Class::Invariant;
        }
    }
    for &(v, _) in &plan.non_seqs {
        class[v] = Class::Invariant;
    }
    if !info.as_while {
        for (s, seq) in plan.seqs.iter().enumerate() {
            if let [(0, v)] = seq.taps[..] {
                class[v] = Class::Rows(s);
            }
        }
    }
    let order = inner.toposort();
    let mut moved: HashSet<NodeId> = HashSet::new();
    for &n in &order {
        let node = &inner.nodes[n];
        if !node.op.is_foldable() || node.inputs.is_empty() {
            continue;
        }
        let classes: Vec<Class> = node.inputs.iter().map(|&i| class[i]).collect();
        let new = if classes.iter().all(|c| *c == Class::Invariant) {
            Class::Invariant
        } else {
            let rows: HashSet<usize> = classes
                .iter()
                .filter_map(|c| match c {
                    Class::Rows(s) => Some(*s),
                    _ => None,
                })
                .collect();
            let elementwise = matches!(node.op, Op::Elemwise(_));
            if elementwise && rows.len() == 1 && !classes.contains(&Class::Step) {
                Class::Rows(*rows.iter().next().expect("one sequence"))
            } else if let Some(s) = row_product(inner, n, &classes) {
                Class::Rows(s)
            } else {
                continue;
            }
        };
        for &o in &node.outputs {
            class[o] = new;
        }
        moved.insert(n);
    }
    if moved.is_empty() {
        return Ok(false);
    }
    // The moved variables the loop still reads: they become inputs.
    let mut boundary: Vec<VarId> = Vec::new();
    let mut seen = HashSet::new();
    let mut note = |v: VarId, boundary: &mut Vec<VarId>| {
        if inner.owner(v).is_some_and(|(m, _)| moved.contains(&m)) && seen.insert(v) {
            boundary.push(v);
        }
    };
    for &n in &order {
        if moved.contains(&n) {
            continue;
        }
        for &i in &inner.nodes[n].inputs {
            note(i, &mut boundary);
        }
    }
    for v in plan.inner_outputs() {
        note(v, &mut boundary);
    }
    if boundary.is_empty() {
        return Ok(false);
    }

    // Build the moved work outside.
    let mut outer_of: HashMap<VarId, VarId> = HashMap::new();
    for &(v, o) in &plan.non_seqs {
        outer_of.insert(v, o);
    }
    for seq in &plan.seqs {
        if let [(0, v)] = seq.taps[..] {
            outer_of.insert(v, seq.outer);
        }
    }
    let mut padded: HashMap<VarId, VarId> = HashMap::new();
    for &n in &order {
        if !moved.contains(&n) {
            continue;
        }
        let node = &inner.nodes[n];
        let rows = class[node.outputs[0]] != Class::Invariant;
        if rows && node.op == Op::Dot {
            // dot(x_t, M) for every row at once is dot(X, M); dot(M, x_t)
            // is dot(X, M.T).
            let (a, b) = (node.inputs[0], node.inputs[1]);
            let (oa, ob) = (
                outer_var(fg, inner, a, &mut outer_of)?,
                outer_var(fg, inner, b, &mut outer_of)?,
            );
            let ins = if class[a] == Class::Invariant {
                let ds = DimShuffle::new(
                    &fg.vars[oa].ty.broadcastable(),
                    vec![Some(1), Some(0)],
                    true,
                )?;
                let mt = fg.add_node(Op::DimShuffle(ds), vec![oa])?[0];
                vec![ob, mt]
            } else {
                vec![oa, ob]
            };
            let out = fg.add_node(Op::Dot, ins)?[0];
            outer_of.insert(node.outputs[0], out);
            continue;
        }
        let mut ins = Vec::with_capacity(node.inputs.len());
        for &i in &node.inputs {
            let o = outer_var(fg, inner, i, &mut outer_of)?;
            if rows && class[i] == Class::Invariant {
                // An invariant operand of work on whole sequences gets a
                // leading broadcastable dimension.
                let p = match padded.get(&i) {
                    Some(&p) => p,
                    None => {
                        let b = fg.vars[o].ty.broadcastable();
                        let mut order = vec![None];
                        order.extend((0..b.len()).map(Some));
                        let ds = DimShuffle::new(&b, order, true)?;
                        let p = fg.add_node(Op::DimShuffle(ds), vec![o])?[0];
                        padded.insert(i, p);
                        p
                    }
                };
                ins.push(p);
            } else {
                ins.push(o);
            }
        }
        let outs = fg.add_node(node.op.clone(), ins)?;
        for (&io, &oo) in node.outputs.iter().zip(&outs) {
            outer_of.insert(io, oo);
        }
    }
    for v in boundary {
        let outer = outer_of[&v];
        match class[v] {
            // Same rows as the sequence it is computed from: same span.
            Class::Rows(s) => plan.seqs.push(PlanSeq {
                lo: plan.seqs[s].lo,
                hi: plan.seqs[s].hi,
                taps: vec![(0, v)],
                outer,
                origin: plan.seqs[s].origin,
            }),
            _ => plan.non_seqs.push((v, outer)),
        }
    }
    Ok(true)
}

/// The sequence `s` when node `n` is a product of one row of it (a vector)
/// and a loop-invariant matrix, in either order: the rows of one product of
/// the whole sequence, computed before the loop (Theano's PushOutSeqScan
/// does this for `dot(x_t, U)` of a recurrent layer).
fn row_product(inner: &FunctionGraph, n: NodeId, classes: &[Class]) -> Option<usize> {
    let node = &inner.nodes[n];
    if node.op != Op::Dot || node.inputs.len() != 2 {
        return None;
    }
    let ndim = |k: usize| inner.vars[node.inputs[k]].ty.ndim();
    match (classes[0], classes[1]) {
        (Class::Rows(s), Class::Invariant) | (Class::Invariant, Class::Rows(s))
            if ndim(0) + ndim(1) == 3 && (ndim(0) == 1) == matches!(classes[0], Class::Rows(_)) =>
        {
            Some(s)
        }
        _ => None,
    }
}

/// The outer variable standing for inner leaf or moved variable `v`.
fn outer_var(
    fg: &mut FunctionGraph,
    inner: &FunctionGraph,
    v: VarId,
    outer_of: &mut HashMap<VarId, VarId>,
) -> Result<VarId> {
    if let Some(&o) = outer_of.get(&v) {
        return Ok(o);
    }
    let var = &inner.vars[v];
    match &var.kind {
        FVarKind::Constant(_) => {
            let o = fg.add_leaf(
                var.ty.clone(),
                var.kind.clone(),
                var.name.clone(),
                var.origin.clone(),
            );
            outer_of.insert(v, o);
            Ok(o)
        }
        _ => Err(crate::error::Error::Runtime(format!(
            "internal error: scan pushout found no outer value for {}",
            inner.var_text(v)
        ))),
    }
}

/// Drops outputs nobody outside reads, when the loop does not need them
/// either (a fed-back output whose values no other output reads).
fn remove_unused_outputs(fg: &FunctionGraph, n: NodeId, info: &ScanInfo, plan: &mut Plan) -> bool {
    let clients = fg.clients();
    let node = &fg.nodes[n];
    let used = |o: usize| {
        let v = node.outputs[o];
        clients.contains_key(&v) || fg.outputs.contains(&v)
    };
    let mut changed = false;
    loop {
        let cuts: HashSet<VarId> = plan.inner_inputs().into_iter().collect();
        let mut removed = None;
        for (k, out) in plan.outs.iter().enumerate() {
            if used(out.old) {
                continue;
            }
            let others: Vec<VarId> = plan
                .outs
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .map(|(_, o)| o.inner_out)
                .chain(plan.until)
                .collect();
            let needed = reachable(&info.fgraph, &others, &cuts);
            if out.inner_in.iter().all(|v| !needed.contains(v)) {
                removed = Some(k);
                break;
            }
        }
        match removed {
            Some(k) => {
                plan.outs.remove(k);
                changed = true;
            }
            None => return changed,
        }
    }
}

/// Drops inner inputs the inner graph no longer reads: non-sequences,
/// sequence taps, and sequences left without taps whose length another
/// sequence (made from them by the pushout) carries.
fn prune_inputs(inner: &FunctionGraph, plan: &mut Plan) -> bool {
    let cuts: HashSet<VarId> = plan.inner_inputs().into_iter().collect();
    let used = reachable(inner, &plan.inner_outputs(), &cuts);
    let mut changed = false;
    let before = plan.non_seqs.len();
    plan.non_seqs.retain(|(v, _)| used.contains(v));
    changed |= plan.non_seqs.len() != before;
    for seq in plan.seqs.iter_mut() {
        let before = seq.taps.len();
        seq.taps.retain(|(_, v)| used.contains(v));
        changed |= seq.taps.len() != before;
    }
    let mut k = 0;
    while k < plan.seqs.len() {
        let s = &plan.seqs[k];
        let twin = plan.seqs.iter().enumerate().any(|(j, t)| {
            j != k && t.origin == s.origin && t.lo == s.lo && t.hi == s.hi && !t.taps.is_empty()
        });
        if s.taps.is_empty() && twin {
            plan.seqs.remove(k);
            changed = true;
        } else {
            k += 1;
        }
    }
    changed
}
