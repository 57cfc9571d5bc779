//! Products: `dot` of vectors and matrices, through a pure-Rust GEMM for
//! float32/float64 and a plain loop for the other dtypes.

use crate::dtype::{self, DType};
use crate::error::{Error, Result};
use crate::memory::{
    GemmFloat, MatRef, Tensor, gemm_pays_to_split, gemm_scaled_into, gemm_update_into,
};
use crate::ops::gemv::small_gemv;
use crate::ops::scalar::{Prim, cast_tensor, read_all};
use crate::ops::simd::SimdFloat;
use crate::types::{TensorType, Type};
use crate::with_dtype;

pub fn dot_output_types(inputs: &[&Type]) -> Result<Vec<Type>> {
    let (a, b) = match (inputs[0].tensor(), inputs[1].tensor()) {
        (Some(a), Some(b)) => (a, b),
        _ => return Err(Error::Type("dot expects two tensors".into())),
    };
    let dtype = dtype::arithmetic_upcast(&[a.dtype, b.dtype]);
    let bcast: Vec<bool> = match (a.ndim(), b.ndim()) {
        (1, 1) => vec![],
        (2, 1) => vec![a.broadcastable[0]],
        (1, 2) => vec![b.broadcastable[1]],
        (2, 2) => vec![a.broadcastable[0], b.broadcastable[1]],
        (x, y) => {
            return Err(Error::NotImplemented(format!(
                "dot of a {x}-dimensional and a {y}-dimensional tensor ({a} and {b}): only vectors and matrices are supported"
            )));
        }
    };
    Ok(vec![Type::Tensor(TensorType::new(dtype, &bcast))])
}

/// NumPy's `dot` for 1-d and 2-d operands.
pub fn dot_perform(a: &Tensor, b: &Tensor, out_dtype: DType) -> Result<Tensor> {
    let (m, k) = match a.ndim() {
        1 => (1, a.shape[0]),
        _ => (a.shape[0], a.shape[1]),
    };
    let (k2, n) = match b.ndim() {
        1 => (b.shape[0], 1),
        _ => (b.shape[0], b.shape[1]),
    };
    if k != k2 {
        return Err(Error::Value(format!(
            "shapes {:?} and {:?} not aligned: {} (dim {}) != {} (dim 0)",
            &a.shape[..],
            &b.shape[..],
            k,
            a.ndim() - 1,
            k2
        )));
    }
    let out_shape: Vec<usize> = match (a.ndim(), b.ndim()) {
        (1, 1) => vec![],
        (2, 1) => vec![m],
        (1, 2) => vec![n],
        _ => vec![m, n],
    };
    let a = cast_tensor(a, out_dtype)?;
    let b = cast_tensor(b, out_dtype)?;
    if matches!(out_dtype, DType::Float32 | DType::Float64) {
        // Every element is written (the product does not read the old ones).
        let mut out = Tensor::empty(out_dtype, &out_shape)?;
        dot_into(m, n, k, &a, &b, &mut out)?;
        return Ok(out);
    }
    let mut out = Tensor::zeros(out_dtype, &out_shape)?;
    let (a, b) = (a.contiguous()?, b.contiguous()?);
    with_dtype!(out_dtype, T => naive::<T>(m, n, k, &a, &b, &mut out)?);
    Ok(out)
}

/// `out = a·b` into an existing float32/float64 C-contiguous output of the
/// product's shape (`a` and `b` already of its dtype).
fn dot_into(m: usize, n: usize, k: usize, a: &Tensor, b: &Tensor, out: &mut Tensor) -> Result<()> {
    match out.dtype {
        DType::Float32 => strided_gemm::<f32>((m, n, k), a, b, out.data_mut()?, None, 1.0, None),
        DType::Float64 => strided_gemm::<f64>((m, n, k), a, b, out.data_mut()?, None, 1.0, None),
        d => Err(Error::Runtime(format!(
            "internal error: dot into a {d} buffer"
        ))),
    }
}

/// [`crate::ops::Op::perform_into`] for `dot`: the product written over an
/// old output of the same shape and dtype (float32/float64 operands of the
/// output's dtype); `Ok(false)` when it does not apply.
pub fn dot_perform_into(a: &Tensor, b: &Tensor, out: &mut Tensor) -> Result<bool> {
    let dtype = out.dtype;
    if !matches!(dtype, DType::Float32 | DType::Float64)
        || a.dtype != dtype
        || b.dtype != dtype
        || !out.is_writable()
        || !(1..=2).contains(&a.ndim())
        || !(1..=2).contains(&b.ndim())
    {
        return Ok(false);
    }
    let (m, k) = if a.ndim() == 1 {
        (1, a.shape[0])
    } else {
        (a.shape[0], a.shape[1])
    };
    let (k2, n) = if b.ndim() == 1 {
        (b.shape[0], 1)
    } else {
        (b.shape[0], b.shape[1])
    };
    let expected: Vec<usize> = match (a.ndim(), b.ndim()) {
        (1, 1) => vec![],
        (2, 1) => vec![m],
        (1, 2) => vec![n],
        _ => vec![m, n],
    };
    if k != k2 || out.shape[..] != expected[..] {
        return Ok(false);
    }
    dot_into(m, n, k, a, b, out)?;
    Ok(true)
}

/// `a` as an `rows`×`cols` matrix over its own buffer (a vector is one row
/// when `as_row`, else one column), when its strides are non-negative:
/// transposes and slices are read in place, without a copy.
pub(crate) fn mat_view<T: GemmFloat>(
    t: &Tensor,
    rows: usize,
    cols: usize,
    as_row: bool,
) -> Option<MatRef<'_, T>> {
    let (data, strides, offset) = t.elements::<T>().ok()?;
    let stride = |i: usize| usize::try_from(strides[i]).ok();
    let (rs, cs) = match (t.ndim(), as_row) {
        (1, true) => (cols * stride(0)?.max(1), stride(0)?),
        (1, false) => (stride(0)?, 1),
        _ => (stride(0)?, stride(1)?),
    };
    Some(MatRef {
        data,
        offset,
        rows,
        cols,
        rs,
        cs,
    })
}

/// `dst = dst_scale·dst + scale·(a·b)` through the GEMM, `dst` a row-major
/// `m`×`n` block (row stride `n`), reading strided operands in place (copied
/// to C order only when a stride is negative). A vector `a` is one row, a
/// vector `b` one column.
///
/// With `addend` (and `dst_scale`), `dst` is first set to it, block by block
/// inside the product (`gemm_update_into`); a vector addend is one column.
pub(crate) fn strided_gemm<T: SimdFloat>(
    (m, n, k): (usize, usize, usize),
    a: &Tensor,
    b: &Tensor,
    dst: &mut [T],
    dst_scale: Option<T>,
    scale: T,
    addend: Option<&Tensor>,
) -> Result<()> {
    let unaligned = || Error::Value("dot: an operand is not aligned to its element size".into());
    let (ac, bc);
    let a = match mat_view::<T>(a, m, k, true) {
        Some(v) => v,
        None => {
            ac = a.deep_copy()?;
            mat_view::<T>(&ac, m, k, true).ok_or_else(unaligned)?
        }
    };
    let b = match mat_view::<T>(b, k, n, false) {
        Some(v) => v,
        None => {
            bc = b.deep_copy()?;
            mat_view::<T>(&bc, k, n, false).ok_or_else(unaligned)?
        }
    };
    let zc;
    let z = match (addend, dst_scale) {
        (Some(z), Some(_)) => Some(match mat_view::<T>(z, m, n, z.ndim() == 2) {
            Some(v) => v,
            None => {
                zc = z.deep_copy()?;
                mat_view::<T>(&zc, m, n, zc.ndim() == 2).ok_or_else(unaligned)?
            }
        }),
        _ => None,
    };
    let small_vector = (m == 1 || n == 1) && !gemm_pays_to_split(m, n, k);
    let in_bounds = a.in_bounds() && b.in_bounds() && z.is_none_or(|z| z.in_bounds());
    if small_vector && in_bounds && dst.len() >= m * n && small_gemv(dst, z, a, b, dst_scale, scale)
    {
        return Ok(());
    }
    match (z, dst_scale) {
        (Some(z), Some(beta)) => gemm_update_into(dst, n, z, a, b, beta, scale, true),
        _ => gemm_scaled_into(dst, n, a, b, dst_scale, scale, true),
    }
}

fn naive<T: Prim>(
    m: usize,
    n: usize,
    k: usize,
    a: &Tensor,
    b: &Tensor,
    out: &mut Tensor,
) -> Result<()> {
    let x = read_all::<T>(a)?;
    let y = read_all::<T>(b)?;
    let dst = out.data_mut::<T>()?;
    for i in 0..m {
        for j in 0..n {
            let mut acc = T::zero();
            for p in 0..k {
                acc = acc.add(x[i * k + p].mul(y[p * n + j]));
            }
            dst[i * n + j] = acc;
        }
    }
    Ok(())
}
