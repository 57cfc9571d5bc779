//! `Alloc(value, *shape)`: a new tensor of the given shape filled by
//! broadcasting `value` (`T.alloc`, `T.zeros`, `T.ones`).
//!
//! Gradient: the output gradient summed over the axes `value` was broadcast
//! along (the leading new axes, and the axes where `value` has length 1),
//! reshaped to `value`'s shape; the shape inputs are disconnected.

use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::ops::InputInfo;
use crate::ops::scalar::{broadcast_copy, scalar_i64};
use crate::types::{TensorType, Type};
use crate::with_dtype;

/// The output has one dimension per shape input, `value`'s dtype, and is
/// broadcastable where the shape input is the constant 1.
pub fn alloc_output_types(inputs: &[InputInfo]) -> Result<Vec<Type>> {
    let Some((value, shape)) = inputs.split_first() else {
        return Err(Error::Type("Alloc takes a value and a shape".into()));
    };
    let v = value.ty.tensor().ok_or_else(|| {
        Error::Type(format!(
            "Alloc: the value must be a tensor, got {}",
            value.ty
        ))
    })?;
    let mut bcast = Vec::with_capacity(shape.len());
    for (i, s) in shape.iter().enumerate() {
        if !s.ty.dtype().is_int() {
            return Err(Error::Type(format!(
                "Shape arguments to Alloc must be integers, but argument {i} is not: {}",
                s.ty
            )));
        }
        if s.ty.ndim() != 0 {
            return Err(Error::Type(format!(
                "Each shape dimension to Alloc must be a scalar, but dimension {i} has {} dimensions",
                s.ty.ndim()
            )));
        }
        let one = match s.constant {
            Some(c) => scalar_i64(c)? == 1,
            None => false,
        };
        bcast.push(one);
    }
    if v.ndim() > shape.len() {
        return Err(Error::Type(format!(
            "The Alloc value to use has more dimensions ({}) than the specified dimensions ({})",
            v.ndim(),
            shape.len()
        )));
    }
    Ok(vec![Type::Tensor(TensorType::new(v.dtype, &bcast))])
}

/// Reads shape scalars, refusing negative lengths.
pub fn shape_values(op: &str, scalars: &[&Tensor]) -> Result<Vec<usize>> {
    let values: Vec<i64> = scalars
        .iter()
        .map(|t| scalar_i64(t))
        .collect::<Result<_>>()?;
    if values.iter().any(|&v| v < 0) {
        return Err(Error::Value(format!(
            "{op}: negative dimensions are not allowed (shape {values:?})"
        )));
    }
    Ok(values.into_iter().map(|v| v as usize).collect())
}

pub fn alloc_perform(inputs: &[&Tensor]) -> Result<Tensor> {
    let v = inputs[0];
    let shape = shape_values("Alloc", &inputs[1..])?;
    let pad = shape.len() - v.ndim().min(shape.len());
    let fits = v.ndim() <= shape.len()
        && v.shape
            .iter()
            .enumerate()
            .all(|(d, &n)| n == 1 || n == shape[pad + d]);
    if !fits {
        return Err(Error::Value(format!(
            "Alloc: could not broadcast a value of shape {:?} to the shape {:?}",
            &v.shape[..],
            shape
        )));
    }
    with_dtype!(v.dtype, T => {
        let values = broadcast_copy::<T>(v, &shape)?;
        Tensor::from_slice(v.dtype, &shape, &values)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    fn n(v: i64) -> Tensor {
        Tensor::from_slice(DType::Int64, &[], &[v]).unwrap()
    }

    #[test]
    fn a_row_is_broadcast_down_the_rows() {
        let v = Tensor::from_slice(DType::Float32, &[1, 2], &[1.0f32, 2.0]).unwrap();
        let out = alloc_perform(&[&v, &n(3), &n(2)]).unwrap();
        assert_eq!(
            out.contiguous_slice::<f32>().unwrap(),
            &[1.0, 2.0, 1.0, 2.0, 1.0, 2.0]
        );
    }

    #[test]
    fn shapes_that_do_not_fit_are_errors() {
        let v = Tensor::from_slice(DType::Float32, &[2], &[1.0f32, 2.0]).unwrap();
        assert!(alloc_perform(&[&v, &n(3)]).is_err());
        assert!(alloc_perform(&[&v, &n(-1), &n(2)]).is_err());
    }
}
