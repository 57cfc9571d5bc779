//! `rtensor.scan`'s two calls into the core: the variables the step
//! function is called with, and the Scan node made from what it returned
//! (`src/scan/build.rs` does the work).

use pyo3::prelude::*;

use crate::python::errors::IntoPy;
use crate::python::variable::Var;
use crate::rewrite::Mode;
use crate::scan::build::{self, OutArg, ScanArgs, SeqArg};

type SeqSpec<'py> = (Bound<'py, Var>, Vec<i64>);
type OutSpec<'py> = Option<(Bound<'py, Var>, Vec<i64>)>;
/// Step variables: one list per sequence, one per output.
type StepVars = (Vec<Vec<Var>>, Vec<Vec<Var>>);

fn v(b: &Bound<'_, Var>) -> crate::graph::VarRef {
    b.get().inner.clone()
}

fn seq_args(seqs: &[SeqSpec<'_>]) -> Vec<SeqArg> {
    seqs.iter()
        .map(|(s, taps)| SeqArg {
            outer: v(s),
            taps: taps.clone(),
        })
        .collect()
}

fn out_args(outs: &[OutSpec<'_>]) -> Vec<OutArg> {
    outs.iter()
        .map(|o| match o {
            Some((init, taps)) => OutArg {
                initial: Some(v(init)),
                taps: taps.clone(),
            },
            None => OutArg {
                initial: None,
                taps: Vec::new(),
            },
        })
        .collect()
}

fn vars(list: Vec<crate::graph::VarRef>) -> Vec<Var> {
    list.into_iter().map(Var::of).collect()
}

/// The step function's arguments for these sequences (`(var, taps)`) and
/// outputs (`(initial, taps)` or None): one list per sequence, one per output.
#[pyfunction]
pub fn scan_step_inputs(
    seqs: Vec<SeqSpec<'_>>,
    outs: Vec<OutSpec<'_>>,
    has_n_steps: bool,
) -> PyResult<StepVars> {
    let (s, o) = build::step_inputs(&seq_args(&seqs), &out_args(&outs), has_n_steps).py()?;
    Ok((
        s.into_iter().map(vars).collect(),
        o.into_iter().map(vars).collect(),
    ))
}

/// Makes the Scan node; returns its outputs (one per step-function output)
/// and the updates (shared variable, value after the loop).
#[pyfunction]
#[pyo3(signature = (seqs, outs, seq_inner, out_inner, non_seqs, n_steps, step_outputs, updates, until, go_backwards, truncate_gradient, name, mode, allow_gc, strict))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn scan_build(
    seqs: Vec<SeqSpec<'_>>,
    outs: Vec<OutSpec<'_>>,
    seq_inner: Vec<Vec<Bound<'_, Var>>>,
    out_inner: Vec<Vec<Bound<'_, Var>>>,
    non_seqs: Vec<Bound<'_, Var>>,
    n_steps: Option<Bound<'_, Var>>,
    step_outputs: Vec<Bound<'_, Var>>,
    updates: Vec<(Bound<'_, Var>, Bound<'_, Var>)>,
    until: Option<Bound<'_, Var>>,
    go_backwards: bool,
    truncate_gradient: i64,
    name: Option<String>,
    mode: Option<&str>,
    allow_gc: Option<bool>,
    strict: bool,
) -> PyResult<(Vec<Var>, Vec<(Var, Var)>)> {
    let args = ScanArgs {
        seqs: seq_args(&seqs),
        seq_inner: seq_inner
            .iter()
            .map(|l| l.iter().map(v).collect())
            .collect(),
        outs: out_args(&outs),
        out_inner: out_inner
            .iter()
            .map(|l| l.iter().map(v).collect())
            .collect(),
        non_seqs: non_seqs.iter().map(v).collect(),
        n_steps: n_steps.as_ref().map(v),
        step_outputs: step_outputs.iter().map(v).collect(),
        updates: updates.iter().map(|(a, b)| (v(a), v(b))).collect(),
        until: until.as_ref().map(v),
        go_backwards,
        truncate_gradient,
        name,
        mode: mode.map(Mode::parse).transpose().py()?,
        allow_gc,
        strict,
    };
    let built = build::build(args).py()?;
    Ok((
        vars(built.outputs),
        built
            .updates
            .into_iter()
            .map(|(s, u)| (Var::of(s), Var::of(u)))
            .collect(),
    ))
}
