//! Theano's `AlgebraicCanonizer` (`local_add_canonizer`,
//! `local_mul_canonizer`): a chain of additions and subtractions (or of
//! products and true divisions) is flattened into its terms, the scalar
//! constants among them are folded into one, a term that appears on both
//! sides cancels, and the chain is built again from what is left:
//! `(x + 1) + 2` → `3 + x`, `(2 * x) * 3` → `6 * x`, `x + y - x` →
//! `fill(x, y)`, `x * y / x` → `fill(x, y)`, `x - x` → `fill(x, 0)`.
//!
//! A chain is rewritten only when it gets shorter, so the rewrite reaches a
//! fixed point. Inner nodes belong to the chain only when the chain is
//! their one reader and they compute in the chain's dtype; anything else is
//! a term. Only float chains are rewritten (integer sums could wrap
//! differently once their constants are folded). A cancelled term still
//! decides the result's shape (it may be the one that broadcasts the
//! others), so the result is wrapped in `fill(term, ...)`; the fill
//! rewrites remove the fill where another term provably has that shape.
//! As in Theano, cancelling assumes finite values: `x - x` is 0 where `x`
//! is infinite too.

use std::collections::HashMap;

use crate::dtype::DType;
use crate::error::Result;
use crate::function::fgraph::{FunctionGraph, NodeId, VarId};
use crate::memory::Tensor;
use crate::ops::ScalarOp;
use crate::ops::scalar::cast_tensor;

use super::local::{all_broadcastable, constant, elemwise, scalar_op, uniform_constant};

/// Additions or products: the ops of a chain and how constants fold.
#[derive(Clone, Copy, PartialEq)]
enum Group {
    Add,
    Mul,
}

impl Group {
    /// For an op of the chain, the side each input goes to (`true`: the
    /// main side, added or multiplied; `false`: subtracted or divided by).
    fn sides(self, op: ScalarOp) -> Option<&'static [bool]> {
        match (self, op) {
            (Group::Add, ScalarOp::Add) | (Group::Mul, ScalarOp::Mul) => Some(&[true, true]),
            (Group::Add, ScalarOp::Sub) | (Group::Mul, ScalarOp::TrueDiv) => Some(&[true, false]),
            (Group::Add, ScalarOp::Neg) | (Group::Mul, ScalarOp::Inv) => Some(&[false]),
            _ => None,
        }
    }

    fn neutral(self) -> f64 {
        match self {
            Group::Add => 0.0,
            Group::Mul => 1.0,
        }
    }

    /// `acc` combined with a constant on the given side.
    fn fold(self, acc: f64, value: f64, main_side: bool) -> f64 {
        match (self, main_side) {
            (Group::Add, true) => acc + value,
            (Group::Add, false) => acc - value,
            (Group::Mul, true) => acc * value,
            (Group::Mul, false) => acc / value,
        }
    }

    /// The op joining two terms of one side.
    fn join(self) -> ScalarOp {
        match self {
            Group::Add => ScalarOp::Add,
            Group::Mul => ScalarOp::Mul,
        }
    }

    /// The op taking the other side away from the main one, and the op
    /// applied to the other side alone when the main side is empty.
    fn inverse(self) -> (ScalarOp, ScalarOp) {
        match self {
            Group::Add => (ScalarOp::Sub, ScalarOp::Neg),
            Group::Mul => (ScalarOp::TrueDiv, ScalarOp::Inv),
        }
    }
}

pub fn local_add_canonizer(fg: &mut FunctionGraph) -> Result<bool> {
    canonize(fg, Group::Add)
}

pub fn local_mul_canonizer(fg: &mut FunctionGraph) -> Result<bool> {
    canonize(fg, Group::Mul)
}

/// Visits the chains' last nodes in topological order (inner nodes first,
/// so a chain is seen whole at its root).
fn canonize(fg: &mut FunctionGraph, group: Group) -> Result<bool> {
    let mut changed = false;
    let mut clients = fg.clients();
    for n in fg.toposort() {
        let &[out] = fg.nodes[n].outputs.as_slice() else {
            continue;
        };
        if !clients.contains_key(&out) && !fg.outputs.contains(&out) {
            continue; // replaced earlier in this pass
        }
        let Some(new) = canonized(fg, &clients, group, n)? else {
            continue;
        };
        if fg.vars[new].ty == fg.vars[out].ty {
            fg.replace(out, new);
            clients = fg.clients();
            changed = true;
        }
    }
    Ok(changed)
}

/// Clients of every variable (`FunctionGraph::clients`).
type Clients = HashMap<VarId, Vec<(NodeId, usize)>>;

/// Adds the inputs of node `n`, an op of the chain computing in `dtype`, to
/// `terms` on their sides (`side == true` for the main side), descending
/// into inner chain nodes the chain alone reads. `None`, with nothing
/// added, when `n` is no such op.
fn walk(
    fg: &FunctionGraph,
    clients: &Clients,
    group: Group,
    dtype: DType,
    n: NodeId,
    side: bool,
    terms: &mut Vec<(VarId, bool)>,
) -> Option<()> {
    let sides = group.sides(scalar_op(fg, n)?)?;
    let node = &fg.nodes[n];
    if node.inputs.iter().any(|&i| fg.vars[i].ty.dtype() != dtype) {
        return None;
    }
    for (&input, &s) in node.inputs.iter().zip(sides) {
        let input_side = side == s;
        let only_reader =
            clients.get(&input).is_some_and(|c| c.len() == 1) && !fg.outputs.contains(&input);
        let descended = only_reader
            && fg.owner(input).is_some_and(|(m, _)| {
                walk(fg, clients, group, dtype, m, input_side, terms).is_some()
            });
        if !descended {
            terms.push((input, input_side));
        }
    }
    Some(())
}

/// `vars` joined left to right by the group's op after `first`.
fn joined(
    fg: &mut FunctionGraph,
    group: Group,
    first: Option<VarId>,
    vars: Vec<VarId>,
) -> Result<Option<VarId>> {
    let mut result = first;
    for v in vars {
        result = Some(match result {
            None => v,
            Some(r) => elemwise(fg, group.join(), vec![r, v])?,
        });
    }
    Ok(result)
}

/// The shorter chain for the chain ending at node `n`, if there is one.
fn canonized(
    fg: &mut FunctionGraph,
    clients: &Clients,
    group: Group,
    n: NodeId,
) -> Result<Option<VarId>> {
    let out = fg.nodes[n].outputs[0];
    let dtype = fg.vars[out].ty.dtype();
    if !dtype.is_float() {
        return Ok(None);
    }
    let mut terms = Vec::new();
    if walk(fg, clients, group, dtype, n, true, &mut terms).is_none() {
        return Ok(None);
    }
    let n_terms = terms.len();

    // Scalar constants fold into one.
    let mut folded = group.neutral();
    let mut folded_ndim = 0;
    let mut rest: Vec<(VarId, bool)> = Vec::new();
    for &(v, side) in &terms {
        match uniform_constant(fg, v).filter(|_| all_broadcastable(fg, v)) {
            // x / 0 is left to run time (its sign follows x and the zero's).
            Some(c) if !(group == Group::Mul && !side && c == 0.0) => {
                folded = group.fold(folded, c, side);
                folded_ndim = folded_ndim.max(fg.vars[v].ty.ndim());
            }
            _ => rest.push((v, side)),
        }
    }

    // Constants that overflow together may not overflow in the chain's
    // order (`(x * 1e300) * 1e10` is finite for a small x).
    if !folded.is_finite() {
        return Ok(None);
    }

    // A term on both sides cancels; it still decides the shape.
    let mut cancelled: Vec<VarId> = Vec::new();
    let mut main: Vec<VarId> = Vec::new();
    let mut other: Vec<VarId> = rest.iter().filter(|t| !t.1).map(|t| t.0).collect();
    for &(v, _) in rest.iter().filter(|t| t.1) {
        match other.iter().position(|&o| o == v) {
            Some(k) => {
                other.remove(k);
                if !cancelled.contains(&v) {
                    cancelled.push(v);
                }
            }
            None => main.push(v),
        }
    }

    let keep_constant = folded != group.neutral() || (main.is_empty() && other.is_empty());
    let new_len = main.len() + other.len() + usize::from(keep_constant);
    if new_len >= n_terms {
        return Ok(None);
    }

    // Built again: constant first, then the main side, then the other.
    let mut folded_constant = None;
    if keep_constant {
        // Alone, the constant takes the result's rank (the fills need it).
        let ndim = if main.is_empty() && other.is_empty() {
            fg.vars[out].ty.ndim()
        } else {
            folded_ndim
        };
        let shape = vec![1; ndim];
        let value = Tensor::from_slice::<f64>(DType::Float64, &shape, &[folded])?;
        folded_constant = Some(constant(fg, cast_tensor(&value, dtype)?));
    }
    let main = joined(fg, group, folded_constant, main)?;
    let other = joined(fg, group, None, other)?;
    let (take_away, alone) = group.inverse();
    let mut result = match (main, other) {
        (Some(r), Some(o)) => elemwise(fg, take_away, vec![r, o])?,
        (Some(r), None) => r,
        (None, Some(o)) => elemwise(fg, alone, vec![o])?,
        // Not reached: the constant is kept when nothing else is.
        (None, None) => return Ok(None),
    };
    for v in cancelled {
        result = elemwise(fg, ScalarOp::Second, vec![v, result])?;
    }
    Ok(Some(result))
}
