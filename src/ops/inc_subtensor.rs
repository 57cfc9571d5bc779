//! `IncSubtensor{Inc;int64:int64:}` and `IncSubtensor{Set;...}`: a copy of
//! `x` with `y` added to (or written over) the basic-indexed region `x[idx]`
//! (`T.inc_subtensor` / `T.set_subtensor`). The input is never modified.

use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::ops::indexing::scatter;
use crate::ops::subtensor::{IdxEntry, Subtensor, idx_list_text, raw_index};
use crate::types::Type;

/// Inputs: `x`, `y`, then the index scalars of `idx_list` (as Subtensor's).
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct IncSubtensor {
    pub idx_list: Vec<IdxEntry>,
    pub set_instead_of_inc: bool,
}

impl IncSubtensor {
    pub fn name(&self) -> String {
        let kind = if self.set_instead_of_inc {
            "Set"
        } else {
            "Inc"
        };
        format!("IncSubtensor{{{kind};{}}}", idx_list_text(&self.idx_list))
    }

    /// The output has `x`'s type; `y` must fit the region `x[idx]`.
    pub fn output_types(&self, inputs: &[&Type]) -> Result<Vec<Type>> {
        if inputs.len() < 2 {
            return Err(Error::Type(format!(
                "{} takes x, y and the index inputs, got {} inputs",
                self.name(),
                inputs.len()
            )));
        }
        let sub = Subtensor {
            idx_list: self.idx_list.clone(),
        };
        let mut sub_inputs = vec![inputs[0]];
        sub_inputs.extend_from_slice(&inputs[2..]);
        let region = sub.output_types(&sub_inputs)?;
        let y = inputs[1].tensor().ok_or_else(|| {
            Error::Type(format!(
                "{}: y must be a tensor, got {}",
                self.name(),
                inputs[1]
            ))
        })?;
        if y.ndim() > region[0].ndim() {
            return Err(Error::Type(format!(
                "{}: Trying to increment a {}-dimensional subtensor with a {}-dimensional value.",
                self.name(),
                region[0].ndim(),
                y.ndim()
            )));
        }
        if y.dtype.is_complex() || inputs[0].dtype().is_complex() {
            return Err(Error::NotImplemented(format!(
                "{} of complex tensors",
                self.name()
            )));
        }
        Ok(vec![inputs[0].clone()])
    }

    pub fn perform(&self, inputs: &[&Tensor]) -> Result<Tensor> {
        let index = raw_index(&self.idx_list, &inputs[2..])?;
        scatter(
            &self.name(),
            inputs[0],
            inputs[1],
            index,
            self.set_instead_of_inc,
        )
    }
}
