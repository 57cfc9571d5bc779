//! The neural-network ops of `T.nnet` (Theano's `nnet.py`): row-wise softmax
//! and log-softmax with their gradient ops, and the categorical
//! cross-entropies over integer class labels with theirs.
//!
//! Every op works on rows of a matrix of floats; float32 stays float32
//! (float16 is computed in float32 and rounded back). Class labels may be
//! negative and count from the end, as NumPy's indexing does.

use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

use rayon::prelude::*;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::graph::{self, VarRef};
use crate::memory::{GemmFloat, Tensor};
use crate::ops::scalar::{cast_tensor, read_all};
use crate::ops::{DimShuffle, Op, Outputs};
use crate::types::{TensorType, Type};

/// The ops of this family (one `Op::Nnet` variant holds them).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub enum NnetOp {
    /// `Softmax(x)`: `exp(x - max) / sum(exp(x - max))` along each row.
    Softmax,
    /// `SoftmaxWithBias(x, b)`: `softmax(x + b)` with `b` a vector over columns.
    SoftmaxWithBias,
    /// `SoftmaxGrad(dy, sm)`: `(dy - sum(dy * sm, axis=1)) * sm`, the input
    /// gradient of a softmax whose output is `sm`.
    SoftmaxGrad,
    /// `LogSoftmax(x)`: `x - max - log(sum(exp(x - max)))` along each row.
    LogSoftmax,
    /// `LogSoftmaxGrad(dy, lsm)`: `dy - exp(lsm) * sum(dy, axis=1)`.
    LogSoftmaxGrad,
    /// `CrossentropyCategorical1Hot(p, y)`: `-log(p[i, y[i]])` per row.
    CrossentropyCategorical1Hot,
    /// `CrossentropyCategorical1HotGrad(g, p, y)`: zeros but
    /// `-g[i] / p[i, y[i]]` at `[i, y[i]]`.
    CrossentropyCategorical1HotGrad,
    /// `CrossentropySoftmaxArgmax1HotWithBias(x, b, y)` → `(nll, sm, am)`:
    /// `sm = softmax(x + b)`, `nll[i] = -log(sm[i, y[i]])`, `am[i] = argmax(x + b)[i]`.
    CrossentropySoftmaxArgmax1HotWithBias,
    /// `CrossentropySoftmax1HotWithBiasDx(dnll, sm, y)`: `dnll[i] * (sm[i] - onehot(y[i]))`.
    CrossentropySoftmax1HotWithBiasDx,
}

const ALL: [NnetOp; 9] = [
    NnetOp::Softmax,
    NnetOp::SoftmaxWithBias,
    NnetOp::SoftmaxGrad,
    NnetOp::LogSoftmax,
    NnetOp::LogSoftmaxGrad,
    NnetOp::CrossentropyCategorical1Hot,
    NnetOp::CrossentropyCategorical1HotGrad,
    NnetOp::CrossentropySoftmaxArgmax1HotWithBias,
    NnetOp::CrossentropySoftmax1HotWithBiasDx,
];

impl NnetOp {
    /// Theano's op name (debugprint).
    pub fn name(self) -> &'static str {
        match self {
            NnetOp::Softmax => "Softmax",
            NnetOp::SoftmaxWithBias => "SoftmaxWithBias",
            NnetOp::SoftmaxGrad => "SoftmaxGrad",
            NnetOp::LogSoftmax => "LogSoftmax",
            NnetOp::LogSoftmaxGrad => "LogSoftmaxGrad",
            NnetOp::CrossentropyCategorical1Hot => "CrossentropyCategorical1Hot",
            NnetOp::CrossentropyCategorical1HotGrad => "CrossentropyCategorical1HotGrad",
            NnetOp::CrossentropySoftmaxArgmax1HotWithBias => {
                "CrossentropySoftmaxArgmax1HotWithBias"
            }
            NnetOp::CrossentropySoftmax1HotWithBiasDx => "CrossentropySoftmax1HotWithBiasDx",
        }
    }

    /// The op of a Theano name.
    pub fn parse(name: &str) -> Result<NnetOp> {
        ALL.iter()
            .copied()
            .find(|op| op.name() == name)
            .ok_or_else(|| Error::Value(format!("unknown nnet op {name:?}")))
    }

    pub fn n_inputs(self) -> usize {
        match self {
            NnetOp::Softmax | NnetOp::LogSoftmax => 1,
            NnetOp::SoftmaxWithBias
            | NnetOp::SoftmaxGrad
            | NnetOp::LogSoftmaxGrad
            | NnetOp::CrossentropyCategorical1Hot => 2,
            NnetOp::CrossentropyCategorical1HotGrad
            | NnetOp::CrossentropySoftmaxArgmax1HotWithBias
            | NnetOp::CrossentropySoftmax1HotWithBiasDx => 3,
        }
    }

    /// The output types; errors name the op, the argument and its type.
    pub fn output_types(self, inputs: &[&Type]) -> Result<Vec<Type>> {
        if inputs.len() != self.n_inputs() {
            return Err(Error::Type(format!(
                "{} takes {} inputs, got {}",
                self.name(),
                self.n_inputs(),
                inputs.len()
            )));
        }
        let name = self.name();
        // Theano raises ValueError for the softmax family, TypeError for the cross-entropies.
        let float_matrix = |t: &Type, what: &str, type_error: bool| -> Result<TensorType> {
            match t.tensor() {
                Some(tt) if tt.ndim() == 2 && tt.dtype.is_float() => Ok(tt.clone()),
                _ => {
                    let msg = format!("{name}: {what} must be a 2-d tensor of floats, got {t}");
                    Err(if type_error {
                        Error::Type(msg)
                    } else {
                        Error::Value(msg)
                    })
                }
            }
        };
        let float_vector = |t: &Type, what: &str, allow_scalar: bool| -> Result<TensorType> {
            match t.tensor() {
                Some(tt)
                    if (tt.ndim() == 1 || (allow_scalar && tt.ndim() == 0))
                        && tt.dtype.is_float() =>
                {
                    Ok(tt.clone())
                }
                _ => Err(Error::Value(format!(
                    "{name}: {what} must be a 1-d tensor of floats, got {t}"
                ))),
            }
        };
        let int_vector = |t: &Type, what: &str| -> Result<TensorType> {
            match t.tensor() {
                Some(tt) if tt.ndim() == 1 && tt.dtype.is_int() => Ok(tt.clone()),
                _ => Err(Error::Type(format!(
                    "{name}: {what} must be a vector of integer class labels, got {t}"
                ))),
            }
        };
        let t = |tt: TensorType| Type::Tensor(tt);
        Ok(match self {
            NnetOp::Softmax | NnetOp::LogSoftmax => vec![t(float_matrix(inputs[0], "x", false)?)],
            NnetOp::SoftmaxWithBias => {
                let x = float_matrix(inputs[0], "x", false)?;
                float_vector(inputs[1], "b", false)?;
                vec![t(x)]
            }
            NnetOp::SoftmaxGrad | NnetOp::LogSoftmaxGrad => {
                float_matrix(inputs[0], "dy", false)?;
                let what = if self == NnetOp::SoftmaxGrad {
                    "sm"
                } else {
                    "lsm"
                };
                vec![t(float_matrix(inputs[1], what, false)?)]
            }
            NnetOp::CrossentropyCategorical1Hot => {
                let p = float_matrix(inputs[0], "coding_dist", true)?;
                int_vector(inputs[1], "true_one_of_n")?;
                vec![t(TensorType::new(p.dtype, &[false]))]
            }
            NnetOp::CrossentropyCategorical1HotGrad => {
                float_vector(inputs[0], "g_y", false)?;
                let p = float_matrix(inputs[1], "coding_dist", true)?;
                int_vector(inputs[2], "true_one_of_n")?;
                vec![t(p)]
            }
            NnetOp::CrossentropySoftmaxArgmax1HotWithBias => {
                let x = float_matrix(inputs[0], "x", false)?;
                float_vector(inputs[1], "b", false)?;
                let y = int_vector(inputs[2], "y_idx")?;
                vec![t(TensorType::new(x.dtype, &y.broadcastable)), t(x), t(y)]
            }
            NnetOp::CrossentropySoftmax1HotWithBiasDx => {
                float_vector(inputs[0], "dy", true)?;
                let sm = float_matrix(inputs[1], "sm", false)?;
                int_vector(inputs[2], "y_idx")?;
                vec![t(sm)]
            }
        })
    }

    /// Computes the outputs; `out_types` are the node's output types.
    pub fn perform(self, inputs: &[&Tensor], out_types: &[Type]) -> Result<Outputs> {
        let out_dtype = out_types
            .first()
            .map(|t| t.dtype())
            .unwrap_or(DType::Float64);
        let compute = compute_dtype(out_dtype);
        let outs = match compute {
            DType::Float32 => self.perform_real::<f32>(inputs, compute)?,
            DType::Float64 => self.perform_real::<f64>(inputs, compute)?,
            d => {
                return Err(Error::Type(format!(
                    "{} computes in float32 or float64, not {d}",
                    self.name()
                )));
            }
        };
        // Float outputs in the node's dtype (float16 was computed in float32).
        outs.into_iter()
            .zip(out_types)
            .map(|(o, ty)| {
                if o.dtype == ty.dtype() {
                    Ok(o)
                } else {
                    cast_tensor(&o, ty.dtype())
                }
            })
            .collect()
    }

    fn perform_real<T: Real>(self, inputs: &[&Tensor], dtype: DType) -> Result<Outputs> {
        let name = self.name();
        let one = |t: Tensor| -> Result<Outputs> { Ok(smallvec::smallvec![t]) };
        // Float inputs as contiguous tensors in the compute dtype (no copy when
        // they already are); class labels stay as they are.
        let ts: Vec<Tensor> = inputs
            .iter()
            .map(|t| {
                if t.dtype.is_float() {
                    cast_tensor(t, dtype)?.contiguous()
                } else {
                    Ok((*t).clone())
                }
            })
            .collect::<Result<_>>()?;
        match self {
            NnetOp::Softmax | NnetOp::LogSoftmax => {
                let x = Rows::<T>::of(&ts[0], name, "x")?;
                one(softmax::<T>(&x, None, self == NnetOp::LogSoftmax, dtype)?)
            }
            NnetOp::SoftmaxWithBias => {
                let x = Rows::<T>::of(&ts[0], name, "x")?;
                let b = values::<T>(&ts[1])?;
                if b.len() != x.k {
                    return Err(Error::Value(format!(
                        "{name}: b must have one value per column of x (x shape {}, b shape {})",
                        tuple_text(&inputs[0].shape),
                        tuple_text(&inputs[1].shape)
                    )));
                }
                one(softmax::<T>(&x, Some(b), false, dtype)?)
            }
            NnetOp::SoftmaxGrad | NnetOp::LogSoftmaxGrad => {
                let dy = Rows::<T>::of(&ts[0], name, "dy")?;
                let y = Rows::<T>::of(&ts[1], name, "the forward output")?;
                if dy.n != y.n || dy.k != y.k {
                    return Err(Error::Value(format!(
                        "{name}: dy and the forward output must have the same shape, got {} and {}",
                        tuple_text(&inputs[0].shape),
                        tuple_text(&inputs[1].shape)
                    )));
                }
                one(softmax_grad::<T>(
                    &dy,
                    &y,
                    self == NnetOp::LogSoftmaxGrad,
                    dtype,
                )?)
            }
            NnetOp::CrossentropyCategorical1Hot => {
                let p = Rows::<T>::of(&ts[0], name, "coding_dist")?;
                let y = labels(inputs[1], &p, name, &inputs[0].shape, &inputs[1].shape)?;
                let mut out = Tensor::zeros(dtype, &[p.n])?;
                let dst = out.data_mut::<T>()?;
                for (i, (d, &c)) in dst.iter_mut().zip(&y).enumerate() {
                    *d = -p.row(i)[c].ln();
                }
                one(out)
            }
            NnetOp::CrossentropyCategorical1HotGrad => {
                let g = values::<T>(&ts[0])?;
                let p = Rows::<T>::of(&ts[1], name, "coding_dist")?;
                let y = labels(inputs[2], &p, name, &inputs[1].shape, &inputs[2].shape)?;
                if g.len() != p.n {
                    return Err(Error::Value(format!(
                        "{name}: g_y must have one value per row of coding_dist (g_y shape {}, coding_dist shape {})",
                        tuple_text(&inputs[0].shape),
                        tuple_text(&inputs[1].shape)
                    )));
                }
                let mut out = Tensor::zeros(dtype, &[p.n, p.k])?;
                let dst = out.data_mut::<T>()?;
                for (i, &c) in y.iter().enumerate() {
                    dst[i * p.k + c] = -g[i] / p.row(i)[c];
                }
                one(out)
            }
            NnetOp::CrossentropySoftmaxArgmax1HotWithBias => {
                let x = Rows::<T>::of(&ts[0], name, "x")?;
                let b = values::<T>(&ts[1])?;
                if b.len() != x.k {
                    return Err(Error::Value(format!(
                        "{name}: b must have one value per column of x (x shape {}, b shape {})",
                        tuple_text(&inputs[0].shape),
                        tuple_text(&inputs[1].shape)
                    )));
                }
                let y = labels(inputs[2], &x, name, &inputs[0].shape, &inputs[2].shape)?;
                crossentropy_softmax::<T>(&x, b, &y, inputs[2].dtype, dtype)
            }
            NnetOp::CrossentropySoftmax1HotWithBiasDx => {
                let dy = values::<T>(&ts[0])?;
                let sm = Rows::<T>::of(&ts[1], name, "sm")?;
                let y = labels(inputs[2], &sm, name, &inputs[1].shape, &inputs[2].shape)?;
                if inputs[0].ndim() == 1 && dy.len() != sm.n {
                    return Err(Error::Value(format!(
                        "{name}: dy must have one value per row of sm (dy shape {}, sm shape {})",
                        tuple_text(&inputs[0].shape),
                        tuple_text(&inputs[1].shape)
                    )));
                }
                let mut out = Tensor::zeros(dtype, &[sm.n, sm.k])?;
                let k = sm.k;
                let dst = out.data_mut::<T>()?;
                par_rows(dst, k, |i, row| {
                    let d = if dy.len() == 1 { dy[0] } else { dy[i] };
                    for (o, &s) in row.iter_mut().zip(sm.row(i)) {
                        *o = d * s;
                    }
                    row[y[i]] = d * (sm.row(i)[y[i]] - T::ONE);
                });
                one(out)
            }
        }
    }
}

/// A shape or small vector as Python writes a tuple: `(2, 3)`, `(4,)`, `()`.
pub(crate) fn tuple_text<T: std::fmt::Display>(v: &[T]) -> String {
    match v {
        [] => "()".into(),
        [a] => format!("({a},)"),
        _ => format!(
            "({})",
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The dtype a kernel computes in for an output dtype.
fn compute_dtype(out: DType) -> DType {
    if out == DType::Float16 {
        DType::Float32
    } else {
        out
    }
}

/// Float element types the kernels of this module compute in.
pub trait Real:
    GemmFloat
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
{
    const NEG_INFINITY: Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
}

macro_rules! real {
    ($t:ty) => {
        impl Real for $t {
            const NEG_INFINITY: $t = <$t>::NEG_INFINITY;
            fn exp(self) -> $t {
                <$t>::exp(self)
            }
            fn ln(self) -> $t {
                <$t>::ln(self)
            }
        }
    };
}
real!(f32);
real!(f64);

/// Below this many elements a kernel runs on the calling thread.
const PAR_MIN: usize = 1 << 15;

/// Calls `f(i, row)` for each row of length `k` of `out`, in parallel when large.
pub(crate) fn par_rows<T: Send>(out: &mut [T], k: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    if k == 0 {
        return;
    }
    if out.len() >= PAR_MIN {
        out.par_chunks_mut(k).enumerate().for_each(|(i, r)| f(i, r));
    } else {
        out.chunks_mut(k).enumerate().for_each(|(i, r)| f(i, r));
    }
}

/// A matrix input as C-ordered rows in the compute dtype.
struct Rows<'a, T> {
    data: &'a [T],
    n: usize,
    k: usize,
}

impl<'a, T: Real> Rows<'a, T> {
    /// The rows of a contiguous matrix in the compute dtype.
    fn of(t: &'a Tensor, op: &str, what: &str) -> Result<Rows<'a, T>> {
        if t.ndim() != 2 {
            return Err(Error::Value(format!(
                "{op}: {what} must be a matrix, got shape {}",
                tuple_text(&t.shape)
            )));
        }
        Ok(Rows {
            data: values::<T>(t)?,
            n: t.shape[0],
            k: t.shape[1],
        })
    }

    fn row(&self, i: usize) -> &'a [T] {
        &self.data[i * self.k..(i + 1) * self.k]
    }
}

/// The elements of a contiguous tensor in the compute dtype.
fn values<T: Real>(t: &Tensor) -> Result<&[T]> {
    t.contiguous_slice::<T>()
        .ok_or_else(|| Error::Runtime("internal error: a contiguous copy is not contiguous".into()))
}

/// The class labels of `y` as column indices of `rows` (negative ones count
/// from the end); errors name the op and the shapes.
fn labels<T>(
    y: &Tensor,
    rows: &Rows<'_, T>,
    op: &str,
    rows_shape: &[usize],
    y_shape: &[usize],
) -> Result<Vec<usize>> {
    let raw = read_all::<i64>(&cast_tensor(y, DType::Int64)?)?;
    if raw.len() != rows.n {
        return Err(Error::Value(format!(
            "{op}: one class label per row is needed (matrix shape {}, labels shape {})",
            tuple_text(rows_shape),
            tuple_text(y_shape)
        )));
    }
    let k = rows.k as i64;
    raw.iter()
        .enumerate()
        .map(|(i, &c)| {
            let w = if c < 0 { c + k } else { c };
            if w < 0 || w >= k {
                Err(Error::Index(format!(
                    "{op}: class label {c} of row {i} is out of bounds for {k} classes (matrix shape {})",
                    tuple_text(rows_shape)
                )))
            } else {
                Ok(w as usize)
            }
        })
        .collect()
}

/// The row maximum (NaN propagates through the exponentials).
fn row_max<T: Real>(row: impl Iterator<Item = T>) -> T {
    row.fold(T::NEG_INFINITY, |m, v| if v > m { v } else { m })
}

/// Softmax (or log-softmax) of each row of `x + b`.
fn softmax<T: Real>(x: &Rows<'_, T>, b: Option<&[T]>, log: bool, dtype: DType) -> Result<Tensor> {
    let mut out = Tensor::zeros(dtype, &[x.n, x.k])?;
    let dst = out.data_mut::<T>()?;
    par_rows(dst, x.k, |i, row| {
        let src = x.row(i);
        match b {
            Some(b) => {
                for ((o, &v), &c) in row.iter_mut().zip(src).zip(b) {
                    *o = v + c;
                }
            }
            None => row.copy_from_slice(src),
        }
        let m = row_max(row.iter().copied());
        if log {
            let mut s = T::ZERO;
            for &v in row.iter() {
                s += (v - m).exp();
            }
            // (v - m) - log(s): subtracting m first keeps float32 exact for large v.
            let log_s = s.ln();
            for o in row.iter_mut() {
                *o = (*o - m) - log_s;
            }
        } else {
            let mut s = T::ZERO;
            for o in row.iter_mut() {
                *o = (*o - m).exp();
                s += *o;
            }
            let inv = T::ONE / s;
            for o in row.iter_mut() {
                *o = *o * inv;
            }
        }
    });
    Ok(out)
}

/// `SoftmaxGrad` (`log == false`, `y` the softmax) or `LogSoftmaxGrad`
/// (`y` the log-softmax).
fn softmax_grad<T: Real>(
    dy: &Rows<'_, T>,
    y: &Rows<'_, T>,
    log: bool,
    dtype: DType,
) -> Result<Tensor> {
    let mut out = Tensor::zeros(dtype, &[y.n, y.k])?;
    let dst = out.data_mut::<T>()?;
    par_rows(dst, y.k, |i, row| {
        let (g, s) = (dy.row(i), y.row(i));
        if log {
            let mut total = T::ZERO;
            for &v in g {
                total += v;
            }
            for ((o, &gv), &lv) in row.iter_mut().zip(g).zip(s) {
                *o = gv - lv.exp() * total;
            }
        } else {
            let mut dot = T::ZERO;
            for (&gv, &sv) in g.iter().zip(s) {
                dot += gv * sv;
            }
            for ((o, &gv), &sv) in row.iter_mut().zip(g).zip(s) {
                *o = (gv - dot) * sv;
            }
        }
    });
    Ok(out)
}

/// The fused softmax, negative log-likelihood and argmax of
/// `CrossentropySoftmaxArgmax1HotWithBias`.
fn crossentropy_softmax<T: Real>(
    x: &Rows<'_, T>,
    b: &[T],
    y: &[usize],
    label_dtype: DType,
    dtype: DType,
) -> Result<Outputs> {
    let sm = softmax::<T>(x, Some(b), false, dtype)?;
    let mut nll = Tensor::zeros(dtype, &[x.n])?;
    let mut am = vec![0i64; x.n];
    {
        let dst = nll.data_mut::<T>()?;
        for i in 0..x.n {
            let row = x.row(i);
            let mut best = 0usize;
            let mut m = T::NEG_INFINITY;
            for (j, (&v, &c)) in row.iter().zip(b).enumerate() {
                let z = v + c;
                if z > m || j == 0 {
                    m = z;
                    best = j;
                }
            }
            let mut s = T::ZERO;
            for (&v, &c) in row.iter().zip(b) {
                s += (v + c - m).exp();
            }
            dst[i] = s.ln() - (row[y[i]] + b[y[i]] - m);
            am[i] = best as i64;
        }
    }
    let am = cast_tensor(&Tensor::from_slice(DType::Int64, &[x.n], &am)?, label_dtype)?;
    Ok(smallvec::smallvec![nll, sm, am])
}

/// `Softmax(x)` or `LogSoftmax(x)` as Theano 1.0 builds it: a vector is first
/// padded to one row (`DimShuffle{x,0}`). Returns the output and whether the
/// input was padded (Python warns then).
pub fn softmax_node(op: NnetOp, x: VarRef) -> Result<(VarRef, bool)> {
    let padded = x.ty.ndim() == 1;
    let x = if padded {
        let ds = DimShuffle::new(&x.ty.broadcastable(), vec![None, Some(0)], true)?;
        graph::apply1(Op::DimShuffle(ds), vec![x])?
    } else {
        x
    };
    Ok((graph::apply1(Op::Nnet(op), vec![x])?, padded))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(rows: usize, cols: usize, v: &[f64]) -> Tensor {
        Tensor::from_slice(DType::Float64, &[rows, cols], v).unwrap()
    }

    fn ty(dtype: DType, nd: usize) -> Type {
        Type::Tensor(TensorType::new(dtype, &vec![false; nd]))
    }

    #[test]
    fn softmax_rows_sum_to_one_even_for_large_inputs() {
        let x = matrix(2, 3, &[1000.0, 1001.0, 1002.0, -5.0, 0.0, 5.0]);
        let out = NnetOp::Softmax
            .perform(&[&x], &[ty(DType::Float64, 2)])
            .unwrap();
        let v = out[0].contiguous_slice::<f64>().unwrap();
        for r in 0..2 {
            let s: f64 = v[r * 3..r * 3 + 3].iter().sum();
            assert!((s - 1.0).abs() < 1e-12);
        }
        assert!(v.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn a_label_out_of_range_is_an_index_error() {
        let p = matrix(1, 2, &[0.5, 0.5]);
        let y = Tensor::from_slice(DType::Int64, &[1], &[2i64]).unwrap();
        let err = NnetOp::CrossentropyCategorical1Hot
            .perform(&[&p, &y], &[ty(DType::Float64, 1)])
            .unwrap_err();
        assert!(matches!(err, Error::Index(_)));
        assert!(err.to_string().contains("CrossentropyCategorical1Hot"));
    }

    #[test]
    fn an_integer_matrix_is_refused_by_softmax() {
        let err = NnetOp::Softmax
            .output_types(&[&ty(DType::Int64, 2)])
            .unwrap_err();
        assert!(err.to_string().contains("Softmax"));
    }
}
