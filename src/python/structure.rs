//! Builders for the structural vocabulary: joins and splits, the Alloc
//! family, ARange/Eye, repeats, rebroadcasting, argmax, logical reductions
//! and batched products. Each makes the node(s) in the core; argument
//! normalization (negative axes, defaults) happens here, meaning in the ops.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::dtype::{self, DType};
use crate::graph::{self, VarRef, Variable};
use crate::memory::Tensor;
use crate::ops::arange::arange_dtype;
use crate::ops::axis::{normalize_axes, wrap_axis};
use crate::ops::{
    DimShuffle, Elemwise, InputInfo, MaxAndArgmax, Op, Rebroadcast, Reduce, ReduceKind, ScalarOp,
};
use crate::python::errors::IntoPy;
use crate::python::variable::Var;

fn var(v: &Bound<'_, Var>) -> VarRef {
    v.get().inner.clone()
}

fn vars(vs: &[Bound<'_, Var>]) -> Vec<VarRef> {
    vs.iter().map(var).collect()
}

fn apply1(op: Op, inputs: Vec<VarRef>) -> PyResult<Var> {
    Ok(Var::of(graph::apply1(op, inputs).py()?))
}

/// `T.join(axis, *tensors)`: one tensor is returned as it is (after the
/// same type checks a Join would make).
#[pyfunction]
pub fn join(axis: &Bound<'_, Var>, tensors: Vec<Bound<'_, Var>>) -> PyResult<Var> {
    let mut inputs = vec![var(axis)];
    inputs.extend(vars(&tensors));
    if inputs.len() == 2 {
        let infos: Vec<InputInfo> = inputs
            .iter()
            .map(|v| InputInfo {
                ty: &v.ty,
                constant: v.constant_value(),
            })
            .collect();
        Op::Join.output_types(&infos).py()?;
        return Ok(Var::of(inputs[1].clone()));
    }
    apply1(Op::Join, inputs)
}

/// `T.split(x, splits_size, n_splits, axis)`: the `n_splits` outputs.
#[pyfunction]
pub fn split(
    x: &Bound<'_, Var>,
    splits: &Bound<'_, Var>,
    n_splits: usize,
    axis: &Bound<'_, Var>,
) -> PyResult<Vec<Var>> {
    let outs = graph::apply(Op::Split(n_splits), vec![var(x), var(axis), var(splits)]).py()?;
    Ok(outs.into_iter().map(Var::of).collect())
}

/// `T.alloc(value, *shape)`.
#[pyfunction]
pub fn alloc(value: &Bound<'_, Var>, shape: Vec<Bound<'_, Var>>) -> PyResult<Var> {
    let mut inputs = vec![var(value)];
    inputs.extend(vars(&shape));
    apply1(Op::Alloc, inputs)
}

/// `T.fill(model, value)` (`second`): `value` broadcast to `model`'s shape.
#[pyfunction]
pub fn fill(model: &Bound<'_, Var>, value: &Bound<'_, Var>) -> PyResult<Var> {
    let inputs = crate::build::align(vec![var(model), var(value)]).py()?;
    apply1(
        Op::Elemwise(Elemwise {
            scalar_op: ScalarOp::Second,
        }),
        inputs,
    )
}

/// `T.arange(start, stop, step, dtype)`; the dtype follows Theano's rules
/// when not given.
#[pyfunction]
#[pyo3(signature = (start, stop, step, dtype=None))]
pub fn arange(
    start: &Bound<'_, Var>,
    stop: &Bound<'_, Var>,
    step: &Bound<'_, Var>,
    dtype: Option<&str>,
) -> PyResult<Var> {
    let inputs = vec![var(start), var(stop), var(step)];
    let d = match dtype {
        Some(d) => DType::parse(d).py()?,
        None => arange_dtype(
            inputs[0].ty.dtype(),
            inputs[1].ty.dtype(),
            inputs[2].ty.dtype(),
        ),
    };
    apply1(Op::ARange(d), inputs)
}

/// `T.eye(n, m, k, dtype)`.
#[pyfunction]
pub fn eye(
    n: &Bound<'_, Var>,
    m: &Bound<'_, Var>,
    k: &Bound<'_, Var>,
    dtype: &str,
) -> PyResult<Var> {
    let d = DType::parse(dtype).py()?;
    apply1(Op::Eye(d), vec![var(n), var(m), var(k)])
}

fn axis_of(x: &VarRef, axis: i64, what: &str) -> PyResult<usize> {
    wrap_axis(axis, x.ty.ndim()).ok_or_else(|| {
        PyValueError::new_err(format!(
            "{what}: axis {axis} is out of bounds for a {}-dimensional {}",
            x.ty.ndim(),
            x.ty
        ))
    })
}

/// `RepeatOp{axis}(x, repeats)` (negative axes counted from the end).
#[pyfunction]
#[pyo3(signature = (x, repeats, axis=None))]
pub fn repeat(x: &Bound<'_, Var>, repeats: &Bound<'_, Var>, axis: Option<i64>) -> PyResult<Var> {
    let x = var(x);
    let axis = match axis {
        Some(a) => Some(axis_of(&x, a, "repeat")?),
        None => None,
    };
    apply1(Op::Repeat(axis), vec![x, var(repeats)])
}

/// `Rebroadcast` setting `(axis, broadcastable)` pairs; pairs that change
/// nothing are dropped, and `x` itself is returned when none is left.
#[pyfunction]
pub fn rebroadcast(x: &Bound<'_, Var>, pairs: Vec<(i64, bool)>) -> PyResult<Var> {
    let x = var(x);
    let bcast = x.ty.broadcastable();
    let mut axes = Vec::with_capacity(pairs.len());
    for (a, b) in pairs {
        let d = axis_of(&x, a, "Rebroadcast")?;
        axes.push((d, b));
    }
    let r = Rebroadcast::new(axes);
    let changes: Vec<(usize, bool)> = r
        .axes
        .iter()
        .copied()
        .filter(|&(d, b)| bcast[d] != b)
        .collect();
    if changes.is_empty() {
        return Ok(Var::of(x));
    }
    apply1(Op::Rebroadcast(Rebroadcast::new(changes)), vec![x])
}

/// `T.max_and_argmax(x, axis)`: the two outputs, named `max` and `argmax`.
#[pyfunction]
#[pyo3(signature = (x, axis=None))]
pub fn max_and_argmax(x: &Bound<'_, Var>, axis: Option<Vec<i64>>) -> PyResult<(Var, Var)> {
    let x = var(x);
    let ndim = x.ty.ndim();
    let axis = match normalize_axes(axis.as_deref(), ndim).py()? {
        Some(a) if !a.is_empty() => a,
        _ => (0..ndim).collect(),
    };
    let outs = graph::apply(Op::MaxAndArgmax(MaxAndArgmax { axis }), vec![x]).py()?;
    outs[0].set_name(Some("max".into()));
    outs[1].set_name(Some("argmax".into()));
    Ok((Var::of(outs[0].clone()), Var::of(outs[1].clone())))
}

/// `T.all` / `T.any`: a non-bool input is first compared with 0 (`neq`).
#[pyfunction]
#[pyo3(signature = (kind, x, axis=None))]
pub fn reduce_logical(kind: &str, x: &Bound<'_, Var>, axis: Option<Vec<i64>>) -> PyResult<Var> {
    let kind = match kind {
        "all" => ReduceKind::All,
        "any" => ReduceKind::Any,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown logical reduction {other}"
            )));
        }
    };
    let mut x = var(x);
    let axis = normalize_axes(axis.as_deref(), x.ty.ndim()).py()?;
    if x.ty.dtype() != DType::Bool {
        let zero = Variable::constant(Tensor::from_slice(DType::Int8, &[], &[0i8]).py()?, None);
        let inputs = crate::build::align(vec![x, zero]).py()?;
        x = graph::apply1(
            Op::Elemwise(Elemwise {
                scalar_op: ScalarOp::Neq,
            }),
            inputs,
        )
        .py()?;
    }
    apply1(Op::Reduce(Reduce { kind, axis }), vec![x])
}

/// `BatchedDot(x, y)`, both inputs first cast to their upcast dtype.
#[pyfunction]
pub fn batched_dot(x: &Bound<'_, Var>, y: &Bound<'_, Var>) -> PyResult<Var> {
    let inputs = vec![var(x), var(y)];
    let d = dtype::upcast(&[inputs[0].ty.dtype(), inputs[1].ty.dtype()]);
    let mut cast = Vec::with_capacity(2);
    for v in inputs {
        cast.push(if v.ty.dtype() == d || v.ty.is_scalar_type() {
            v
        } else {
            graph::apply1(
                Op::Elemwise(Elemwise {
                    scalar_op: ScalarOp::Cast(d),
                }),
                vec![v],
            )
            .py()?
        });
    }
    apply1(Op::BatchedDot, cast)
}

/// `DimShuffle` that inserts a broadcastable axis at `axis` (`shape_padaxis`).
#[pyfunction]
pub fn shape_padaxis(x: &Bound<'_, Var>, axis: i64) -> PyResult<Var> {
    let x = var(x);
    let ndim = x.ty.ndim();
    let d = wrap_axis(axis, ndim + 1).ok_or_else(|| {
        pyo3::exceptions::PyIndexError::new_err(format!(
            "axis {axis} is out of bounds [-{n}, {n})",
            n = ndim + 1
        ))
    })?;
    let mut order: Vec<Option<usize>> = (0..ndim).map(Some).collect();
    order.insert(d, None);
    let ds = DimShuffle::new(&x.ty.broadcastable(), order, true).py()?;
    apply1(Op::DimShuffle(ds), vec![x])
}

/// `Nonzero(a)`: the (ndim, count) matrix of the indices of non-zero elements.
#[pyfunction]
pub fn nonzero(a: &Bound<'_, Var>) -> PyResult<Var> {
    apply1(Op::Nonzero, vec![var(a)])
}
