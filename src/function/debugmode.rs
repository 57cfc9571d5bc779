//! `mode='DebugMode'`: every call runs the unrewritten graph first, then the
//! compiled one node by node, checking that
//! - each node's outputs equal the values the unrewritten graph gave for the
//!   variables they stand for (`BadOptimization`);
//! - no node changed an input it did not declare in `destroy_map`
//!   (`BadDestroyMap`), nor returned an alias of an input it did not declare
//!   in `view_map` (`BadViewMap`);
//! - after the call, no two shared variables share memory, and no output
//!   aliases a shared variable unless it was asked for (`Out(borrow=True)`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::function::fgraph::{FunctionGraph, NodeId, VarId};
use crate::graph::SharedContainer;
use crate::memory::Tensor;
use crate::ops::scalar::{cast_tensor, read_all};
use crate::vm::{NodeObserver, Program, Watch};

/// What DebugMode keeps next to a compiled function.
pub struct DebugCheck {
    /// The graph before rewrites, linked; its variables have the same ids as
    /// the compiled graph's variables that were not created by rewrites.
    reference: Program,
    /// For a variable a rewrite created: the original variable it replaced.
    stands_for: HashMap<VarId, VarId>,
}

impl DebugCheck {
    /// `reference` is the lowered graph before any rewrite; `compiled` the
    /// rewritten one made from it.
    pub fn new(reference: FunctionGraph, compiled: &FunctionGraph, n_inputs: usize) -> DebugCheck {
        let known = reference.vars.len();
        let mut stands_for = HashMap::new();
        for &(old, new) in &compiled.replaced {
            if new >= known {
                // Resolve chains of replacements back to an original variable.
                let mut o = old;
                while o >= known {
                    match stands_for.get(&o) {
                        Some(&p) => o = p,
                        None => break,
                    }
                }
                if o < known {
                    stands_for.insert(new, o);
                }
            }
        }
        DebugCheck {
            reference: Program::link(reference, n_inputs),
            stands_for,
        }
    }

    /// The values of every variable of the unrewritten graph for these inputs.
    pub fn reference_values(&self, inputs: &[Tensor]) -> Result<HashMap<VarId, Tensor>> {
        let mut recorder = Recorder::default();
        let mut storage = self.reference.new_storage();
        self.reference
            .run_watched(&mut storage, inputs, false, Watch::Observer(&mut recorder))?;
        Ok(recorder.values)
    }

    /// An observer that checks the compiled graph against `reference`.
    pub fn checker(&self, reference: HashMap<VarId, Tensor>) -> Checker<'_> {
        Checker {
            check: self,
            reference,
            before: Vec::new(),
        }
    }
}

#[derive(Default)]
struct Recorder {
    values: HashMap<VarId, Tensor>,
}

impl NodeObserver for Recorder {
    fn checked(&self) -> bool {
        true
    }

    fn after(
        &mut self,
        fg: &FunctionGraph,
        node: NodeId,
        _inputs: &[&Tensor],
        outputs: &[Tensor],
    ) -> Result<()> {
        for (&v, t) in fg.nodes[node].outputs.iter().zip(outputs) {
            self.values.insert(v, t.clone());
        }
        Ok(())
    }
}

/// Checks each node of the compiled graph as it runs.
pub struct Checker<'a> {
    check: &'a DebugCheck,
    reference: HashMap<VarId, Tensor>,
    /// Copies of the running node's inputs, taken before it ran.
    before: Vec<Tensor>,
}

impl NodeObserver for Checker<'_> {
    fn checked(&self) -> bool {
        true
    }

    fn before(&mut self, _fg: &FunctionGraph, _node: NodeId, inputs: &[&Tensor]) -> Result<()> {
        self.before = inputs
            .iter()
            .map(|t| t.deep_copy())
            .collect::<Result<_>>()?;
        Ok(())
    }

    fn after(
        &mut self,
        fg: &FunctionGraph,
        node: NodeId,
        inputs: &[&Tensor],
        outputs: &[Tensor],
    ) -> Result<()> {
        let op = &fg.nodes[node].op;
        let n_out = outputs.len();
        for (i, (now, was)) in inputs.iter().zip(&self.before).enumerate() {
            let declared = (0..n_out).any(|o| op.destroys(o) == Some(i));
            if !declared && !now.same_values(was) {
                return Err(Error::BadDestroyMap(format!(
                    "BadDestroyMap: {} changed its input {} ({}) without declaring it in its destroy_map",
                    fg.node_text(node),
                    i,
                    fg.var_text(fg.nodes[node].inputs[i])
                )));
            }
        }
        for (o, out) in outputs.iter().enumerate() {
            for (i, inp) in inputs.iter().enumerate() {
                let declared = op.view_of(o) == Some(i) || op.destroys(o) == Some(i);
                if !declared && out.may_share_memory(inp) {
                    return Err(Error::BadViewMap(format!(
                        "BadViewMap: output {} of {} aliases its input {} ({}) but the op declares no view_map or destroy_map for it",
                        o,
                        fg.node_text(node),
                        i,
                        fg.var_text(fg.nodes[node].inputs[i])
                    )));
                }
            }
        }
        for (&v, out) in fg.nodes[node].outputs.iter().zip(outputs) {
            let original = self.check.stands_for.get(&v).copied().unwrap_or(v);
            if let Some(expected) = self.reference.get(&original)
                && let Some(why) = differs(out, expected)
            {
                return Err(Error::BadOptimization(format!(
                    "BadOptimization: {} computed a value for {} that differs from the unrewritten graph's: {}",
                    fg.node_text(node),
                    fg.var_text(v),
                    why
                )));
            }
        }
        Ok(())
    }
}

/// Why two values differ beyond the tolerance of their dtype, if they do.
fn differs(got: &Tensor, expected: &Tensor) -> Option<String> {
    if got.shape != expected.shape {
        return Some(format!(
            "shape {:?} instead of {:?}",
            &got.shape[..],
            &expected.shape[..]
        ));
    }
    let as_f64 = |t: &Tensor| -> Result<Vec<f64>> {
        if t.dtype.is_complex() {
            return Err(Error::NotImplemented("complex comparison".into()));
        }
        read_all::<f64>(&cast_tensor(t, DType::Float64)?)
    };
    let (Ok(a), Ok(b)) = (as_f64(got), as_f64(expected)) else {
        return (!got.same_values(expected)).then(|| "the values differ".to_string());
    };
    let (atol, rtol) = if got.dtype.itemsize() <= 4 && got.dtype.is_float() {
        (1e-5, 1e-4)
    } else {
        (1e-8, 1e-7)
    };
    for (k, (&x, &y)) in a.iter().zip(&b).enumerate() {
        let same = (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= atol + rtol * y.abs();
        if !same {
            return Some(format!("element {k} is {x} instead of {y}"));
        }
    }
    None
}

/// The aliasing invariants after a call, on the values about to be stored
/// into shared variables and the outputs about to be returned.
pub fn check_aliasing(
    updates: &[(&Arc<SharedContainer>, &Tensor)],
    outputs: &[(&Tensor, bool)],
    containers: &[Arc<SharedContainer>],
) -> Result<()> {
    // The value each container will hold after the call.
    let after: Vec<(usize, Tensor)> = containers
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let v = updates
                .iter()
                .find(|(u, _)| Arc::ptr_eq(u, c))
                .map(|(_, t)| (*t).clone())
                .unwrap_or_else(|| c.get());
            (k, v)
        })
        .collect();
    for (i, (_, a)) in after.iter().enumerate() {
        for (_, b) in &after[i + 1..] {
            if a.may_share_memory(b) {
                return Err(Error::BadViewMap(format!(
                    "aliasing invariant broken: two shared variables would share memory after the call ({:?} and {:?})",
                    a, b
                )));
            }
        }
    }
    for (k, (out, borrowed)) in outputs.iter().enumerate() {
        if *borrowed {
            continue;
        }
        if after.iter().any(|(_, v)| out.may_share_memory(v)) {
            return Err(Error::BadViewMap(format!(
                "aliasing invariant broken: output {k} aliases a shared variable's memory without Out(borrow=True)"
            )));
        }
    }
    Ok(())
}
