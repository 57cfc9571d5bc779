//! Ops that change how a tensor is laid out or describe its shape:
//! DimShuffle, Reshape, Flatten, Shape, Shape_i and MakeVector.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::memory::{Shape as Dims, Strides, Tensor};
use crate::ops::scalar::read_all;
use crate::types::{TensorType, Type};

/// `DimShuffle{x,0}`: permute, drop broadcastable and add broadcastable axes.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct DimShuffle {
    /// For each output dimension, the input dimension, or `None` for a new 'x' axis.
    pub new_order: Vec<Option<usize>>,
    pub input_ndim: usize,
    pub inplace: bool,
}

impl DimShuffle {
    /// Checks the pattern against the input's broadcastable flags.
    pub fn new(
        input_bcast: &[bool],
        new_order: Vec<Option<usize>>,
        inplace: bool,
    ) -> Result<DimShuffle> {
        let mut seen = vec![false; input_bcast.len()];
        for d in new_order.iter().flatten() {
            if *d >= input_bcast.len() {
                return Err(Error::Value(format!(
                    "new_order {:?} refers to dimension {} of a {}-dimensional input",
                    pattern(&new_order),
                    d,
                    input_bcast.len()
                )));
            }
            if seen[*d] {
                return Err(Error::Value(format!(
                    "The same input dimension may not appear twice in the list of output dimensions: {}",
                    pattern(&new_order)
                )));
            }
            seen[*d] = true;
        }
        for (d, kept) in seen.iter().enumerate() {
            if !kept && !input_bcast[d] {
                return Err(Error::Value(
                    "You cannot drop a non-broadcastable dimension.".to_string()
                        + &format!(
                            " (input broadcastable {:?}, new_order {})",
                            input_bcast,
                            pattern(&new_order)
                        ),
                ));
            }
        }
        Ok(DimShuffle {
            new_order,
            input_ndim: input_bcast.len(),
            inplace,
        })
    }

    pub fn name(&self) -> String {
        let p = pattern(&self.new_order);
        if self.inplace {
            format!("InplaceDimShuffle{{{p}}}")
        } else {
            format!("DimShuffle{{{p}}}")
        }
    }

    /// True when the pattern keeps every dimension in order and adds none.
    pub fn is_identity(&self) -> bool {
        self.new_order.len() == self.input_ndim
            && self
                .new_order
                .iter()
                .enumerate()
                .all(|(i, d)| *d == Some(i))
    }

    pub fn output_types(&self, inputs: &[&Type]) -> Result<Vec<Type>> {
        let x = inputs[0]
            .tensor()
            .ok_or_else(|| Error::Type("DimShuffle of a non-tensor".into()))?;
        if x.ndim() != self.input_ndim {
            return Err(Error::Type(format!(
                "{} expects a {}-dimensional input, got {}",
                self.name(),
                self.input_ndim,
                x
            )));
        }
        let bcast: Vec<bool> = self
            .new_order
            .iter()
            .map(|d| d.map(|d| x.broadcastable[d]).unwrap_or(true))
            .collect();
        Ok(vec![Type::Tensor(TensorType::new(x.dtype, &bcast))])
    }

    pub fn perform(&self, x: &Tensor) -> Result<Tensor> {
        let kept: Vec<usize> = self.new_order.iter().flatten().copied().collect();
        for d in 0..x.ndim() {
            if !kept.contains(&d) && x.shape[d] != 1 {
                return Err(Error::Value(format!(
                    "{}: cannot drop dimension {} of length {} (shape {:?})",
                    self.name(),
                    d,
                    x.shape[d],
                    &x.shape[..]
                )));
            }
        }
        let shape: Dims = self
            .new_order
            .iter()
            .map(|d| d.map(|d| x.shape[d]).unwrap_or(1))
            .collect();
        let strides: Strides = self
            .new_order
            .iter()
            .map(|d| d.map(|d| x.strides[d]).unwrap_or(0))
            .collect();
        x.view(shape, strides, x.offset)
    }
}

/// `x,0` style text of a pattern.
pub fn pattern(new_order: &[Option<usize>]) -> String {
    new_order
        .iter()
        .map(|d| d.map(|d| d.to_string()).unwrap_or_else(|| "x".into()))
        .collect::<Vec<_>>()
        .join(",")
}

/// The requested shape of a Reshape, resolving one `-1`.
pub fn resolve_shape(requested: &[i64], size: usize) -> Result<Dims> {
    let unknown: Vec<usize> = requested
        .iter()
        .enumerate()
        .filter(|(_, v)| **v == -1)
        .map(|(i, _)| i)
        .collect();
    if unknown.len() > 1 || requested.iter().any(|&v| v < -1) {
        return Err(Error::Value(format!(
            "Reshape: invalid shape {requested:?}: only one -1 and no other negative length"
        )));
    }
    let known: i64 = requested.iter().filter(|&&v| v != -1).product();
    let mut out: Dims = requested.iter().map(|&v| v.max(0) as usize).collect();
    if let Some(&i) = unknown.first() {
        if known == 0 || size as i64 % known != 0 {
            return Err(Error::Value(format!(
                "cannot reshape array of size {size} into shape {requested:?}"
            )));
        }
        out[i] = size / known as usize;
    }
    if out.iter().product::<usize>() != size {
        return Err(Error::Value(format!(
            "cannot reshape array of size {size} into shape {requested:?}"
        )));
    }
    Ok(out)
}

/// `Reshape{ndim}(x, shape)`.
pub fn reshape_output_types(
    ndim: usize,
    inputs: &[&Type],
    shape_value: Option<&Tensor>,
) -> Result<Vec<Type>> {
    let x = inputs[0]
        .tensor()
        .ok_or_else(|| Error::Type("Reshape of a non-tensor".into()))?;
    let s = inputs[1]
        .tensor()
        .ok_or_else(|| Error::Type("Reshape: the shape must be a tensor".into()))?;
    if s.ndim() != 1 || !s.dtype.is_int() {
        return Err(Error::Type(format!(
            "Reshape: the shape must be an integer vector, got {s}"
        )));
    }
    let mut bcast = vec![false; ndim];
    if let Some(v) = shape_value {
        let values = read_all::<i64>(&crate::ops::scalar::cast_tensor(v, DType::Int64)?)?;
        if values.len() != ndim {
            return Err(Error::Value(format!(
                "Reshape{{{ndim}}}: shape {values:?} has {} entries",
                values.len()
            )));
        }
        for (b, v) in bcast.iter_mut().zip(values) {
            *b = v == 1;
        }
    }
    Ok(vec![Type::Tensor(TensorType::new(x.dtype, &bcast))])
}

pub fn reshape_perform(x: &Tensor, shape: &Tensor) -> Result<Tensor> {
    let values = read_all::<i64>(&crate::ops::scalar::cast_tensor(shape, DType::Int64)?)?;
    let dims = resolve_shape(&values, x.size())?;
    x.reshaped(&dims)
}

/// `Flatten{outdim}`: keep the first `outdim - 1` dimensions, join the rest.
pub fn flatten_output_types(outdim: usize, inputs: &[&Type]) -> Result<Vec<Type>> {
    let x = inputs[0]
        .tensor()
        .ok_or_else(|| Error::Type("flatten of a non-tensor".into()))?;
    if outdim == 0 || outdim > x.ndim().max(1) {
        return Err(Error::Value(format!(
            "flatten: outdim={outdim} is invalid for a {}-dimensional input",
            x.ndim()
        )));
    }
    let mut bcast: Vec<bool> = x.broadcastable[..outdim - 1].to_vec();
    bcast.push(x.broadcastable[outdim - 1..].iter().all(|&b| b) && x.ndim() > 0);
    Ok(vec![Type::Tensor(TensorType::new(x.dtype, &bcast))])
}

pub fn flatten_perform(outdim: usize, x: &Tensor) -> Result<Tensor> {
    let mut dims: Vec<usize> = x.shape[..(outdim - 1).min(x.ndim())].to_vec();
    dims.push(x.shape[(outdim - 1).min(x.ndim())..].iter().product());
    x.reshaped(&dims)
}

/// `Shape(x)`: an int64 vector.
pub fn shape_perform(x: &Tensor) -> Result<Tensor> {
    let v: Vec<i64> = x.shape.iter().map(|&n| n as i64).collect();
    Tensor::from_slice(DType::Int64, &[v.len()], &v)
}

/// `MakeVector{dtype}` of 0-d inputs.
pub fn make_vector_perform(dtype: DType, inputs: &[&Tensor]) -> Result<Tensor> {
    let mut parts = Vec::with_capacity(inputs.len());
    for t in inputs {
        parts.push(crate::ops::scalar::cast_tensor(t, dtype)?);
    }
    let mut out = Tensor::zeros(dtype, &[parts.len()])?;
    crate::with_dtype!(dtype, T => {
        let dst = out.data_mut::<T>()?;
        for (d, p) in dst.iter_mut().zip(&parts) {
            *d = read_all::<T>(p)?[0];
        }
    });
    Ok(out)
}

/// Checks that an index value is a valid dimension for Shape_i.
pub fn shape_i_perform(i: usize, x: &Tensor) -> Result<Tensor> {
    let n = *x.shape.get(i).ok_or_else(|| {
        Error::Index(format!(
            "Shape_i{{{i}}} of a {}-dimensional input",
            x.ndim()
        ))
    })?;
    Tensor::from_slice(DType::Int64, &[], &[n as i64])
}
