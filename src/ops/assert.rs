//! `Assert{msg='...'}(x, c_1, ..., c_k)`: `x` itself (a view), once every
//! 0-d condition `c_i` is non-zero; otherwise an `AssertionError` carrying
//! the message. Rewrites that are only valid when two shapes agree at run
//! time guard their result with it, as Theano's do (the paired product merge
//! of `rewrite/product_merge.rs`); users build it as `T.opt.Assert(msg)`.

use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::ops::scalar::scalar_f64;
use crate::types::Type;

/// The op; `msg` is the text of the error raised when a condition fails.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Assert {
    pub msg: String,
}

impl Assert {
    /// `Assert{msg='...'}`, as debugprint shows it.
    pub fn name(&self) -> String {
        format!("Assert{{msg='{}'}}", self.msg)
    }

    /// The value's type; every condition must be a 0-d tensor or a scalar.
    pub fn output_types(&self, types: &[&Type]) -> Result<Vec<Type>> {
        let Some(value) = types.first() else {
            return Err(Error::Type(format!(
                "{} takes a value and conditions, got no inputs",
                self.name()
            )));
        };
        for (i, t) in types.iter().enumerate().skip(1) {
            if matches!(t, Type::Tensor(tt) if tt.ndim() != 0) {
                return Err(Error::Type(format!(
                    "{}: condition {} must be a 0-d tensor, got {t}",
                    self.name(),
                    i - 1
                )));
            }
        }
        Ok(vec![(*value).clone()])
    }

    /// `inputs[0]` unchanged, or the first false condition as an error.
    pub fn perform(&self, inputs: &[&Tensor]) -> Result<Tensor> {
        for (i, c) in inputs.iter().enumerate().skip(1) {
            if scalar_f64(c)? == 0.0 {
                return Err(Error::Assertion(format!(
                    "{}: condition {} of {} is false (the guarded value has shape {:?})",
                    self.msg,
                    i - 1,
                    inputs.len() - 1,
                    inputs[0].shape.as_slice()
                )));
            }
        }
        Ok(inputs[0].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    fn flag(v: i8) -> Tensor {
        Tensor::from_slice(DType::Int8, &[], &[v]).unwrap()
    }

    #[test]
    fn true_conditions_pass_the_value_through_as_a_view() {
        let x = Tensor::from_slice(DType::Float32, &[2], &[1.0f32, 2.0]).unwrap();
        let op = Assert { msg: "m".into() };
        let out = op.perform(&[&x, &flag(1), &flag(3)]).unwrap();
        assert!(out.shares_storage(&x));
    }

    #[test]
    fn a_false_condition_is_an_assertion_error_naming_it() {
        let x = Tensor::from_slice(DType::Float32, &[2], &[1.0f32, 2.0]).unwrap();
        let op = Assert {
            msg: "widths differ".into(),
        };
        let err = op.perform(&[&x, &flag(1), &flag(0)]).unwrap_err();
        assert!(matches!(&err, Error::Assertion(m)
            if m.contains("widths differ") && m.contains("condition 1 of 2") && m.contains("[2]")));
    }
}
