//! Reductions over axes: Sum, Prod, Mean, Max, Min, All, Any (Theano's
//! CAReduce family). All and Any give bool; their gradient is zero.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::memory::{Tensor, c_strides, for_each_offset};
use crate::ops::reduce_kernels::{self, Source};
use crate::ops::scalar::{Prim, cast_tensor, read_all};
use crate::types::{TensorType, Type};
use crate::with_dtype;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub enum ReduceKind {
    Sum,
    Prod,
    Mean,
    Max,
    Min,
    /// Logical and (bool output; non-bool inputs count as `x != 0`).
    All,
    /// Logical or (bool output; non-bool inputs count as `x != 0`).
    Any,
}

/// A reduction over `axis` (all axes when `None`).
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Reduce {
    pub kind: ReduceKind,
    pub axis: Option<Vec<usize>>,
}

impl Reduce {
    /// Theano's accumulation dtype for a sum or product.
    fn acc_dtype(input: DType) -> DType {
        match input {
            DType::Bool => DType::Int64,
            d if d.is_signed_int() => DType::Int64,
            d if d.is_unsigned_int() => DType::UInt64,
            _ => DType::Float64,
        }
    }

    pub(crate) fn out_dtype(&self, input: DType) -> DType {
        match self.kind {
            ReduceKind::Sum | ReduceKind::Prod => match input {
                d if d.is_discrete() => Reduce::acc_dtype(d),
                d => d,
            },
            ReduceKind::Mean => {
                if input.is_discrete() {
                    DType::Float64
                } else {
                    input
                }
            }
            ReduceKind::Max | ReduceKind::Min => input,
            ReduceKind::All | ReduceKind::Any => DType::Bool,
        }
    }

    pub fn name(&self, input: DType) -> String {
        let axis = self
            .axis
            .as_ref()
            .map(|a| {
                format!(
                    "axis=[{}], ",
                    a.iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .unwrap_or_default();
        let acc = Reduce::acc_dtype(input);
        match self.kind {
            ReduceKind::Sum => format!("Sum{{{axis}acc_dtype={acc}}}"),
            ReduceKind::Prod => format!("Prod{{{axis}acc_dtype={acc}}}"),
            ReduceKind::Mean => format!("Mean{{{}}}", axis.trim_end_matches(", ")),
            ReduceKind::Max => format!("Max{{{}}}", axis.trim_end_matches(", ")),
            ReduceKind::Min => format!("Min{{{}}}", axis.trim_end_matches(", ")),
            ReduceKind::All | ReduceKind::Any => {
                let kind = if self.kind == ReduceKind::All {
                    "All"
                } else {
                    "Any"
                };
                match &self.axis {
                    None => kind.to_string(),
                    Some(a) => format!(
                        "{kind}{{{}}}",
                        a.iter()
                            .map(|d| d.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            }
        }
    }

    pub fn output_types(&self, inputs: &[&Type]) -> Result<Vec<Type>> {
        let x = inputs[0]
            .tensor()
            .ok_or_else(|| Error::Type("reduction of a non-tensor".into()))?;
        let reduced = self.reduced_axes(x.ndim())?;
        let bcast: Vec<bool> = (0..x.ndim())
            .filter(|d| !reduced.contains(d))
            .map(|d| x.broadcastable[d])
            .collect();
        Ok(vec![Type::Tensor(TensorType::new(
            self.out_dtype(x.dtype),
            &bcast,
        ))])
    }

    pub(crate) fn reduced_axes(&self, ndim: usize) -> Result<Vec<usize>> {
        match &self.axis {
            None => Ok((0..ndim).collect()),
            Some(a) => {
                if let Some(bad) = a.iter().find(|&&d| d >= ndim) {
                    return Err(Error::Value(format!(
                        "axis {bad} is out of bounds for a {ndim}-dimensional input"
                    )));
                }
                Ok(a.clone())
            }
        }
    }

    /// The reduced axes of an input of `shape` marked, the output's shape
    /// and how many elements each output reduces; Max and Min of nothing
    /// are an error.
    pub(crate) fn layout(&self, shape: &[usize]) -> Result<(Vec<bool>, Vec<usize>, usize)> {
        let reduced = self.reduced_axes(shape.len())?;
        let mut mask = vec![false; shape.len()];
        for &d in &reduced {
            mask[d] = true;
        }
        let out_shape: Vec<usize> = (0..shape.len())
            .filter(|&d| !mask[d])
            .map(|d| shape[d])
            .collect();
        let count: usize = (0..shape.len())
            .filter(|&d| mask[d])
            .map(|d| shape[d])
            .product();
        if matches!(self.kind, ReduceKind::Max | ReduceKind::Min) && count == 0 {
            return Err(Error::Value(format!(
                "zero-size array to reduction operation {:?} which has no identity (shape {:?})",
                self.kind, shape
            )));
        }
        Ok((mask, out_shape, count))
    }

    pub fn perform(&self, x: &Tensor) -> Result<Tensor> {
        let (mask, out_shape, _) = self.layout(&x.shape)?;
        let out_dtype = self.out_dtype(x.dtype);
        if reduce_kernels::supported(x.dtype) {
            let copy;
            let x = if aligned(x) {
                x
            } else {
                copy = x.deep_copy()?;
                &copy
            };
            if let Some(t) = reduce_kernels::reduce(
                self.kind,
                Source::Tensor(x),
                x.dtype,
                &mask,
                &out_shape,
                out_dtype,
            )? {
                return Ok(t);
            }
        }
        self.perform_generic(x)
    }

    /// Any dtype (float16, complex), one element at a time.
    fn perform_generic(&self, x: &Tensor) -> Result<Tensor> {
        let reduced = self.reduced_axes(x.ndim())?;
        let out_shape: Vec<usize> = (0..x.ndim())
            .filter(|d| !reduced.contains(d))
            .map(|d| x.shape[d])
            .collect();
        let out_dtype = self.out_dtype(x.dtype);
        let count: usize = reduced.iter().map(|&d| x.shape[d]).product();
        // Output position of every input element: C strides of the output, 0 on reduced axes.
        let ostr = c_strides(&out_shape, 1);
        let mut k = 0;
        let mut map_strides = vec![0isize; x.ndim()];
        for (d, m) in map_strides.iter_mut().enumerate() {
            if !reduced.contains(&d) {
                *m = ostr[k];
                k += 1;
            }
        }
        let out_size: usize = out_shape.iter().product();
        let acc = match self.kind {
            ReduceKind::Max | ReduceKind::Min => x.dtype,
            ReduceKind::Mean => DType::Float64,
            ReduceKind::All | ReduceKind::Any => DType::Bool,
            _ if x.dtype.is_discrete() => Reduce::acc_dtype(x.dtype),
            _ => DType::Float64,
        };
        let xa = cast_tensor(x, acc)?;
        let result = with_dtype!(acc, T => {
            let values = read_all::<T>(&xa)?;
            let init = match self.kind {
                ReduceKind::Prod | ReduceKind::All => T::one(),
                _ => T::zero(),
            };
            let mut accs = vec![init; out_size];
            // Max and Min start from each group's first element.
            let mut started = vec![!matches!(self.kind, ReduceKind::Max | ReduceKind::Min); out_size];
            let mut i = 0;
            let kind = self.kind;
            for_each_offset(&x.shape, &map_strides, 0, |o| {
                let a = &mut accs[o as usize];
                let v = values[i];
                if !started[o as usize] {
                    started[o as usize] = true;
                    *a = v;
                    i += 1;
                    return;
                }
                *a = match kind {
                    ReduceKind::Sum | ReduceKind::Mean => a.add(v),
                    ReduceKind::Prod | ReduceKind::All => a.mul(v),
                    ReduceKind::Any => if v > *a { v } else { *a },
                    ReduceKind::Max => if v.is_nan() || v > *a { v } else { *a },
                    ReduceKind::Min => if v.is_nan() || v < *a { v } else { *a },
                };
                i += 1;
            });
            if kind == ReduceKind::Mean {
                let n = T::from_f64(count as f64);
                for a in accs.iter_mut() {
                    *a = a.div(n);
                }
            }
            Tensor::from_slice(acc, &out_shape, &accs)?
        });
        cast_tensor(&result, out_dtype)
    }
}

/// Whether `t`'s memory can be read as typed elements in place.
fn aligned(t: &Tensor) -> bool {
    let size = t.dtype.itemsize();
    let align = size.min(8);
    (t.storage().as_ptr() as usize).is_multiple_of(align)
        && t.offset.is_multiple_of(size)
        && t.strides.iter().all(|&s| s.rem_euclid(size as isize) == 0)
}
