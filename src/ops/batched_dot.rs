//! `BatchedDot(x, y)`: `out[i] = dot(x[i], y[i])` for 2-d or 3-d operands
//! (a batch of vectors or matrices), one GEMM per batch element.
//!
//! Gradient (gz the output gradient, `T` swapping the last two axes):
//! x 3-d, y 3-d: gx = batched_dot(gz, yT), gy = batched_dot(xT, gz);
//! x 2-d, y 3-d: gx = batched_dot(gz, yT), gy = x[:, :, None] * gz[:, None, :];
//! x 3-d, y 2-d: gx = gz[:, :, None] * y[:, None, :], gy = batched_dot(xT, gz);
//! x 2-d, y 2-d: gx = gz[:, None] * y, gy = gz[:, None] * x.

use crate::dtype::{self, DType};
use crate::error::{Error, Result};
use crate::memory::{MatRef, Tensor, gemm_into};
use crate::ops::scalar::{Prim, cast_tensor};
use crate::types::{TensorType, Type};
use crate::with_dtype;

/// The output: the batch axis (broadcastable when either input's is), then
/// x's rows when x is 3-d, then y's columns when y is 3-d.
pub fn batched_dot_output_types(inputs: &[&Type]) -> Result<Vec<Type>> {
    let mut ts = Vec::with_capacity(2);
    for (i, t) in inputs.iter().enumerate() {
        let tt = t
            .tensor()
            .ok_or_else(|| Error::Type(format!("BatchedDot: input {i} is not a tensor: {t}")))?;
        if !(2..=3).contains(&tt.ndim()) {
            return Err(Error::Type(format!(
                "BatchedDot: input {i} (0-indexed) must have ndim of 2 or 3, {} given ({tt}). Consider calling T.batched_dot instead.",
                tt.ndim()
            )));
        }
        ts.push(tt);
    }
    let (x, y) = (ts[0], ts[1]);
    let mut bcast = vec![x.broadcastable[0] || y.broadcastable[0]];
    bcast.extend_from_slice(&x.broadcastable[1..x.ndim() - 1]);
    bcast.extend_from_slice(&y.broadcastable[2..]);
    let d = dtype::upcast(&[x.dtype, y.dtype]);
    Ok(vec![Type::Tensor(TensorType::new(d, &bcast))])
}

pub fn batched_dot_perform(x: &Tensor, y: &Tensor, out_dtype: DType) -> Result<Tensor> {
    let shapes = || format!("{:?} and {:?}", &x.shape[..], &y.shape[..]);
    let batch = x.shape[0];
    if y.shape[0] != batch {
        return Err(Error::Value(format!(
            "BatchedDot: inputs must have the same size in axis 0, but have shapes {}",
            shapes()
        )));
    }
    let (rows, k) = if x.ndim() == 3 {
        (x.shape[1], x.shape[2])
    } else {
        (1, x.shape[1])
    };
    let (k2, cols) = if y.ndim() == 3 {
        (y.shape[1], y.shape[2])
    } else {
        (y.shape[1], 1)
    };
    if k != k2 {
        return Err(Error::Value(format!(
            "BatchedDot: shapes {} not aligned: {k} (dim {}) != {k2} (dim 1)",
            shapes(),
            x.ndim() - 1
        )));
    }
    let mut out_shape = vec![batch];
    if x.ndim() == 3 {
        out_shape.push(rows);
    }
    if y.ndim() == 3 {
        out_shape.push(cols);
    }
    let a = cast_tensor(x, out_dtype)?.contiguous()?;
    let b = cast_tensor(y, out_dtype)?.contiguous()?;
    let mut out = Tensor::zeros(out_dtype, &out_shape)?;
    let sizes = (rows * k, k * cols, rows * cols);
    match out_dtype {
        DType::Float32 => batches::<f32>(&a, &b, &mut out, sizes, |l, r, d| {
            let (l, r) = (MatRef::row_major(l, rows, k), MatRef::row_major(r, k, cols));
            gemm_into(d, cols, l, r, false, true)
        })?,
        DType::Float64 => batches::<f64>(&a, &b, &mut out, sizes, |l, r, d| {
            let (l, r) = (MatRef::row_major(l, rows, k), MatRef::row_major(r, k, cols));
            gemm_into(d, cols, l, r, false, true)
        })?,
        dt => with_dtype!(dt, T => batches::<T>(&a, &b, &mut out, sizes, |l, r, d| {
            naive(rows, cols, k, l, r, d);
            Ok(())
        })?),
    }
    Ok(out)
}

/// Calls `f(lhs, rhs, out)` on the slices of each batch element; `sizes` are
/// the element counts of one lhs, rhs and out matrix.
fn batches<T: Prim>(
    a: &Tensor,
    b: &Tensor,
    out: &mut Tensor,
    (sa, sb, so): (usize, usize, usize),
    f: impl Fn(&[T], &[T], &mut [T]) -> Result<()>,
) -> Result<()> {
    let not_contiguous = || Error::Runtime("BatchedDot: operand is not contiguous".into());
    let lhs = a.contiguous_slice::<T>().ok_or_else(not_contiguous)?;
    let rhs = b.contiguous_slice::<T>().ok_or_else(not_contiguous)?;
    let dst = out.data_mut::<T>()?;
    for i in 0..a.shape[0] {
        f(
            &lhs[i * sa..(i + 1) * sa],
            &rhs[i * sb..(i + 1) * sb],
            &mut dst[i * so..(i + 1) * so],
        )?;
    }
    Ok(())
}

/// `d = l · r` (row-major m×k by k×n) by the definition, for the dtypes the
/// GEMM does not cover.
fn naive<T: Prim>(m: usize, n: usize, k: usize, l: &[T], r: &[T], d: &mut [T]) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = T::zero();
            for p in 0..k {
                acc = acc.add(l[i * k + p].mul(r[p * n + j]));
            }
            d[i * n + j] = acc;
        }
    }
}
