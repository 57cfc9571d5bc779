//! `ARange{dtype}(start, stop, step)`: evenly spaced values, as
//! `numpy.arange(start, stop, step, dtype)`.
//!
//! Gradient: for an integer dtype, zeros for `start` and `step`; for a float
//! dtype, `sum(gz)` for `start` and `sum(gz * arange(len))` for `step`.
//! `stop` only decides the length: it is disconnected.

use crate::config::{self, CastPolicy};
use crate::dtype::{self, DType};
use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::ops::scalar::{Prim, convert, scalar_f64};
use crate::types::{TensorType, Type};
use crate::with_dtype;

/// The dtype `T.arange` gives when none is asked for (Theano's rules): the
/// upcast of the three arguments, widened to int64 (uint64) for integers;
/// with `cast_policy=numpy+floatX`, NumPy's result dtype, except that float32
/// is kept when floatX is float32 and no argument is float64.
pub fn arange_dtype(start: DType, stop: DType, step: DType) -> DType {
    let args = [start, stop, step];
    let mut d = dtype::upcast(&args);
    if d.is_signed_int() || d == DType::Bool {
        d = DType::Int64;
    } else if d.is_unsigned_int() {
        d = DType::UInt64;
    }
    if config::cast_policy() == CastPolicy::NumpyFloatX {
        // NumPy's arange of 0-d arrays: int64 for integers (float64 once a
        // uint64 is involved), float64 for floats.
        let numpy = if args.iter().all(|a| a.is_discrete()) && !args.contains(&DType::UInt64) {
            DType::Int64
        } else {
            DType::Float64
        };
        if numpy != d {
            d = if numpy == DType::Float64
                && dtype::float_x() == DType::Float32
                && !args.contains(&DType::Float64)
            {
                DType::Float32
            } else {
                numpy
            };
        }
    }
    d
}

pub fn arange_output_types(dtype: DType, inputs: &[&Type]) -> Result<Vec<Type>> {
    for (name, t) in ["start", "stop", "step"].iter().zip(inputs) {
        if t.ndim() != 0 {
            return Err(Error::Type(format!(
                "ARange: start, stop and step must be scalars, but {name} is {t}"
            )));
        }
        if t.dtype().is_complex() {
            return Err(Error::Type(format!("ARange: {name} must be real, got {t}")));
        }
    }
    Ok(vec![Type::Tensor(TensorType::new(dtype, &[false]))])
}

/// A number read exactly: integers as integers, floats as floats.
#[derive(Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

fn read_num(t: &Tensor) -> Result<Num> {
    if t.dtype.is_discrete() {
        with_dtype!(t.dtype, T => {
            let v = crate::ops::scalar::read_all::<T>(t)?;
            v.first()
                .map(|x| Num::Int(x.to_i128()))
                .ok_or_else(|| Error::Value("ARange: an argument is empty".into()))
        })
    } else {
        Ok(Num::Float(scalar_f64(t)?))
    }
}

impl Num {
    fn f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// NumPy's length `ceil((stop - start) / step)`, at least 0.
fn length(start: Num, stop: Num, step: Num) -> Result<usize> {
    let zero = match step {
        Num::Int(s) => s == 0,
        Num::Float(s) => s == 0.0,
    };
    if zero {
        return Err(Error::Value("ARange: the step must not be zero".into()));
    }
    let n = match (start, stop, step) {
        (Num::Int(a), Num::Int(b), Num::Int(s)) => {
            let d = b - a;
            let q = d / s;
            if d % s != 0 && ((d < 0) == (s < 0)) {
                q + 1
            } else {
                q
            }
        }
        _ => {
            let q = ((stop.f64() - start.f64()) / step.f64()).ceil();
            if !q.is_finite() {
                return Err(Error::Value(format!(
                    "ARange: cannot compute the length of arange({}, {}, {})",
                    start.f64(),
                    stop.f64(),
                    step.f64()
                )));
            }
            q as i128
        }
    };
    usize::try_from(n.max(0)).map_err(|_| Error::Value("ARange: the length is too large".into()))
}

/// The value `v` as an element of `T`, as NumPy stores it.
fn element<T: Prim>(v: Num) -> T {
    match v {
        Num::Int(i) => T::from_i128(i),
        Num::Float(f) => convert::<f64, T>(f, false),
    }
}

fn add(a: Num, b: Num) -> Num {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Num::Int(x + y),
        _ => Num::Float(a.f64() + b.f64()),
    }
}

/// NumPy's fill: `out[0] = start`, `out[1] = start + step` (both converted
/// to the dtype), then `out[i] = out[0] + i * (out[1] - out[0])` in the dtype.
pub fn arange_perform(dtype: DType, inputs: &[&Tensor]) -> Result<Tensor> {
    let (start, stop, step) = (
        read_num(inputs[0])?,
        read_num(inputs[1])?,
        read_num(inputs[2])?,
    );
    let n = length(start, stop, step)?;
    with_dtype!(dtype, T => {
        let first: T = element(start);
        let second: T = element(add(start, step));
        let delta = second.sub(first);
        let mut out: Vec<T> = Vec::with_capacity(n);
        for i in 0..n {
            out.push(match i {
                0 => first,
                1 => second,
                _ => first.add(T::from_i128(i as i128).mul(delta)),
            });
        }
        if dtype == DType::Bool {
            for v in out.iter_mut() {
                *v = convert::<T, T>(*v, true);
            }
        }
        Tensor::from_slice(dtype, &[n], &out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar_i(v: i64) -> Tensor {
        Tensor::from_slice(DType::Int64, &[], &[v]).unwrap()
    }

    fn scalar_f(v: f64) -> Tensor {
        Tensor::from_slice(DType::Float64, &[], &[v]).unwrap()
    }

    #[test]
    fn integer_ranges_have_numpy_lengths() {
        for (a, b, s, n) in [
            (0, 5, 1, 5),
            (2, 10, 3, 3),
            (10, 2, -3, 3),
            (5, 5, 1, 0),
            (5, 0, 1, 0),
        ] {
            let out =
                arange_perform(DType::Int64, &[&scalar_i(a), &scalar_i(b), &scalar_i(s)]).unwrap();
            assert_eq!(out.shape[0], n, "arange({a}, {b}, {s})");
        }
    }

    #[test]
    fn float_ranges_step_from_the_start() {
        let out = arange_perform(
            DType::Float64,
            &[&scalar_f(0.5), &scalar_f(2.0), &scalar_f(0.5)],
        )
        .unwrap();
        assert_eq!(out.contiguous_slice::<f64>().unwrap(), &[0.5, 1.0, 1.5]);
    }

    #[test]
    fn a_zero_step_is_an_error() {
        let r = arange_perform(DType::Int64, &[&scalar_i(0), &scalar_i(3), &scalar_i(0)]);
        assert!(matches!(r, Err(Error::Value(_))));
    }

    #[test]
    fn integer_arguments_give_int64() {
        assert_eq!(
            arange_dtype(DType::Int8, DType::Int32, DType::Int8),
            DType::Int64
        );
        assert_eq!(
            arange_dtype(DType::UInt8, DType::UInt16, DType::UInt8),
            DType::UInt64
        );
        assert_eq!(
            arange_dtype(DType::Float32, DType::Int8, DType::Int8),
            DType::Float32
        );
    }
}
