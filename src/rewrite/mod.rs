//! Graph rewrites, run stage by stage to a fixed point on a FunctionGraph.
//! Each rewrite is a small named function with tags ([`registry::REWRITES`]);
//! the mode and the `including`/`excluding` lists decide which run.

pub mod algebraic_canonizer;
pub mod canonicalize;
pub mod constant_folding;
pub mod crossentropy;
pub mod dot22;
pub mod fill;
pub mod fusion;
pub mod gemm;
pub mod inplace;
pub mod local;
pub mod merge;
pub mod neutral;
pub mod output_protection;
pub mod pow_specialize;
pub mod product_merge;
pub mod reduce_fusion;
pub mod registry;
pub mod scan_pushout;
pub mod scan_save_mem;
pub mod shape_feature;
pub mod stabilize;
pub mod subtensor_merge;
pub mod useless;

use crate::error::{Error, Result};
use crate::function::fgraph::FunctionGraph;

pub use output_protection::protect_outputs;
pub use registry::{Pass, REWRITES, Rewrite, Stage};

/// Compilation modes (SPEC §9).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, serde::Serialize, serde::Deserialize)]
pub enum Mode {
    /// All rewrites.
    #[default]
    FastRun,
    /// Merge and constant folding only.
    FastCompile,
    /// FAST_RUN plus run-time checks.
    DebugMode,
}

impl Mode {
    pub fn parse(name: &str) -> Result<Mode> {
        match name {
            "FAST_RUN" | "Mode" | "o4" | "fast_run" => Ok(Mode::FastRun),
            "FAST_COMPILE" | "fast_compile" => Ok(Mode::FastCompile),
            "DebugMode" | "DEBUG_MODE" => Ok(Mode::DebugMode),
            "NanGuardMode" => Ok(Mode::FastRun),
            other => Err(Error::Value(format!(
                "Unknown mode {other:?}: expected one of FAST_RUN, FAST_COMPILE, DebugMode, DEBUG_MODE, NanGuardMode, Mode"
            ))),
        }
    }

    /// The tag every rewrite of this mode carries.
    pub fn base_tag(self) -> &'static str {
        match self {
            Mode::FastCompile => "fast_compile",
            Mode::FastRun | Mode::DebugMode => "fast_run",
        }
    }
}

/// Which rewrites run: the mode's, plus `including`, minus `excluding`
/// (names or tags; words no rewrite answers to are ignored, as in Theano).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Optimizer {
    pub mode: Mode,
    pub including: Vec<String>,
    pub excluding: Vec<String>,
}

impl Optimizer {
    pub fn of(mode: Mode) -> Optimizer {
        Optimizer {
            mode,
            ..Optimizer::default()
        }
    }

    pub fn enabled(&self, r: &Rewrite) -> bool {
        if self.excluding.iter().any(|w| r.answers_to(w)) {
            return false;
        }
        r.tags.contains(&self.mode.base_tag()) || self.including.iter().any(|w| r.answers_to(w))
    }

    /// Whether `word` is excluded by name or tag (for passes outside the
    /// registry, such as `inplace`, which runs after output protection).
    pub fn excludes(&self, word: &str) -> bool {
        self.excluding.iter().any(|w| w == word)
    }

    /// Whether the rewrite called `name` is enabled.
    pub fn enabled_by_name(&self, name: &str) -> bool {
        REWRITES.iter().any(|r| r.name == name && self.enabled(r))
    }

    /// The enabled passes of one stage, in registry order.
    fn stage_passes(&self, stage: Stage) -> Vec<Pass> {
        REWRITES
            .iter()
            .filter(|r| r.stage == stage && self.enabled(r))
            .map(|r| r.run)
            .collect()
    }

    /// Runs the cleanup passes, then each stage in `stages` that has
    /// enabled rewrites, each to a fixed point together with the cleanup.
    fn run(&self, fg: &mut FunctionGraph, stages: &[Stage]) -> Result<()> {
        fg.optimizer = self.clone();
        let cleanup = self.stage_passes(Stage::Cleanup);
        fixed_point(fg, &cleanup)?;
        for &stage in stages {
            let mut passes = self.stage_passes(stage);
            if passes.is_empty() {
                continue;
            }
            passes.extend(cleanup.iter().copied());
            fixed_point(fg, &passes)?;
        }
        Ok(())
    }
}

const EARLY: [Stage; 4] = [
    Stage::Canonicalize,
    Stage::Stabilize,
    Stage::Blas,
    Stage::Specialize,
];

/// Runs `passes` until none changes the graph.
pub(crate) fn fixed_point(fg: &mut FunctionGraph, passes: &[Pass]) -> Result<()> {
    for _ in 0..50 {
        let mut changed = false;
        for pass in passes {
            changed |= pass(fg)?;
        }
        if !changed {
            return Ok(());
        }
    }
    Ok(())
}

/// The stages before fusion (scan runs them on its inner graph first, so
/// that pushout sees the elementwise work unfused).
pub(crate) fn optimize_early(fg: &mut FunctionGraph, opt: &Optimizer) -> Result<()> {
    opt.run(fg, &EARLY)
}

/// Fusion (with the cleanup), once the early stages are done.
pub(crate) fn optimize_late(fg: &mut FunctionGraph, opt: &Optimizer) -> Result<()> {
    opt.run(fg, &[Stage::Fusion])
}

/// Runs every stage of the optimizer on the graph.
pub fn optimize(fg: &mut FunctionGraph, opt: &Optimizer) -> Result<()> {
    let mut all = EARLY.to_vec();
    all.extend([Stage::Fusion, Stage::Inplace]);
    opt.run(fg, &all)
}
