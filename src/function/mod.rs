//! Compiled functions: lower once, rewrite, link, then call many times.

pub mod fgraph;
pub mod maker;

use std::sync::{Arc, Mutex};

use crate::error::Result;
use crate::graph::{SharedContainer, VarRef};
use crate::memory::Tensor;
use crate::vm::{Program, Storage};

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
}

/// What one call produced.
pub struct CallResult {
    pub outputs: Vec<Tensor>,
    /// New values of the `In(update=)` states, in `input_updates` order.
    pub input_states: Vec<Tensor>,
}

impl Function {
    pub fn compile(req: &CompileRequest) -> Result<Function> {
        let lowered = maker::lower(req)?;
        let program = Program::link(lowered.fgraph, req.inputs.len());
        let storage = Mutex::new(program.new_storage());
        Ok(Function {
            program,
            storage,
            n_outputs: lowered.n_outputs,
            update_targets: lowered.update_targets,
            input_updates: lowered.input_updates,
            warnings: lowered.warnings,
        })
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Runs the function on filtered input values. Outputs and updates are
    /// computed from the values before the call; the updates are stored
    /// together at the end, so a call that fails changes nothing.
    pub fn call(&self, inputs: &[Tensor], allow_gc: bool) -> Result<CallResult> {
        let mut storage = self.storage.lock().unwrap_or_else(|e| e.into_inner());
        let values = self.program.run(&mut storage, inputs, allow_gc)?;
        drop(storage);
        let mut values = values.into_iter();
        let outputs: Vec<Tensor> = values.by_ref().take(self.n_outputs).collect();
        for (_, container) in &self.update_targets {
            container.set(values.next().expect("one value per update"));
        }
        let input_states: Vec<Tensor> = values.collect();
        debug_assert_eq!(input_states.len(), self.input_updates.len());
        Ok(CallResult {
            outputs,
            input_states,
        })
    }
}
