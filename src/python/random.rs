//! Builders of random draws (`RandomFunction` nodes) and the seeding of
//! stream states, for `rtensor.tensor.raw_random`, `shared_randomstreams`
//! and `sandbox.rng_mrg`.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::dtype::DType;
use crate::graph::VarRef;
use crate::ops::random::{self, Distribution, Flavor, SizeEntry};
use crate::python::buffers::tensor_to_array;
use crate::python::errors::IntoPy;
use crate::python::variable::Var;

fn flavor_of(name: &str) -> PyResult<Flavor> {
    match name {
        "RandomStreams" => Ok(Flavor::RandomStreams),
        "MRG" => Ok(Flavor::Mrg),
        other => Err(PyValueError::new_err(format!(
            "unknown random stream family {other:?} (RandomStreams or MRG)"
        ))),
    }
}

/// An integer from a Python int or anything with `__index__` (NumPy ints).
fn index_of(v: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    if v.is_instance_of::<pyo3::types::PyBool>() || v.is_instance_of::<pyo3::types::PyFloat>() {
        return Ok(None);
    }
    if v.hasattr("__index__")? && !v.is_instance_of::<Var>() {
        return Ok(Some(v.call_method0("__index__")?.extract()?));
    }
    Ok(None)
}

fn size_error(size: &Bound<'_, PyAny>) -> PyErr {
    let text = size.repr().map(|r| r.to_string()).unwrap_or_default();
    PyTypeError::new_err(format!(
        "size must be None, a tuple of integers or integer scalars, or an integer vector; got {text}"
    ))
}

/// The `size` input: None, an int, a tuple/list of ints and scalars, or a vector.
fn size_input(size: &Bound<'_, PyAny>) -> PyResult<(VarRef, random::SizeSpec)> {
    if size.is_none() {
        return random::size_from_params().py();
    }
    if let Ok(v) = size.cast::<Var>() {
        let v = v.get().inner.clone();
        if v.ty.ndim() == 0 {
            return random::size_from_entries(vec![SizeEntry::Var(v)]).py();
        }
        return random::size_from_vector(v).py();
    }
    if let Some(n) = index_of(size)? {
        return random::size_from_entries(vec![SizeEntry::Const(n)]).py();
    }
    let items: Vec<Bound<'_, PyAny>> = if let Ok(t) = size.cast::<PyTuple>() {
        t.iter().collect()
    } else if let Ok(l) = size.cast::<PyList>() {
        l.iter().collect()
    } else {
        return Err(size_error(size));
    };
    let mut entries = Vec::with_capacity(items.len());
    for item in &items {
        if let Ok(v) = item.cast::<Var>() {
            entries.push(SizeEntry::Var(v.get().inner.clone()));
        } else if let Some(n) = index_of(item)? {
            entries.push(SizeEntry::Const(n));
        } else {
            return Err(size_error(size));
        }
    }
    random::size_from_entries(entries).py()
}

/// A draw: `(new_state, sample)` of `dist` with parameters `params` from
/// the stream state `state`. `flavor` is "RandomStreams" or "MRG" (names only).
#[pyfunction]
#[pyo3(signature = (dist, state, size, params, ndim=None, dtype=None, flavor="RandomStreams", replace=true))]
#[allow(clippy::too_many_arguments)]
pub fn random_draw(
    dist: &str,
    state: &Bound<'_, Var>,
    size: &Bound<'_, PyAny>,
    params: Vec<Bound<'_, Var>>,
    ndim: Option<usize>,
    dtype: Option<&str>,
    flavor: &str,
    replace: bool,
) -> PyResult<(Var, Var)> {
    let dist = Distribution::parse(dist, replace).py()?;
    let flavor = flavor_of(flavor)?;
    let dtype = dtype.map(DType::parse).transpose().py()?;
    let size = size_input(size)?;
    let params: Vec<VarRef> = params.iter().map(|p| p.get().inner.clone()).collect();
    let (new_state, sample) = random::draw(
        dist,
        flavor,
        dtype,
        state.get().inner.clone(),
        size,
        ndim,
        params,
    )
    .py()?;
    Ok((Var::of(new_state), Var::of(sample)))
}

/// The first state (a `uint32` vector) of stream number `stream` of a
/// family seeded with `seed`.
#[pyfunction]
#[pyo3(signature = (seed, stream, flavor="RandomStreams"))]
pub fn random_seeded_state<'py>(
    py: Python<'py>,
    seed: &Bound<'py, PyAny>,
    stream: u64,
    flavor: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let bad = || {
        let text = seed.repr().map(|r| r.to_string()).unwrap_or_default();
        PyValueError::new_err(format!(
            "a seed must be an integer in [0, 2**64), got {text}"
        ))
    };
    let integral = seed.hasattr("__index__")?
        && !seed.is_instance_of::<pyo3::types::PyBool>()
        && !seed.is_instance_of::<Var>();
    if !integral {
        return Err(bad());
    }
    let seed: u64 = seed
        .call_method0("__index__")?
        .extract()
        .map_err(|_| bad())?;
    let t = random::seeded_state(seed, stream, flavor_of(flavor)?).py()?;
    tensor_to_array(py, &t)
}
