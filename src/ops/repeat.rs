//! `RepeatOp{axis}(x, repeats)`: `numpy.repeat` with a vector of repeat
//! counts (one per element along the axis, or a single count); `axis=None`
//! repeats the flattened input. `T.repeat` with a scalar count is built from
//! Alloc and Reshape instead, as in Theano.
//!
//! Gradient with respect to `x`: the output gradient summed over each run of
//! repeated elements along the axis (for a scalar count, a reshape that puts
//! the copies on their own axis then a sum over it); `repeats` is
//! disconnected.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::ops::InputInfo;
use crate::ops::axis::outer_inner;
use crate::ops::scalar::{cast_tensor, read_all, scalar_i64};
use crate::types::{TensorType, Type};
use crate::with_dtype;

/// Theano's name: `RepeatOp{axis=None}`, `RepeatOp{axis=1}`.
pub fn repeat_name(axis: Option<usize>) -> String {
    match axis {
        None => "RepeatOp{axis=None}".into(),
        Some(a) => format!("RepeatOp{{axis={a}}}"),
    }
}

pub fn repeat_output_types(axis: Option<usize>, inputs: &[InputInfo]) -> Result<Vec<Type>> {
    let x = inputs[0]
        .ty
        .tensor()
        .ok_or_else(|| Error::Type(format!("repeat of a non-tensor {}", inputs[0].ty)))?;
    let r = inputs[1].ty;
    if !r.dtype().is_int() {
        return Err(Error::Type(format!(
            "repeats.dtype must be an integer, got {r}"
        )));
    }
    if r.ndim() > 1 {
        return Err(Error::Value(format!(
            "The dimension of repeats should not exceed 1, got {r}"
        )));
    }
    let bcast = match axis {
        None => vec![false],
        Some(a) => {
            if a >= x.ndim() {
                return Err(Error::Value(format!(
                    "{}: axis {a} is out of bounds for a {}-dimensional {x}",
                    repeat_name(axis),
                    x.ndim()
                )));
            }
            let once = match inputs[1].constant {
                Some(c) if c.size() == 1 => scalar_i64(c)? == 1,
                _ => false,
            };
            let mut b = x.broadcastable.to_vec();
            b[a] &= once;
            b
        }
    };
    Ok(vec![Type::Tensor(TensorType::new(x.dtype, &bcast))])
}

pub fn repeat_perform(axis: Option<usize>, inputs: &[&Tensor]) -> Result<Tensor> {
    let x = match axis {
        None => inputs[0].reshaped(&[inputs[0].size()])?,
        Some(_) => inputs[0].contiguous()?,
    };
    let axis = axis.unwrap_or(0);
    let n = x.shape[axis];
    let counts = read_all::<i64>(&cast_tensor(inputs[1], DType::Int64)?)?;
    let counts: Vec<i64> = match counts.len() {
        1 => vec![counts[0]; n],
        len if len == n => counts,
        len => {
            return Err(Error::Value(format!(
                "{}: operands could not be broadcast together with shape ({n},) ({len},) (input shape {:?})",
                repeat_name(Some(axis)),
                &inputs[0].shape[..]
            )));
        }
    };
    if counts.iter().any(|&c| c < 0) {
        return Err(Error::Value(format!(
            "{}: repeats may not contain negative values (repeats {counts:?})",
            repeat_name(Some(axis))
        )));
    }
    let total: usize = counts.iter().map(|&c| c as usize).sum();
    let mut out_shape = x.shape.clone();
    out_shape[axis] = total;
    let (outer, inner) = outer_inner(&x.shape, axis);
    let mut out = Tensor::zeros(x.dtype, &out_shape)?;
    with_dtype!(x.dtype, T => {
        let src = x
            .contiguous_slice::<T>()
            .ok_or_else(|| Error::Runtime("repeat: input is not contiguous".into()))?;
        let dst = out.data_mut::<T>()?;
        let mut at = 0;
        for o in 0..outer {
            for (j, &c) in counts.iter().enumerate() {
                let from = (o * n + j) * inner;
                for _ in 0..c {
                    dst[at..at + inner].copy_from_slice(&src[from..from + inner]);
                    at += inner;
                }
            }
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_row_is_repeated_its_count() {
        let x = Tensor::from_slice(DType::Int32, &[2, 2], &[1i32, 2, 3, 4]).unwrap();
        let c = Tensor::from_slice(DType::Int64, &[2], &[0i64, 2]).unwrap();
        let out = repeat_perform(Some(0), &[&x, &c]).unwrap();
        assert_eq!(&out.shape[..], &[2, 2]);
        assert_eq!(out.contiguous_slice::<i32>().unwrap(), &[3, 4, 3, 4]);
        let flat = repeat_perform(None, &[&x, &c.reshaped(&[2]).unwrap()]);
        assert!(flat.is_err(), "4 elements, 2 counts");
    }
}
