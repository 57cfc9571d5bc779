//! Basic indexing: `Subtensor{int32:int32:}` (integers and slices with
//! symbolic bounds), which returns a view of its input.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::memory::{Shape, Strides, Tensor};
use crate::ops::scalar::scalar_i64;
use crate::types::{TensorType, Type};

/// One entry of an index: an integer, or a slice whose present parts are
/// scalar inputs (their dtypes are kept for the op's name).
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub enum IdxEntry {
    Index(DType),
    Slice {
        start: Option<DType>,
        stop: Option<DType>,
        step: Option<DType>,
    },
}

impl IdxEntry {
    fn n_inputs(&self) -> usize {
        match self {
            IdxEntry::Index(_) => 1,
            IdxEntry::Slice { start, stop, step } => {
                start.is_some() as usize + stop.is_some() as usize + step.is_some() as usize
            }
        }
    }
}

/// `x[idx_list]`: inputs are `x` then each present index scalar, in order.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Subtensor {
    pub idx_list: Vec<IdxEntry>,
}

impl Subtensor {
    pub fn name(&self) -> String {
        format!("Subtensor{{{}}}", idx_list_text(&self.idx_list))
    }

    pub fn output_types(&self, inputs: &[&Type]) -> Result<Vec<Type>> {
        let x = inputs[0]
            .tensor()
            .ok_or_else(|| Error::Type(format!("Subtensor of a non-tensor {}", inputs[0])))?;
        if self.idx_list.len() > x.ndim() {
            return Err(Error::Index(format!(
                "too many indices for array: {} indices for a {}-dimensional {}",
                self.idx_list.len(),
                x.ndim(),
                x
            )));
        }
        let wanted: usize = self.idx_list.iter().map(|e| e.n_inputs()).sum();
        if inputs.len() != 1 + wanted {
            return Err(Error::Type(format!(
                "{} expects {} index inputs, got {}",
                self.name(),
                wanted,
                inputs.len() - 1
            )));
        }
        for t in &inputs[1..] {
            if !t.dtype().is_int() || t.ndim() != 0 {
                return Err(Error::Type(format!(
                    "Expected an integer scalar as index, got {t}"
                )));
            }
        }
        let mut bcast = Vec::new();
        for (d, e) in self.idx_list.iter().enumerate() {
            if let IdxEntry::Slice { start, stop, step } = e {
                let full = start.is_none() && stop.is_none() && step.is_none();
                bcast.push(full && x.broadcastable[d]);
            }
        }
        bcast.extend_from_slice(&x.broadcastable[self.idx_list.len()..]);
        Ok(vec![Type::Tensor(TensorType::new(x.dtype, &bcast))])
    }

    /// The view `x[idx]` of a value.
    pub fn perform(&self, inputs: &[&Tensor]) -> Result<Tensor> {
        let x = inputs[0];
        let mut scalars = inputs[1..].iter();
        let mut next = |present: &Option<DType>| -> Result<Option<i64>> {
            match present {
                None => Ok(None),
                Some(_) => scalar_i64(scalars.next().expect("index input")).map(Some),
            }
        };
        let mut shape = Shape::new();
        let mut strides = Strides::new();
        let mut offset = x.offset as isize;
        for (d, e) in self.idx_list.iter().enumerate() {
            let n = x.shape[d] as i64;
            let s = x.strides[d];
            match e {
                IdxEntry::Index(dt) => {
                    let i = next(&Some(*dt))?.unwrap();
                    let j = if i < 0 { i + n } else { i };
                    if j < 0 || j >= n {
                        return Err(Error::Index(format!(
                            "index {i} is out of bounds for axis {d} with size {n}"
                        )));
                    }
                    offset += j as isize * s;
                }
                IdxEntry::Slice { start, stop, step } => {
                    let (start, stop, step) = (next(start)?, next(stop)?, next(step)?);
                    let (first, len, step) = slice_indices(start, stop, step, n)?;
                    offset += first as isize * s;
                    shape.push(len);
                    strides.push(s * step as isize);
                }
            }
        }
        shape.extend_from_slice(&x.shape[self.idx_list.len()..]);
        strides.extend_from_slice(&x.strides[self.idx_list.len()..]);
        if shape.contains(&0) {
            offset = x.offset as isize;
        }
        x.view(shape, strides, offset as usize)
    }
}

/// Theano's text of an index list: `int64:int64:, int8`.
pub fn idx_list_text(idx_list: &[IdxEntry]) -> String {
    let part = |d: &Option<DType>| d.map(|d| d.name().to_string()).unwrap_or_default();
    let entries: Vec<String> = idx_list
        .iter()
        .map(|e| match e {
            IdxEntry::Index(d) => d.name().to_string(),
            IdxEntry::Slice { start, stop, step } => {
                format!("{}:{}:{}", part(start), part(stop), part(step))
            }
        })
        .collect();
    entries.join(", ")
}

/// The index values of `idx_list` read from its scalar inputs.
pub fn raw_index(
    idx_list: &[IdxEntry],
    scalars: &[&Tensor],
) -> Result<Vec<crate::ops::indexing::RawIndex>> {
    use crate::ops::indexing::RawIndex;
    let mut it = scalars.iter();
    let mut next = |present: bool| -> Result<Option<i64>> {
        if !present {
            return Ok(None);
        }
        let t = it
            .next()
            .ok_or_else(|| Error::Runtime("missing index input".into()))?;
        scalar_i64(t).map(Some)
    };
    let mut out = Vec::with_capacity(idx_list.len());
    for e in idx_list {
        out.push(match e {
            IdxEntry::Index(_) => RawIndex::scalar(next(true)?.unwrap_or(0)),
            IdxEntry::Slice { start, stop, step } => RawIndex::Slice(
                next(start.is_some())?,
                next(stop.is_some())?,
                next(step.is_some())?,
            ),
        });
    }
    Ok(out)
}

/// Python's `slice.indices` for a dimension of length `n`: (first, length, step).
pub fn slice_indices(
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
    n: i64,
) -> Result<(i64, usize, i64)> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Error::Value("slice step cannot be zero".into()));
    }
    let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
    let adjust = |v: Option<i64>, default: i64, lo: i64, hi: i64| match v {
        None => default,
        Some(v) if v < 0 => clamp(v + n, lo, hi),
        Some(v) => clamp(v, lo, hi),
    };
    let (first, last) = if step > 0 {
        (adjust(start, 0, 0, n), adjust(stop, n, 0, n))
    } else {
        (adjust(start, n - 1, -1, n - 1), adjust(stop, -1, -1, n - 1))
    };
    let len = if step > 0 {
        if last > first {
            (last - first + step - 1) / step
        } else {
            0
        }
    } else if first > last {
        (first - last + (-step) - 1) / (-step)
    } else {
        0
    };
    Ok((first.max(0), len as usize, step))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_follow_python() {
        assert_eq!(
            slice_indices(Some(3), Some(8), None, 100).unwrap(),
            (3, 5, 1)
        );
        assert_eq!(slice_indices(None, None, Some(-1), 5).unwrap(), (4, 5, -1));
        assert_eq!(slice_indices(Some(-2), None, None, 5).unwrap(), (3, 2, 1));
        assert_eq!(slice_indices(Some(10), Some(20), None, 5).unwrap().1, 0);
        assert_eq!(slice_indices(None, None, Some(2), 5).unwrap(), (0, 3, 2));
    }
}
