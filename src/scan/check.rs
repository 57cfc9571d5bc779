//! SPEC §4.2 [rtensor]: a Scan whose loop advances a shared variable
//! through its `default_update` (a random stream drawn inside the step
//! function) leaves the variable's new state as one of its outputs; the
//! function must store it. Theano failed with a `MissingInputError` about an
//! inner variable and PyTensor let the generator freeze; rtensor names the
//! scan and the variable, and says what to pass.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::function::fgraph::{FVarKind, FunctionGraph};
use crate::graph::{SharedContainer, VarRef};
use crate::ops::Op;

use super::OutputKind;

/// Checks the Scan nodes of a function's graph against its updates.
/// `exempt(id)`: the shared variable's default update is turned off for this
/// function (`no_default_updates`), so nothing is expected to advance it.
pub fn forgotten_updates(
    fg: &FunctionGraph,
    updates: &[(VarRef, Arc<SharedContainer>)],
    exempt: impl Fn(u64) -> bool,
) -> Result<()> {
    for node in &fg.nodes {
        let Op::Scan(op) = &node.op else { continue };
        let info = &op.0;
        for (o, kind) in info.outputs.iter().enumerate() {
            if !matches!(kind, OutputKind::Shared { from_default: true }) {
                continue;
            }
            let Some(k) = info.layout.outer_init[o] else {
                continue;
            };
            let var = &fg.vars[node.inputs[k]];
            let FVarKind::Shared(container) = &var.kind else {
                continue;
            };
            let stored = updates.iter().any(|(_, c)| Arc::ptr_eq(c, container));
            let id = var.origin.as_ref().map(|v| v.id);
            if stored || id.is_some_and(&exempt) {
                continue;
            }
            let name = var
                .origin
                .as_ref()
                .map(|v| v.display())
                .unwrap_or_else(|| format!("<{}>", var.ty));
            return Err(Error::MissingInput(format!(
                "scan '{}' advances the shared variable {name} inside its loop (its default_update, as a random stream drawn in the step function does), but this function does not store the state the scan leaves in {name}. Pass the updates returned by scan to function: `outputs, updates = scan(...)` then `function(inputs, outputs, updates=updates)`.",
                info.name
            )));
        }
    }
    Ok(())
}
