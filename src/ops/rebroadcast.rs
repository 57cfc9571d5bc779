//! `Rebroadcast{...}`: the same values with other broadcastable flags
//! (`T.addbroadcast`, `T.unbroadcast`, `T.patternbroadcast`). The output is a
//! view of the input; making a dimension broadcastable checks at run time
//! that its length is 1.
//!
//! Gradient: `Rebroadcast` of the output gradient back to the input's own
//! flags on the same axes.

use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::types::{TensorType, Type};

/// The flags to set: `(axis, broadcastable)` pairs, sorted by axis, one per axis.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Rebroadcast {
    pub axes: Vec<(usize, bool)>,
}

impl Rebroadcast {
    pub fn new(mut axes: Vec<(usize, bool)>) -> Rebroadcast {
        axes.sort_by_key(|&(a, _)| a);
        // A later setting of the same axis wins.
        let mut out: Vec<(usize, bool)> = Vec::with_capacity(axes.len());
        for (a, b) in axes {
            match out.last_mut() {
                Some(last) if last.0 == a => last.1 = b,
                _ => out.push((a, b)),
            }
        }
        Rebroadcast { axes: out }
    }

    /// Theano's name: `Rebroadcast{?,1}` (one entry per axis up to the last
    /// one set; `?` for the axes left alone).
    pub fn name(&self) -> String {
        let len = self.axes.last().map(|&(a, _)| a + 1).unwrap_or(0);
        let mut pattern = vec!["?"; len];
        for &(a, b) in &self.axes {
            pattern[a] = if b { "1" } else { "0" };
        }
        format!("Rebroadcast{{{}}}", pattern.join(","))
    }

    pub fn output_types(&self, inputs: &[&Type]) -> Result<Vec<Type>> {
        let x = inputs[0]
            .tensor()
            .ok_or_else(|| Error::Type(format!("Rebroadcast of a non-tensor {}", inputs[0])))?;
        let mut bcast = x.broadcastable.clone();
        for &(a, b) in &self.axes {
            if a >= x.ndim() {
                return Err(Error::Value(format!(
                    "Trying to rebroadcast non-existent dimension {a} of a {}-dimensional {x}",
                    x.ndim()
                )));
            }
            bcast[a] = b;
        }
        Ok(vec![Type::Tensor(TensorType::new(x.dtype, &bcast))])
    }

    /// The input itself, once every dimension made broadcastable has length 1.
    pub fn perform(&self, x: &Tensor) -> Result<Tensor> {
        for &(a, b) in &self.axes {
            if b && x.shape[a] != 1 {
                return Err(Error::Value(format!(
                    "{}: dimension {a} was supposed to be 1 (got {} instead; input shape {:?})",
                    self.name(),
                    x.shape[a],
                    &x.shape[..]
                )));
            }
        }
        Ok(x.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    #[test]
    fn names_show_the_axes_set() {
        assert_eq!(Rebroadcast::new(vec![(1, true)]).name(), "Rebroadcast{?,1}");
        assert_eq!(
            Rebroadcast::new(vec![(2, false), (0, true), (2, true)]).name(),
            "Rebroadcast{1,?,1}"
        );
    }

    #[test]
    fn a_broadcastable_dimension_must_have_length_one() {
        let r = Rebroadcast::new(vec![(0, true)]);
        assert!(
            r.perform(&Tensor::zeros(DType::Float64, &[1, 3]).unwrap())
                .is_ok()
        );
        assert!(
            r.perform(&Tensor::zeros(DType::Float64, &[2, 3]).unwrap())
                .is_err()
        );
    }
}
