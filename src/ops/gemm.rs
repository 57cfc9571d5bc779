//! BLAS level-3 and level-2 updates, made by the `gemm` rewrite from
//! elementwise sums of `dot`s (never built by users' code directly):
//!
//! - `Gemm(z, a, x, y, b) = b·z + a·dot(x, y)` for matrices (`Gemm{no_inplace}`);
//! - `Gemv(y, alpha, A, x, beta) = beta·y + alpha·dot(A, x)` for a matrix and
//!   vectors (`Gemv{no_inplace}`);
//!
//! and the plain products of two matrices the specialize rewrites make from
//! the `dot`s left over (`rewrite/dot22.rs`): `Dot22(x, y)` and
//! `Dot22Scalar(x, y, a) = a·dot(x, y)`.
//!
//! `a`, `b`, `alpha`, `beta` are 0-d float tensors; the others share one dtype,
//! float32 or float64. `z` (`y`) may have length 1 along an axis the product
//! has longer (it is broadcast). When the scale of `z` is 0, `z` is not read
//! (BLAS's `beta = 0`). The output is a fresh C-order buffer (or, through
//! [`Gemm::perform_into`], an old output of the node): `z` is copied into it
//! and the product accumulated there by [`crate::memory::gemm_scaled_into`].
//!
//! Where the destroy handler allows it (`z` an intermediate nobody reads
//! later, of the product's type), the inplace rewrite wraps the node in
//! [`crate::ops::Op::Inplace`]: `Gemm{inplace}` / `Gemv{inplace}`, which
//! accumulate the product straight into `z`'s buffer (`update_over`), or
//! into a fresh one when `z`'s memory turns out shared or broadcast.

use crate::build;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::graph::VarRef;
use crate::memory::{GemmFloat, Shape, Tensor};
use crate::ops::blas::strided_gemm;
use crate::ops::grad::Grad;
use crate::ops::scalar::{Prim, cast_tensor, read_all};
use crate::ops::simd::SimdFloat;
use crate::types::{TensorType, Type};

/// `b·z + a·dot(x, y)`; inputs `(z, a, x, y, b)`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Gemm {}

/// `beta·y + alpha·dot(A, x)`; inputs `(y, alpha, A, x, beta)`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Gemv {}

/// `dot(x, y)` of two matrices of one float dtype (`Dot22`), or with a 0-d
/// scale, `a·dot(x, y)` (`Dot22Scalar`); inputs `(x, y)` or `(x, y, a)`.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Dot22 {
    pub scaled: bool,
}

/// The inputs' tensor types, with errors naming the op and the input.
fn tensor_types<'a>(
    name: &str,
    labels: &[&str],
    inputs: &[&'a Type],
) -> Result<Vec<&'a TensorType>> {
    if inputs.len() != labels.len() {
        return Err(Error::Type(format!(
            "{name} takes {} inputs ({}), got {}",
            labels.len(),
            labels.join(", "),
            inputs.len()
        )));
    }
    labels
        .iter()
        .zip(inputs)
        .map(|(l, t)| {
            t.tensor()
                .ok_or_else(|| Error::Type(format!("{name}: {l} must be a tensor, got {t}")))
        })
        .collect()
}

/// Checks the ranks and dtypes: `labels[i]` must have `ndims[i]` dimensions;
/// the non-scalar operands one float dtype (float32/float64), the scalars a
/// float dtype.
fn check_operands(
    name: &str,
    labels: &[&str],
    ndims: &[usize],
    ts: &[&TensorType],
) -> Result<DType> {
    let described = || {
        labels
            .iter()
            .zip(ts)
            .map(|(l, t)| format!("{l}: {t}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for ((l, t), &nd) in labels.iter().zip(ts).zip(ndims) {
        if t.ndim() != nd {
            return Err(Error::Type(format!(
                "{name}: {l} must be {nd}-dimensional, got a {}-dimensional tensor ({})",
                t.ndim(),
                described()
            )));
        }
    }
    let arrays: Vec<&TensorType> = ts
        .iter()
        .zip(ndims)
        .filter(|(_, nd)| **nd > 0)
        .map(|(t, _)| *t)
        .collect();
    let dtype = arrays[0].dtype;
    if !matches!(dtype, DType::Float32 | DType::Float64) || arrays.iter().any(|t| t.dtype != dtype)
    {
        return Err(Error::Type(format!(
            "{name}: the matrix and vector operands must share one dtype, float32 or float64 ({})",
            described()
        )));
    }
    if ts.iter().any(|t| !t.dtype.is_float()) {
        return Err(Error::Type(format!(
            "{name}: the scales must be float scalars ({})",
            described()
        )));
    }
    Ok(dtype)
}

/// The value of a 0-d scale as `T`.
fn scale_value<T: GemmFloat + Prim>(name: &str, t: &Tensor, dtype: DType) -> Result<T> {
    if t.size() != 1 {
        return Err(Error::Value(format!(
            "{name}: a scale must hold one value, got shape {:?}",
            &t.shape[..]
        )));
    }
    if t.dtype == dtype
        && let Some(&[v]) = t.contiguous_slice::<T>()
    {
        return Ok(v);
    }
    Ok(read_all::<T>(&cast_tensor(t, dtype)?)?[0])
}

/// `z` seen with the product's shape: axes of length 1 broadcast (stride 0);
/// `None` when `z` has that shape already.
fn broadcast_to(name: &str, label: &str, z: &Tensor, shape: &[usize]) -> Result<Option<Tensor>> {
    if z.shape[..] == *shape {
        return Ok(None);
    }
    if z.ndim() != shape.len() || z.shape.iter().zip(shape).any(|(&a, &b)| a != b && a != 1) {
        return Err(Error::Value(format!(
            "{name}: {label} of shape {:?} does not match the product's shape {shape:?}",
            &z.shape[..]
        )));
    }
    let strides = z
        .strides
        .iter()
        .zip(z.shape.iter().zip(shape))
        .map(|(&s, (&a, &b))| if a == b { s } else { 0 })
        .collect();
    z.view(shape.into(), strides, z.offset).map(Some)
}

/// The shared kernel: `out = b·z + a·(lhs·rhs)` with `lhs` `m`×`k` and `rhs`
/// `k`×`n` (a vector `rhs` is one column); `out` C-contiguous, `m`·`n`
/// elements, writable. `z` `None`: `out` holds `z` already (in place).
#[allow(clippy::too_many_arguments)]
fn update_into(
    name: &str,
    z: Option<&Tensor>,
    a: &Tensor,
    lhs: &Tensor,
    rhs: &Tensor,
    b: &Tensor,
    (m, n, k): (usize, usize, usize),
    out: &mut Tensor,
) -> Result<()> {
    let dtype = out.dtype;
    let (lhs_cast, rhs_cast);
    let lhs = if lhs.dtype == dtype {
        lhs
    } else {
        lhs_cast = cast_tensor(lhs, dtype)?;
        &lhs_cast
    };
    let rhs = if rhs.dtype == dtype {
        rhs
    } else {
        rhs_cast = cast_tensor(rhs, dtype)?;
        &rhs_cast
    };
    #[allow(clippy::too_many_arguments)]
    fn run<T: SimdFloat + Prim>(
        name: &str,
        z: Option<&Tensor>,
        a: &Tensor,
        lhs: &Tensor,
        rhs: &Tensor,
        b: &Tensor,
        (m, n, k): (usize, usize, usize),
        out: &mut Tensor,
    ) -> Result<()> {
        let dtype = out.dtype;
        let alpha = scale_value::<T>(name, a, dtype)?;
        let beta = scale_value::<T>(name, b, dtype)?;
        let dst_scale = (beta != T::ZERO).then_some(beta);
        let z_cast;
        let z = match (z, dst_scale) {
            (Some(z), Some(_)) if z.dtype == dtype => Some(z),
            (Some(z), Some(_)) => {
                z_cast = cast_tensor(z, dtype)?;
                Some(&z_cast)
            }
            _ => None,
        };
        let dst = out.data_mut::<T>()?;
        strided_gemm::<T>((m, n, k), lhs, rhs, dst, dst_scale, alpha, z)
    }
    match dtype {
        DType::Float32 => run::<f32>(name, z, a, lhs, rhs, b, (m, n, k), out),
        DType::Float64 => run::<f64>(name, z, a, lhs, rhs, b, (m, n, k), out),
        d => Err(Error::Runtime(format!(
            "internal error: {name} into a {d} buffer"
        ))),
    }
}

/// Sizes and the broadcast `z` (`None`: `z` as it is) of a product
/// `lhs (m×k) · rhs (k×n or k)`.
struct Plan {
    dims: (usize, usize, usize),
    shape: Shape,
    z: Option<Tensor>,
}

fn plan(name: &str, labels: [&str; 3], z: &Tensor, lhs: &Tensor, rhs: &Tensor) -> Result<Plan> {
    let (dims, shape) = product_dims(name, labels, lhs, rhs)?;
    let z = broadcast_to(name, labels[0], z, &shape)?;
    Ok(Plan { dims, shape, z })
}

/// `(m, n, k)` and the result's shape of `lhs (m×k) · rhs (k×n or k)`.
type ProductDims = ((usize, usize, usize), Shape);

fn product_dims(name: &str, labels: [&str; 3], lhs: &Tensor, rhs: &Tensor) -> Result<ProductDims> {
    let (m, k) = (lhs.shape[0], lhs.shape[1]);
    let k2 = rhs.shape[0];
    let n = if rhs.ndim() == 2 { rhs.shape[1] } else { 1 };
    if k != k2 {
        return Err(Error::Value(format!(
            "{name}: shapes of {} {:?} and {} {:?} are not aligned: {k} (dim 1) != {k2} (dim 0)",
            labels[1],
            &lhs.shape[..],
            labels[2],
            &rhs.shape[..]
        )));
    }
    let shape = if rhs.ndim() == 2 {
        Shape::from_slice(&[m, n])
    } else {
        Shape::from_slice(&[m])
    };
    Ok(((m, n, k), shape))
}

/// `z ← b·z + a·(lhs·rhs)` written over `z` itself, inputs `(z, a, lhs, rhs,
/// b)` with `z` taken out (`others[0]` is `None`): the inplace Gemm/Gemv.
/// `Ok(false)` when `z` is not writable (shared, borrowed, strided) or does
/// not have the product's shape (it would broadcast): the caller then
/// computes a fresh output.
fn update_over(
    name: &str,
    labels: [&str; 3],
    others: &[Option<&Tensor>],
    z: &mut Tensor,
) -> Result<bool> {
    let (Some(a), Some(lhs), Some(rhs), Some(b)) = (others[1], others[2], others[3], others[4])
    else {
        return Ok(false);
    };
    if !matches!(z.dtype, DType::Float32 | DType::Float64) || !z.is_writable() {
        return Ok(false);
    }
    let (dims, shape) = product_dims(name, labels, lhs, rhs)?;
    if z.shape[..] != shape[..] {
        return Ok(false);
    }
    update_into(name, None, a, lhs, rhs, b, dims, z)?;
    Ok(true)
}

/// The common `perform`: inputs in the order `(z, a, lhs, rhs, b)`.
fn perform(name: &str, labels: [&str; 3], inputs: &[&Tensor], dtype: DType) -> Result<Tensor> {
    let p = plan(name, labels, inputs[0], inputs[2], inputs[3])?;
    let mut out = Tensor::empty(dtype, &p.shape)?;
    update_into(
        name,
        Some(p.z.as_ref().unwrap_or(inputs[0])),
        inputs[1],
        inputs[2],
        inputs[3],
        inputs[4],
        p.dims,
        &mut out,
    )?;
    Ok(out)
}

/// The common `perform_into`: `Ok(false)` when `out` cannot take the result.
fn perform_into(
    name: &str,
    labels: [&str; 3],
    inputs: &[&Tensor],
    out: &mut Tensor,
) -> Result<bool> {
    if !matches!(out.dtype, DType::Float32 | DType::Float64) || !out.is_writable() {
        return Ok(false);
    }
    let p = plan(name, labels, inputs[0], inputs[2], inputs[3])?;
    if out.shape[..] != p.shape[..] {
        return Ok(false);
    }
    update_into(
        name,
        Some(p.z.as_ref().unwrap_or(inputs[0])),
        inputs[1],
        inputs[2],
        inputs[3],
        inputs[4],
        p.dims,
        out,
    )?;
    Ok(true)
}

const GEMM_LABELS: [&str; 5] = ["z", "a", "x", "y", "b"];
const GEMV_LABELS: [&str; 5] = ["y", "alpha", "A", "x", "beta"];

impl Gemm {
    pub fn name(&self) -> String {
        "Gemm{no_inplace}".into()
    }

    /// `z`'s dtype; an axis is broadcastable when it is in `z` and in the product.
    pub fn output_types(&self, inputs: &[&Type]) -> Result<Vec<Type>> {
        let name = self.name();
        let ts = tensor_types(&name, &GEMM_LABELS, inputs)?;
        let dtype = check_operands(&name, &GEMM_LABELS, &[2, 0, 2, 2, 0], &ts)?;
        let (z, x, y) = (ts[0], ts[2], ts[3]);
        let bcast = [
            z.broadcastable[0] && x.broadcastable[0],
            z.broadcastable[1] && y.broadcastable[1],
        ];
        Ok(vec![Type::Tensor(TensorType::new(dtype, &bcast))])
    }

    pub fn perform(&self, inputs: &[&Tensor], dtype: DType) -> Result<Tensor> {
        perform(&self.name(), ["z", "x", "y"], inputs, dtype)
    }

    pub fn perform_into(&self, inputs: &[&Tensor], out: &mut Tensor) -> Result<bool> {
        perform_into(&self.name(), ["z", "x", "y"], inputs, out)
    }

    /// The inplace kernel, over `z` (see [`update_over`]).
    pub fn perform_over_z(&self, others: &[Option<&Tensor>], z: &mut Tensor) -> Result<bool> {
        update_over("Gemm{inplace}", ["z", "x", "y"], others, z)
    }
}

impl Gemv {
    pub fn name(&self) -> String {
        "Gemv{no_inplace}".into()
    }

    pub fn output_types(&self, inputs: &[&Type]) -> Result<Vec<Type>> {
        let name = self.name();
        let ts = tensor_types(&name, &GEMV_LABELS, inputs)?;
        let dtype = check_operands(&name, &GEMV_LABELS, &[1, 0, 2, 1, 0], &ts)?;
        let bcast = [ts[0].broadcastable[0] && ts[2].broadcastable[0]];
        Ok(vec![Type::Tensor(TensorType::new(dtype, &bcast))])
    }

    pub fn perform(&self, inputs: &[&Tensor], dtype: DType) -> Result<Tensor> {
        perform(&self.name(), ["y", "A", "x"], inputs, dtype)
    }

    pub fn perform_into(&self, inputs: &[&Tensor], out: &mut Tensor) -> Result<bool> {
        perform_into(&self.name(), ["y", "A", "x"], inputs, out)
    }

    /// The inplace kernel, over `y` (see [`update_over`]).
    pub fn perform_over_y(&self, others: &[Option<&Tensor>], y: &mut Tensor) -> Result<bool> {
        update_over("Gemv{inplace}", ["y", "A", "x"], others, y)
    }
}

const DOT22_LABELS: [&str; 3] = ["x", "y", "a"];

impl Dot22 {
    pub fn name(&self) -> String {
        if self.scaled { "Dot22Scalar" } else { "Dot22" }.into()
    }

    fn labels(&self) -> &'static [&'static str] {
        &DOT22_LABELS[..if self.scaled { 3 } else { 2 }]
    }

    pub fn output_types(&self, inputs: &[&Type]) -> Result<Vec<Type>> {
        let name = self.name();
        let labels = self.labels();
        let ts = tensor_types(&name, labels, inputs)?;
        let dtype = check_operands(&name, labels, &[2, 2, 0][..labels.len()], &ts)?;
        let bcast = [ts[0].broadcastable[0], ts[1].broadcastable[1]];
        Ok(vec![Type::Tensor(TensorType::new(dtype, &bcast))])
    }

    pub fn perform(&self, inputs: &[&Tensor], dtype: DType) -> Result<Tensor> {
        let (dims, shape) = product_dims(&self.name(), ["", "x", "y"], inputs[0], inputs[1])?;
        let mut out = Tensor::empty(dtype, &shape)?;
        self.product_into(inputs, dims, &mut out)?;
        Ok(out)
    }

    /// The product written over an old output of its shape and dtype;
    /// `Ok(false)` when `out` cannot take it.
    pub fn perform_into(&self, inputs: &[&Tensor], out: &mut Tensor) -> Result<bool> {
        if !matches!(out.dtype, DType::Float32 | DType::Float64) || !out.is_writable() {
            return Ok(false);
        }
        let (dims, shape) = product_dims(&self.name(), ["", "x", "y"], inputs[0], inputs[1])?;
        if out.shape[..] != shape[..] {
            return Ok(false);
        }
        self.product_into(inputs, dims, out)?;
        Ok(true)
    }

    /// `out = a·(x·y)` (`a` = 1 for `Dot22`); `out` C-contiguous, writable.
    fn product_into(
        &self,
        inputs: &[&Tensor],
        dims: (usize, usize, usize),
        out: &mut Tensor,
    ) -> Result<()> {
        let name = self.name();
        let dtype = out.dtype;
        let cast = |t: &Tensor| -> Result<Tensor> {
            if t.dtype == dtype {
                Ok(t.clone())
            } else {
                cast_tensor(t, dtype)
            }
        };
        let (x, y) = (cast(inputs[0])?, cast(inputs[1])?);
        fn run<T: SimdFloat + Prim>(
            name: &str,
            scale: Option<&Tensor>,
            (x, y): (&Tensor, &Tensor),
            dims: (usize, usize, usize),
            out: &mut Tensor,
        ) -> Result<()> {
            let alpha = match scale {
                Some(a) => scale_value::<T>(name, a, out.dtype)?,
                None => T::ONE,
            };
            strided_gemm::<T>(dims, x, y, out.data_mut::<T>()?, None, alpha, None)
        }
        let scale = self.scaled.then(|| inputs[2]);
        match dtype {
            DType::Float32 => run::<f32>(&name, scale, (&x, &y), dims, out),
            DType::Float64 => run::<f64>(&name, scale, (&x, &y), dims, out),
            d => Err(Error::Runtime(format!(
                "internal error: {name} into a {d} buffer"
            ))),
        }
    }
}

/// `v` cast to `dtype` when it has another.
fn cast_to(v: VarRef, dtype: DType) -> Result<VarRef> {
    if v.ty.dtype() == dtype {
        Ok(v)
    } else {
        build::cast(&v, dtype)
    }
}

/// The gradient of `b·z + a·(l·r)` (Gemm: `l`, `r` matrices; Gemv: `l` a
/// matrix, `r` a vector), inputs `(z, a, l, r, b)`, output gradient `g`:
/// `gz = b·g` (summed over the axes `z` broadcasts), `ga = Σ g·(l·r)`,
/// `gl = a·(g·rᵀ)` (an outer product for Gemv), `gr = a·(lᵀ·g)`, `gb = Σ g·z`.
pub fn gemm_grad(inputs: &[VarRef], g: &VarRef) -> Result<Vec<Grad>> {
    let (z, a, l, r, b) = (&inputs[0], &inputs[1], &inputs[2], &inputs[3], &inputs[4]);
    let t = |m: &VarRef| build::dimshuffle(m, vec![Some(1), Some(0)]);
    let all = |v: &VarRef| -> Vec<usize> { (0..v.ty.ndim()).collect() };
    let product = build::dot(l, r)?;
    let gz = build::match_broadcastable(&build::mul(g, b)?, &z.ty.broadcastable())?;
    let ga = build::sum(&build::mul(g, &product)?, &all(g), false)?;
    let gl = if r.ty.ndim() == 1 {
        let col = build::dimshuffle(g, vec![Some(0), None])?;
        let row = build::dimshuffle(r, vec![None, Some(0)])?;
        build::dot(&col, &row)?
    } else {
        build::dot(g, &t(r)?)?
    };
    let gl = build::mul(a, &gl)?;
    let gr = build::mul(a, &build::dot(&t(l)?, g)?)?;
    let gb = build::sum(&build::mul(g, z)?, &all(g), false)?;
    Ok(vec![
        Grad::Var(cast_to(gz, z.ty.dtype())?),
        Grad::Var(cast_to(ga, a.ty.dtype())?),
        Grad::Var(cast_to(gl, l.ty.dtype())?),
        Grad::Var(cast_to(gr, r.ty.dtype())?),
        Grad::Var(cast_to(gb, b.ty.dtype())?),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t64(shape: &[usize], v: &[f64]) -> Tensor {
        Tensor::from_slice(DType::Float64, shape, v).unwrap()
    }

    #[test]
    fn gemm_adds_the_scaled_product_to_the_scaled_z() {
        let z = t64(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let x = t64(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let y = t64(&[3, 2], &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        let (a, b) = (t64(&[], &[2.0]), t64(&[], &[-1.0]));
        let out = Gemm {}
            .perform(&[&z, &a, &x, &y, &b], DType::Float64)
            .unwrap();
        // dot = [[4, 5], [10, 11]]
        assert_eq!(read_all::<f64>(&out).unwrap(), vec![7.0, 8.0, 17.0, 18.0]);
    }

    #[test]
    fn gemm_broadcasts_a_one_row_z_and_ignores_z_when_its_scale_is_zero() {
        let z = t64(&[1, 2], &[10.0, 20.0]);
        let x = t64(&[2, 1], &[1.0, 2.0]);
        let y = t64(&[1, 2], &[3.0, 4.0]);
        let (one, zero) = (t64(&[], &[1.0]), t64(&[], &[0.0]));
        let g = Gemm {};
        let out = g
            .perform(&[&z, &one, &x, &y, &one], DType::Float64)
            .unwrap();
        assert_eq!(read_all::<f64>(&out).unwrap(), vec![13.0, 24.0, 16.0, 28.0]);
        let nan = t64(&[2, 2], &[f64::NAN; 4]);
        let out = g
            .perform(&[&nan, &one, &x, &y, &zero], DType::Float64)
            .unwrap();
        assert_eq!(read_all::<f64>(&out).unwrap(), vec![3.0, 4.0, 6.0, 8.0]);
    }

    #[test]
    fn gemm_refuses_misaligned_operands_and_a_z_of_another_shape() {
        let g = Gemm {};
        let one = t64(&[], &[1.0]);
        let z = t64(&[2, 2], &[0.0; 4]);
        let x = t64(&[2, 3], &[0.0; 6]);
        let y = t64(&[2, 2], &[0.0; 4]);
        let err = g
            .perform(&[&z, &one, &x, &y, &one], DType::Float64)
            .unwrap_err();
        assert!(err.to_string().contains("Gemm{no_inplace}"), "{err}");
        let z3 = t64(&[3, 2], &[0.0; 6]);
        let y3 = t64(&[3, 2], &[0.0; 6]);
        let err = g
            .perform(&[&z3, &one, &x, &y3, &one], DType::Float64)
            .unwrap_err();
        assert!(err.to_string().contains("[3, 2]"), "{err}");
    }

    #[test]
    fn gemv_writes_into_an_old_output() {
        let y = t64(&[2], &[1.0, 1.0]);
        let a_mat = t64(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let x = t64(&[2], &[1.0, -1.0]);
        let (alpha, beta) = (t64(&[], &[3.0]), t64(&[], &[2.0]));
        let mut out = Tensor::zeros(DType::Float64, &[2]).unwrap();
        let done = Gemv {}
            .perform_into(&[&y, &alpha, &a_mat, &x, &beta], &mut out)
            .unwrap();
        assert!(done);
        assert_eq!(read_all::<f64>(&out).unwrap(), vec![2.0 - 3.0, 2.0 - 3.0]);
    }
}
