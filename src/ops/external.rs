//! Ops defined outside the core (Theano's user-defined `Op` subclasses,
//! written in Python). The core sees them through [`ExternalImpl`]: a name,
//! the output types fixed when the node was made, a kernel, and the declared
//! `view_map`/`destroy_map`. The Python bindings implement it.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::error::Result;
use crate::graph::VarRef;
use crate::memory::Tensor;
use crate::ops::Outputs;
use crate::types::Type;

/// How an external op computes and declares itself.
pub trait ExternalImpl: Send + Sync {
    /// The implementation as `Any` (the bindings get their own type back).
    fn as_any(&self) -> &dyn std::any::Any;
    /// The name debugprint shows (`DoubleOp`, `MyOp{axis=1}`).
    fn name(&self) -> String;
    /// Computes the outputs. With `checked` (DebugMode), an undeclared write
    /// into an input is `BadDestroyMap` and an undeclared alias `BadViewMap`;
    /// without, inputs are read-only and an undeclared alias is copied.
    fn perform(&self, inputs: &[&Tensor], out_types: &[Type], checked: bool) -> Result<Outputs>;
    /// The gradients of the inputs given the outputs' gradients (`None` for
    /// a disconnected output); `None` entries are disconnected inputs.
    fn grad(
        &self,
        inputs: &[VarRef],
        outputs: &[VarRef],
        output_grads: &[Option<VarRef>],
    ) -> Result<Vec<Option<VarRef>>>;
}

/// One external op as a node of the core graph. Two are equal when their
/// Python ops compare equal by `__props__` (the `key`) and they give the same
/// output types.
#[derive(Clone)]
pub struct ExternalOp {
    pub imp: Arc<dyn ExternalImpl>,
    /// Identifies the op's class and props (merge joins equal nodes).
    pub key: String,
    pub out_types: Vec<Type>,
    /// `(output, input)` pairs: the output may be a view of the input.
    pub view_map: Vec<(usize, usize)>,
    /// `(output, input)` pairs: the output is written over the input.
    pub destroy_map: Vec<(usize, usize)>,
}

impl PartialEq for ExternalOp {
    fn eq(&self, other: &ExternalOp) -> bool {
        self.key == other.key && self.out_types == other.out_types
    }
}

impl Eq for ExternalOp {}

impl Hash for ExternalOp {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl std::fmt::Debug for ExternalOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ExternalOp({})", self.key)
    }
}

impl ExternalOp {
    pub fn view_of(&self, output: usize) -> Option<usize> {
        self.view_map
            .iter()
            .chain(&self.destroy_map)
            .find(|(o, _)| *o == output)
            .map(|(_, i)| *i)
    }
}
