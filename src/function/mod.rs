//! Compiled functions: lower once, rewrite, link, then call many times.

pub mod debugmode;
pub mod fgraph;
pub mod maker;
pub mod profile;

use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::graph::{SharedContainer, VarRef};
use crate::memory::Tensor;
use crate::vm::{Program, Storage, Watch};

use debugmode::DebugCheck;
use profile::{CallProfiler, ProfileStats};

pub use maker::{CompileRequest, InputSpec, OutputSpec};

/// A compiled function.
pub struct Function {
    program: Program,
    /// Calls are serialized on this storage (one call at a time per function).
    storage: Mutex<Storage>,
    pub n_outputs: usize,
    pub update_targets: Vec<(VarRef, Arc<SharedContainer>)>,
    /// Explicit inputs with an `In(update=...)` state, in output order.
    pub input_updates: Vec<usize>,
    pub warnings: Vec<String>,
    /// `Out(borrow=True)` per output.
    out_borrow: Vec<bool>,
    /// DebugMode's reference graph and checks.
    debug: Option<DebugCheck>,
    /// `profile=True`: the statistics so far.
    profile: Option<Mutex<ProfileStats>>,
}

/// What one call produced.
pub struct CallResult {
    pub outputs: Vec<Tensor>,
    /// New values of the `In(update=)` states, in `input_updates` order.
    pub input_states: Vec<Tensor>,
}

impl Function {
    pub fn compile(req: &CompileRequest) -> Result<Function> {
        Function::compile_mutable(req, &[])
    }

    /// [`Function::compile`] with the inputs declared `In(mutable=True)`.
    pub fn compile_mutable(req: &CompileRequest, mutable_inputs: &[bool]) -> Result<Function> {
        let lowered = maker::lower_mutable(req, mutable_inputs)?;
        let debug = lowered
            .unrewritten
            .map(|u| DebugCheck::new(u, &lowered.fgraph, req.inputs.len()));
        let program = Program::link(lowered.fgraph, req.inputs.len());
        let storage = Mutex::new(program.new_storage());
        Ok(Function {
            program,
            storage,
            n_outputs: lowered.n_outputs,
            update_targets: lowered.update_targets,
            input_updates: lowered.input_updates,
            warnings: lowered.warnings,
            out_borrow: req.outputs.iter().map(|o| o.borrow).collect(),
            debug,
            profile: None,
        })
    }

    /// Turns on profiling (`profile=True`).
    pub fn enable_profile(&mut self) {
        self.profile = Some(Mutex::new(ProfileStats::default()));
    }

    /// The profile so far, when profiling is on.
    pub fn profile(&self) -> Option<ProfileStats> {
        self.profile
            .as_ref()
            .map(|p| p.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Whether calls run DebugMode's checks.
    pub fn is_checked(&self) -> bool {
        self.debug.is_some()
    }

    /// Whether a call on `inputs` is too short to release the GIL for
    /// ([`Program::is_brief`]; checked and profiled calls never are).
    pub fn is_brief(&self, inputs: &[Tensor]) -> bool {
        self.debug.is_none() && self.profile.is_none() && self.program.is_brief(inputs)
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Runs the function on filtered input values. Outputs and updates are
    /// computed from the values before the call; the updates are stored
    /// together at the end, so a call that fails changes nothing.
    pub fn call(&self, inputs: &[Tensor], allow_gc: bool) -> Result<CallResult> {
        let _scope = crate::workers::CallScope::enter();
        let mut storage = self.storage.lock().unwrap_or_else(|e| e.into_inner());
        let values = if let Some(debug) = &self.debug {
            let reference = debug.reference_values(inputs)?;
            let mut checker = debug.checker(reference);
            let values = self.program.run_watched(
                &mut storage,
                inputs,
                allow_gc,
                Watch::Observer(&mut checker),
            )?;
            self.check_aliasing(&values)?;
            values
        } else if let Some(profile) = &self.profile {
            let mut stats = profile.lock().unwrap_or_else(|e| e.into_inner());
            let mut profiler = CallProfiler::start(&mut stats);
            let values = self.program.run_watched(
                &mut storage,
                inputs,
                allow_gc,
                Watch::Clock(&mut profiler),
            );
            profiler.finish();
            values?
        } else {
            self.program.run(&mut storage, inputs, allow_gc)?
        };
        // Outputs, then update values, then input states, in one vector.
        let mut outputs = values;
        let input_states = outputs.split_off(self.n_outputs + self.update_targets.len());
        for (j, (_, container)) in self.update_targets.iter().enumerate().rev() {
            let new = outputs.pop().expect("one value per update");
            let old = container.replace(new.clone());
            // An update written in place is the old value itself.
            if !old.shares_storage(&new) {
                self.program
                    .keep_for_next_call(&mut storage, self.n_outputs + j, old);
            }
        }
        // The storage lock is held until the updates are stored, so that
        // concurrent calls of this function never read a stale value.
        drop(storage);
        debug_assert_eq!(input_states.len(), self.input_updates.len());
        Ok(CallResult {
            outputs,
            input_states,
        })
    }

    /// DebugMode's invariants on a call's results, before anything is stored.
    fn check_aliasing(&self, values: &[Tensor]) -> Result<()> {
        let updates: Vec<(&Arc<SharedContainer>, &Tensor)> = self
            .update_targets
            .iter()
            .map(|(_, c)| c)
            .zip(&values[self.n_outputs..])
            .collect();
        let outputs: Vec<(&Tensor, bool)> = values[..self.n_outputs]
            .iter()
            .zip(self.out_borrow.iter().copied())
            .collect();
        let mut containers = self.program.shared_containers();
        for (_, c) in &self.update_targets {
            if !containers.iter().any(|k| Arc::ptr_eq(k, c)) {
                containers.push(c.clone());
            }
        }
        debugmode::check_aliasing(&updates, &outputs, &containers)
    }
}
