//! `Join` (concatenation along an axis) and its inverse `Split`.
//!
//! Both take the axis as a symbolic integer scalar input, as Theano does.
//! Gradients: Join's is a `Split` of the output gradient by the inputs'
//! lengths along the axis; Split's is a `Join` of the output gradients
//! (zeros for the disconnected ones).

use crate::dtype::{self, DType};
use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::ops::axis::{outer_inner, wrap_axis};
use crate::ops::scalar::{cast_tensor, read_all, scalar_i64};
use crate::ops::{InputInfo, Outputs};
use crate::types::{TensorType, Type};
use crate::with_dtype;

fn integer_scalar(t: &Type) -> bool {
    t.ndim() == 0 && t.dtype().is_int()
}

/// `Join(axis, *tensors)`: the output dtype is the upcast of the inputs'; a
/// dimension other than the axis is broadcastable when any input's is (they
/// must all have length 1 there), provided the axis is a constant.
pub fn join_output_types(inputs: &[InputInfo]) -> Result<Vec<Type>> {
    let Some((axis, tensors)) = inputs.split_first() else {
        return Err(Error::Type("Join takes an axis and tensors".into()));
    };
    if tensors.is_empty() {
        return Err(Error::Value("Cannot join an empty list of tensors".into()));
    }
    if !integer_scalar(axis.ty) {
        return Err(Error::Type(format!(
            "Join: the axis must be an integer scalar, got {}",
            axis.ty
        )));
    }
    let mut types = Vec::with_capacity(tensors.len());
    for t in tensors {
        types.push(
            t.ty.tensor()
                .ok_or_else(|| Error::Type(format!("Join expects tensors, got {}", t.ty)))?,
        );
    }
    let ndim = types[0].ndim();
    if types.iter().any(|t| t.ndim() == 0) {
        return Err(Error::Type(
            "Join cannot handle arguments of dimension 0. For joining scalar values, see @stack"
                .into(),
        ));
    }
    if types.iter().any(|t| t.ndim() != ndim) {
        return Err(Error::Type(format!(
            "Join() can only join tensors with the same number of dimensions, got {}",
            types
                .iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let out_dtype = dtype::upcast(&types.iter().map(|t| t.dtype).collect::<Vec<_>>());
    let mut bcast = vec![false; ndim];
    if let Some(value) = axis.constant {
        let a = scalar_i64(value)?;
        check_join_axis(a, ndim)?;
        let a = wrap_axis(a, ndim).unwrap_or(0);
        if types.len() == 1 {
            bcast.copy_from_slice(&types[0].broadcastable);
        } else {
            for t in &types {
                for (d, &b) in t.broadcastable.iter().enumerate() {
                    bcast[d] |= b && d != a;
                }
            }
        }
    } else if types.len() == 1 {
        bcast.copy_from_slice(&types[0].broadcastable);
    }
    Ok(vec![Type::Tensor(TensorType::new(out_dtype, &bcast))])
}

/// Theano's two axis errors: too negative is an IndexError, too large a ValueError.
fn check_join_axis(axis: i64, ndim: usize) -> Result<()> {
    if axis < -(ndim as i64) {
        return Err(Error::Index(format!(
            "Join axis {axis} out of bounds [0, {ndim})"
        )));
    }
    if axis >= ndim as i64 {
        return Err(Error::Value(format!(
            "Join argument \"axis\" is out of range (given input dimensions): axis {axis} for {ndim}-dimensional inputs"
        )));
    }
    Ok(())
}

/// Concatenates `inputs[1..]` along the axis value `inputs[0]`, in `out_dtype`.
pub fn join_perform(inputs: &[&Tensor], out_dtype: DType) -> Result<Tensor> {
    let axis = scalar_i64(inputs[0])?;
    let tensors = &inputs[1..];
    let ndim = tensors[0].ndim();
    let axis = wrap_axis(axis, ndim).ok_or_else(|| {
        Error::Index(format!(
            "Join axis {axis} out of bounds [0, {ndim}) (input shapes {})",
            shapes_text(tensors)
        ))
    })?;
    let mut out_shape = tensors[0].shape.clone();
    let mut total = 0;
    for (i, t) in tensors.iter().enumerate() {
        if t.ndim() != ndim {
            return Err(Error::Value(format!(
                "Join: all the input arrays must have the same number of dimensions, but the array at index 0 has {ndim} dimension(s) and the array at index {i} has {} dimension(s)",
                t.ndim()
            )));
        }
        if let Some(d) = (0..ndim).find(|&d| d != axis && t.shape[d] != out_shape[d]) {
            return Err(Error::Value(format!(
                "Join: all the input array dimensions except for the concatenation axis must match exactly, but along dimension {d}, the array at index 0 has size {} and the array at index {i} has size {} (input shapes {})",
                out_shape[d],
                t.shape[d],
                shapes_text(tensors)
            )));
        }
        total += t.shape[axis];
    }
    out_shape[axis] = total;
    let (outer, inner) = outer_inner(&out_shape, axis);
    let parts: Vec<Tensor> = tensors
        .iter()
        .map(|t| cast_tensor(t, out_dtype).and_then(|c| c.contiguous()))
        .collect::<Result<_>>()?;
    let mut out = Tensor::zeros(out_dtype, &out_shape)?;
    with_dtype!(out_dtype, T => {
        let dst = out.data_mut::<T>()?;
        let row = total * inner;
        let mut start = 0;
        for p in &parts {
            let src = p
                .contiguous_slice::<T>()
                .ok_or_else(|| Error::Runtime("Join: input is not contiguous".into()))?;
            let block = p.shape[axis] * inner;
            for o in 0..outer {
                let at = o * row + start;
                dst[at..at + block].copy_from_slice(&src[o * block..(o + 1) * block]);
            }
            start += block;
        }
    });
    Ok(out)
}

fn shapes_text(tensors: &[&Tensor]) -> String {
    tensors
        .iter()
        .map(|t| format!("{:?}", &t.shape[..]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Split{n}(x, axis, splits)`: `n` outputs of `x`'s type, except that the
/// split axis (when constant) is not broadcastable.
pub fn split_output_types(n: usize, inputs: &[InputInfo]) -> Result<Vec<Type>> {
    let x = inputs[0]
        .ty
        .tensor()
        .ok_or_else(|| Error::Type(format!("Split of a non-tensor {}", inputs[0].ty)))?;
    if !integer_scalar(inputs[1].ty) {
        return Err(Error::Type(format!(
            "Split: the axis must be an integer scalar, got {}",
            inputs[1].ty
        )));
    }
    let s = inputs[2].ty;
    if s.ndim() != 1 || !s.dtype().is_int() {
        return Err(Error::Type(format!(
            "Split: the split sizes must be an integer vector, got {s}"
        )));
    }
    if x.ndim() == 0 {
        return Err(Error::Type("Split cannot split a 0-d tensor".into()));
    }
    let mut bcast = x.broadcastable.clone();
    if let Some(value) = inputs[1].constant {
        let a = scalar_i64(value)?;
        let d = wrap_axis(a, x.ndim()).ok_or_else(|| {
            Error::Index(format!(
                "Split: invalid axis {a} for a {}-D tensor {x}",
                x.ndim()
            ))
        })?;
        bcast[d] = false;
    }
    if let Some(value) = inputs[2].constant
        && value.size() != n
    {
        return Err(Error::Value(format!(
            "Split{{{n}}}: {} split sizes given for {n} outputs",
            value.size()
        )));
    }
    Ok(vec![Type::Tensor(TensorType::new(x.dtype, &bcast)); n])
}

/// The `n` pieces of `x` along the axis, each a contiguous copy.
pub fn split_perform(n: usize, inputs: &[&Tensor]) -> Result<Outputs> {
    let x = inputs[0];
    let a = scalar_i64(inputs[1])?;
    let axis = wrap_axis(a, x.ndim()).ok_or_else(|| {
        Error::Index(format!(
            "Split: invalid axis {a} for a {}-D array of shape {:?}",
            x.ndim(),
            &x.shape[..]
        ))
    })?;
    let splits = read_all::<i64>(&cast_tensor(inputs[2], DType::Int64)?)?;
    if splits.len() != n {
        return Err(Error::Value(format!(
            "Split{{{n}}}: splits count ({}) != expected count ({n})",
            splits.len()
        )));
    }
    if let Some(bad) = splits.iter().find(|&&s| s < 0) {
        return Err(Error::Value(format!(
            "Split: you try to take a negative number ({bad}) of elements (splits {splits:?})"
        )));
    }
    let sum: i64 = splits.iter().sum();
    if sum != x.shape[axis] as i64 {
        return Err(Error::Value(format!(
            "Split: the splits sum to {sum}, expected {} (splits {splits:?}, input shape {:?}, axis {axis})",
            x.shape[axis],
            &x.shape[..]
        )));
    }
    let mut outs = Outputs::new();
    let mut start = 0isize;
    for &len in &splits {
        let mut shape = x.shape.clone();
        shape[axis] = len as usize;
        let offset = if len == 0 {
            x.offset
        } else {
            (x.offset as isize + start * x.strides[axis]) as usize
        };
        outs.push(x.view(shape, x.strides.clone(), offset)?.deep_copy()?);
        start += len as isize;
    }
    Ok(outs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t64(shape: &[usize], v: &[f64]) -> Tensor {
        Tensor::from_slice(DType::Float64, shape, v).unwrap()
    }

    fn axis(a: i64) -> Tensor {
        Tensor::from_slice(DType::Int64, &[], &[a]).unwrap()
    }

    #[test]
    fn join_concatenates_along_a_negative_axis() {
        let a = t64(&[2, 1], &[1.0, 2.0]);
        let b = t64(&[2, 2], &[3.0, 4.0, 5.0, 6.0]);
        let out = join_perform(&[&axis(-1), &a, &b], DType::Float64).unwrap();
        assert_eq!(&out.shape[..], &[2, 3]);
        assert_eq!(
            out.contiguous_slice::<f64>().unwrap(),
            &[1.0, 3.0, 4.0, 2.0, 5.0, 6.0]
        );
    }

    #[test]
    fn join_refuses_inputs_that_differ_off_the_axis() {
        let a = t64(&[2, 1], &[1.0, 2.0]);
        let b = t64(&[3, 1], &[3.0, 4.0, 5.0]);
        let err = join_perform(&[&axis(1), &a, &b], DType::Float64).unwrap_err();
        assert!(matches!(err, Error::Value(m) if m.contains("dimension 0")));
    }

    #[test]
    fn split_undoes_join() {
        let x = t64(&[5], &[0.0, 1.0, 2.0, 3.0, 4.0]);
        let splits = Tensor::from_slice(DType::Int64, &[3], &[2i64, 0, 3]).unwrap();
        let outs = split_perform(3, &[&x, &axis(0), &splits]).unwrap();
        let lens: Vec<usize> = outs.iter().map(|o| o.shape[0]).collect();
        assert_eq!(lens, vec![2, 0, 3]);
        let back = join_perform(&[&axis(0), &outs[0], &outs[1], &outs[2]], DType::Float64).unwrap();
        assert!(back.same_values(&x));
    }

    #[test]
    fn split_sizes_must_add_up() {
        let x = t64(&[3], &[0.0, 1.0, 2.0]);
        let splits = Tensor::from_slice(DType::Int64, &[2], &[1i64, 1]).unwrap();
        assert!(split_perform(2, &[&x, &axis(0), &splits]).is_err());
    }
}
