//! Lowering a `function(inputs, outputs, updates, givens)` call: the
//! compile-time checks of SPEC §3.1, `givens` applied while cloning the user
//! graph into a [`FunctionGraph`], default updates, then the rewrites.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::function::fgraph::{FVarKind, FunctionGraph, VarId};
use crate::graph::{SharedContainer, VarKind, VarRef, ancestors};
use crate::rewrite::{self, Mode};

/// One explicit input.
#[derive(Clone)]
pub struct InputSpec {
    pub var: VarRef,
    pub borrow: bool,
    /// An `In(x, value=..., update=...)` state update.
    pub update: Option<VarRef>,
}

/// One requested output.
#[derive(Clone)]
pub struct OutputSpec {
    pub var: VarRef,
    pub borrow: bool,
}

/// What to compile.
pub struct CompileRequest {
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    pub updates: Vec<(VarRef, VarRef)>,
    pub givens: Vec<(VarRef, VarRef)>,
    /// `None`: all default updates apply; `Some(ids)`: these shared variables'
    /// default updates do not (an empty set with `no_default_updates=True`
    /// is represented by `all_defaults_off`).
    pub no_default_updates: HashSet<u64>,
    pub all_defaults_off: bool,
    pub rebuild_strict: bool,
    pub on_unused_input: crate::config::OnUnusedInput,
    pub mode: Mode,
    /// Rewrite names or tags added to, and removed from, the mode's
    /// (`Mode.including`/`excluding`, `optimizer_including`/`excluding`).
    pub optimizer_including: Vec<String>,
    pub optimizer_excluding: Vec<String>,
}

/// A lowered, rewritten graph ready to link.
pub struct Lowered {
    pub fgraph: FunctionGraph,
    pub n_outputs: usize,
    /// The shared containers updated, in the order of the update outputs.
    pub update_targets: Vec<(VarRef, Arc<SharedContainer>)>,
    /// Explicit inputs whose state is updated (`In(update=)`), after the shared updates.
    pub input_updates: Vec<usize>,
    /// Warnings to show the user (unused inputs with `on_unused_input='warn'`).
    pub warnings: Vec<String>,
    /// DebugMode: the graph before any rewrite (same variable ids).
    pub unrewritten: Option<FunctionGraph>,
}

fn tuple_text(msg: &str, v: &VarRef) -> String {
    format!("('{msg}', {})", v.display())
}

/// The compile-time checks that need no graph walk.
fn check_arguments(req: &CompileRequest) -> Result<()> {
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for (i, inp) in req.inputs.iter().enumerate() {
        let v = &inp.var;
        if let Some(&j) = seen.get(&v.id) {
            return Err(Error::UnusedInput(format!(
                "Variable {} is used twice in inputs to rtensor.function, at indices {} and {}.  This would result in values provided for it being ignored. Please do not duplicate variables in the inputs list.",
                v.display(),
                j,
                i
            )));
        }
        seen.insert(v.id, i);
        if v.is_shared() {
            return Err(Error::Type(format!(
                "Cannot use a shared variable ({}) as explicit input. Consider substituting a non-shared variable via the `givens` parameter",
                v.display()
            )));
        }
        if v.is_constant() {
            return Err(Error::Type(tuple_text(
                "Constants not allowed in param list",
                v,
            )));
        }
    }
    for (old, _) in &req.givens {
        if seen.contains_key(&old.id) {
            return Err(Error::Runtime(format!(
                "You are trying to replace variable '{}' through the `givens` parameter, but this variable is an input to your function. Replacing inputs is currently forbidden because it has no effect. One way to modify an input `x` to a function evaluating f(x) is to define a new input `y` and use `rtensor.function([y], f(x), givens={{x: g(y)}})`. Another solution consists in using `rtensor.clone`, e.g. like this: `rtensor.function([x], rtensor.clone(f(x), replace={{x: g(x)}}))`.",
                old.display()
            )));
        }
    }
    let mut targets = HashSet::new();
    for (target, value) in &req.updates {
        if !target.is_shared() {
            return Err(Error::Type(tuple_text(
                "update target must be a SharedVariable",
                target,
            )));
        }
        if !targets.insert(target.id) {
            return Err(Error::Value(format!(
                "('this shared variable already has an update expression', ({}, {}))",
                target.display(),
                value.display()
            )));
        }
    }
    check_givens(&req.givens, req.rebuild_strict)
}

/// Type rule and dependency rule of `givens` (SPEC §3.6).
fn check_givens(givens: &[(VarRef, VarRef)], strict: bool) -> Result<()> {
    let keys: HashSet<u64> = givens.iter().map(|(o, _)| o.id).collect();
    for (old, new) in givens {
        if strict && !old.ty.accepts(&new.ty) {
            return Err(Error::Type(format!(
                "Cannot convert Type {} (of Variable {}) into Type {}. You can try to manually convert {} into a {}.",
                new.ty,
                new.display(),
                old.ty,
                new.display(),
                old.ty
            )));
        }
        for a in ancestors(std::slice::from_ref(new)) {
            if a.id != old.id && keys.contains(&a.id) {
                return Err(Error::Assertion(format!(
                    "When using 'givens' or 'replace' with several (old_v, new_v) replacement pairs, you can not have a new_v variable depend on an old_v one. For instance, givens = {{a:b, b:(a+1)}} is not allowed. Here, the replacement for {} depends on {}, which is itself replaced.",
                    old.display(),
                    a.display()
                )));
            }
        }
    }
    Ok(())
}

/// Clones user variables into a FunctionGraph, substituting `givens`.
struct Cloner {
    fg: FunctionGraph,
    leaves: HashMap<u64, VarId>,
    substituted: HashMap<u64, VarId>,
    plain: HashMap<u64, VarId>,
    givens: HashMap<u64, VarRef>,
    shared_seen: Vec<VarRef>,
}

impl Cloner {
    fn new(givens: &[(VarRef, VarRef)]) -> Cloner {
        Cloner {
            fg: FunctionGraph::default(),
            leaves: HashMap::new(),
            substituted: HashMap::new(),
            plain: HashMap::new(),
            givens: givens.iter().map(|(o, n)| (o.id, n.clone())).collect(),
            shared_seen: Vec::new(),
        }
    }

    fn leaf(&mut self, v: &VarRef) -> VarId {
        if let Some(&id) = self.leaves.get(&v.id) {
            return id;
        }
        let kind = match &v.kind {
            VarKind::Constant(t) => FVarKind::Constant(t.clone()),
            VarKind::Shared(c) => {
                self.shared_seen.push(v.clone());
                FVarKind::Shared(c.clone())
            }
            _ => FVarKind::Free,
        };
        let id = self
            .fg
            .add_leaf(v.ty.clone(), kind, v.name(), Some(v.clone()));
        self.leaves.insert(v.id, id);
        id
    }

    /// Clones `root`; with `substitute`, givens keys are replaced by their
    /// (plainly cloned) replacements.
    fn clone(&mut self, root: &VarRef, substitute: bool) -> Result<VarId> {
        let mut stack: Vec<(VarRef, bool)> = vec![(root.clone(), false)];
        while let Some((v, expanded)) = stack.pop() {
            if self.lookup(&v, substitute).is_some() {
                continue;
            }
            if substitute && let Some(new) = self.givens.get(&v.id).cloned() {
                let id = self.clone(&new, false)?;
                self.substituted.insert(v.id, id);
                continue;
            }
            let Some((apply, index)) = v.owner() else {
                self.leaf(&v);
                continue;
            };
            if !expanded {
                stack.push((v.clone(), true));
                for i in apply.inputs.iter().rev() {
                    if self.lookup(i, substitute).is_none() {
                        stack.push((i.clone(), false));
                    }
                }
                continue;
            }
            let inputs: Vec<VarId> = apply
                .inputs
                .iter()
                .map(|i| self.lookup(i, substitute).expect("input cloned first"))
                .collect();
            let outs = self.fg.add_node(apply.op.clone(), inputs)?;
            // Only the outputs still alive are listed: each by its own index.
            for sibling in apply.outputs() {
                if let Some((_, k)) = sibling.owner()
                    && k < outs.len()
                {
                    self.fg.vars[outs[k]].name = sibling.name();
                    self.memo(substitute).insert(sibling.id, outs[k]);
                }
            }
            self.memo(substitute).insert(v.id, outs[index]);
        }
        Ok(self.lookup(root, substitute).expect("root cloned"))
    }

    fn memo(&mut self, substitute: bool) -> &mut HashMap<u64, VarId> {
        if substitute {
            &mut self.substituted
        } else {
            &mut self.plain
        }
    }

    fn lookup(&self, v: &VarRef, substitute: bool) -> Option<VarId> {
        if substitute && self.givens.contains_key(&v.id) {
            return self.substituted.get(&v.id).copied();
        }
        if v.owner().is_none() {
            return self.leaves.get(&v.id).copied();
        }
        if substitute {
            self.substituted.get(&v.id).copied()
        } else {
            self.plain.get(&v.id).copied()
        }
    }
}

/// Lowers and rewrites a compile request.
pub fn lower(req: &CompileRequest) -> Result<Lowered> {
    lower_mutable(req, &[])
}

/// [`lower`], where `mutable_inputs[k]` says that explicit input `k` was
/// declared `In(x, mutable=True)`: the inplace rewrite may write over it.
pub fn lower_mutable(req: &CompileRequest, mutable_inputs: &[bool]) -> Result<Lowered> {
    check_arguments(req)?;
    let mut c = Cloner::new(&req.givens);
    for (i, inp) in req.inputs.iter().enumerate() {
        let id = c.fg.add_leaf(
            inp.var.ty.clone(),
            FVarKind::Input(i),
            inp.var.name(),
            Some(inp.var.clone()),
        );
        c.leaves.insert(inp.var.id, id);
        // An intermediate variable given as input cuts the graph there.
        c.substituted.insert(inp.var.id, id);
        c.plain.insert(inp.var.id, id);
    }
    let mut outputs = Vec::new();
    for o in &req.outputs {
        outputs.push(c.clone(&o.var, true)?);
    }
    let mut update_targets: Vec<(VarRef, Arc<SharedContainer>)> = Vec::new();
    let mut update_values = Vec::new();
    for (target, value) in &req.updates {
        let id = c.clone(value, true)?;
        let container = target.shared_container().expect("checked shared").clone();
        let vty = &c.fg.vars[id].ty;
        if *vty != target.ty {
            return Err(Error::Type(format!(
                "An update must have the same type as the original shared variable (shared_var={}, shared_var.type={}, update_val={}, update_val.type={}). If the difference is related to the broadcast pattern, you can call the tensor.unbroadcast(var, axis_to_unbroadcast[, ...]) function to remove broadcastable dimensions.",
                target.display(),
                target.ty,
                value.display(),
                vty
            )));
        }
        update_targets.push((target.clone(), container));
        update_values.push(id);
    }
    // Scan: a state its loop advances by a default update must be stored.
    if !req.all_defaults_off {
        crate::scan::check::forgotten_updates(&c.fg, &update_targets, |id| {
            req.no_default_updates.contains(&id)
        })?;
    }
    // Default updates of every shared variable reached, until none is new.
    if !req.all_defaults_off {
        let mut i = 0;
        while i < c.shared_seen.len() {
            let s = c.shared_seen[i].clone();
            i += 1;
            if req.no_default_updates.contains(&s.id)
                || update_targets.iter().any(|(t, _)| t.id == s.id)
            {
                continue;
            }
            let container = s.shared_container().expect("shared").clone();
            let default = container
                .default_update
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            if let Some(expr) = default {
                let id = c.clone(&expr, true)?;
                update_targets.push((s.clone(), container));
                update_values.push(id);
            }
        }
    }
    let mut input_updates = Vec::new();
    let mut input_update_values = Vec::new();
    for (i, inp) in req.inputs.iter().enumerate() {
        if let Some(u) = &inp.update {
            input_update_values.push(c.clone(u, true)?);
            input_updates.push(i);
        }
    }
    let mut fg = c.fg;
    fg.outputs = outputs
        .iter()
        .chain(&update_values)
        .chain(&input_update_values)
        .copied()
        .collect();
    fg.updated_shared = update_targets.iter().map(|(_, c)| c.clone()).collect();

    // Unused inputs are checked before missing ones.
    let reach = fg.reachable_vars();
    let mut warnings = Vec::new();
    for (i, inp) in req.inputs.iter().enumerate() {
        let id = c.leaves[&inp.var.id];
        if !reach[id] {
            let msg = format!(
                "rtensor.function was asked to create a function computing outputs given certain inputs, but the provided input variable at index {} is not part of the computational graph needed to compute the outputs: {}.\nTo make this error into a warning, you can pass the parameter on_unused_input='warn' to rtensor.function. To disable it completely, use on_unused_input='ignore'.",
                i,
                inp.var.display()
            );
            match req.on_unused_input {
                crate::config::OnUnusedInput::Raise => return Err(Error::UnusedInput(msg)),
                crate::config::OnUnusedInput::Warn => warnings.push(msg),
                crate::config::OnUnusedInput::Ignore => {}
            }
        }
    }
    for n in fg.toposort() {
        for (pos, &i) in fg.nodes[n].inputs.iter().enumerate() {
            if matches!(fg.vars[i].kind, FVarKind::Free) {
                return Err(Error::MissingInput(format!(
                    "Input {} of the graph (indices start from 0), used to compute {}, was not provided and not given a value. Use the rtensor flag exception_verbosity='high', for more information on this error.",
                    pos,
                    fg.node_text(n)
                )));
            }
        }
    }
    for &o in &fg.outputs {
        if matches!(fg.vars[o].kind, FVarKind::Free) {
            return Err(Error::MissingInput(format!(
                "An output of the graph ({}) was not provided and not given a value.",
                fg.var_text(o)
            )));
        }
    }

    let unrewritten = (req.mode == Mode::DebugMode).then(|| fg.clone());
    let optimizer = rewrite::Optimizer {
        mode: req.mode,
        including: req.optimizer_including.clone(),
        excluding: req.optimizer_excluding.clone(),
    };
    rewrite::optimize(&mut fg, &optimizer)?;
    let borrows: Vec<bool> = req.outputs.iter().map(|o| o.borrow).collect();
    let input_borrow: Vec<bool> = req.inputs.iter().map(|i| i.borrow).collect();
    rewrite::protect_outputs(
        &mut fg,
        req.outputs.len(),
        &borrows,
        &input_borrow,
        &update_targets,
    )?;
    // Last: inplace variants where the destroy handler allows them.
    if req.mode != Mode::FastCompile && !optimizer.excludes("inplace") {
        rewrite::inplace::insert_inplace(&mut fg, mutable_inputs, req.outputs.len())?;
    }
    Ok(Lowered {
        fgraph: fg,
        n_outputs: req.outputs.len(),
        update_targets,
        input_updates,
        warnings,
        unrewritten,
    })
}

/// A FunctionGraph of user variables as they are, for printing: free
/// variables stay leaves, nothing is rewritten.
pub fn graph_of(roots: &[VarRef]) -> Result<(FunctionGraph, Vec<VarId>)> {
    let mut c = Cloner::new(&[]);
    let mut ids = Vec::new();
    for r in roots {
        ids.push(c.clone(r, false)?);
    }
    let mut fg = c.fg;
    fg.outputs = ids.clone();
    Ok((fg, ids))
}
