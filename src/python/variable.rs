//! Graph variables as Python objects, and the builders Python's operator
//! overloading calls. Each builder makes one Apply node in the core.

use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyList, PyTuple};

use crate::build;
use crate::dtype::{self, DType};
use crate::graph::{self, SharedContainer, VarKind, VarRef, Variable};
use crate::memory::Tensor;
use crate::ops::scalar::{cast_tensor, read_all};
use crate::ops::{AdvIdx, IdxEntry, Op, ReduceKind, ScalarOp};
use crate::python::buffers::{StorageGuard, borrow_array, dtype_of, tensor_to_array};
use crate::python::errors::IntoPy;
use crate::python::filter::{FilterOptions, asarray, filter};
use crate::types::{TensorType, Type};

/// A graph variable. Python subclasses add Theano's methods.
#[pyclass(subclass, module = "rtensor._core", name = "Var", frozen)]
pub struct Var {
    pub inner: VarRef,
}

impl Var {
    pub fn of(v: VarRef) -> Var {
        Var { inner: v }
    }
}

#[pymethods]
impl Var {
    #[new]
    fn new(handle: &Bound<'_, Var>) -> Var {
        Var {
            inner: handle.get().inner.clone(),
        }
    }

    /// A process-unique identity number.
    #[getter]
    fn id(&self) -> u64 {
        self.inner.id
    }

    #[getter]
    fn get_name(&self) -> Option<String> {
        self.inner.name()
    }

    #[setter]
    fn set_name(&self, name: Option<String>) {
        self.inner.set_name(name);
    }

    /// `str(var.type)`.
    #[getter]
    fn type_str(&self) -> String {
        self.inner.ty.to_string()
    }

    #[getter]
    fn dtype(&self) -> &'static str {
        self.inner.ty.dtype().name()
    }

    #[getter]
    fn ndim(&self) -> usize {
        self.inner.ty.ndim()
    }

    #[getter]
    fn broadcastable(&self) -> Vec<bool> {
        self.inner.ty.broadcastable().to_vec()
    }

    #[getter]
    fn is_scalar_type(&self) -> bool {
        self.inner.ty.is_scalar_type()
    }

    /// "input", "output", "constant" or "shared".
    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner.kind {
            VarKind::Input => "input",
            VarKind::Output { .. } => "output",
            VarKind::Constant(_) => "constant",
            VarKind::Shared(_) => "shared",
        }
    }

    /// `str(var)`.
    fn display(&self) -> String {
        self.inner.display()
    }

    /// The owner node's op name, inputs, outputs and this output's index.
    fn owner_info(&self) -> Option<(String, Vec<Var>, Vec<Var>, usize)> {
        self.inner.owner().map(|(apply, index)| {
            (
                apply.op.display_name(apply.inputs.first().map(|v| &v.ty)),
                apply.inputs.iter().cloned().map(Var::of).collect(),
                apply.outputs().into_iter().map(Var::of).collect(),
                index,
            )
        })
    }

    /// The owner node's op as text `apply_op_state` reads back (pickling).
    fn op_state(&self) -> PyResult<Option<String>> {
        match self.inner.owner() {
            Some((apply, _)) => Ok(Some(apply.op.to_state().py()?)),
            None => Ok(None),
        }
    }

    /// A shared variable's `(strict, allow_downcast)`.
    fn shared_flags(&self) -> Option<(bool, Option<bool>)> {
        self.inner
            .shared_container()
            .map(|c| (c.strict, c.allow_downcast))
    }

    /// The Python op object when the owner node is a Python-defined op.
    fn python_op(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        let (apply, _) = self.inner.owner()?;
        crate::python::pyop::python_op_of(&apply.op, py)
    }

    /// A constant's value (a copy).
    fn constant_value<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.inner.constant_value() {
            Some(t) => Ok(Some(tensor_to_array(py, &t.deep_copy().py()?)?)),
            None => Ok(None),
        }
    }

    #[getter]
    fn get_default_update(&self) -> Option<Var> {
        let c = self.inner.shared_container()?;
        c.default_update
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .map(Var::of)
    }

    #[setter]
    fn set_default_update(&self, update: Option<&Bound<'_, Var>>) -> PyResult<()> {
        let c = self
            .inner
            .shared_container()
            .ok_or_else(|| PyTypeError::new_err("default_update is only for shared variables"))?;
        if let Some(u) = update {
            let u = &u.get().inner;
            if u.ty != self.inner.ty {
                return Err(PyTypeError::new_err(format!(
                    "The default update of {} must have its type {}, got {} of type {}",
                    self.inner.display(),
                    self.inner.ty,
                    u.display(),
                    u.ty
                )));
            }
        }
        *c.default_update.lock().unwrap_or_else(|e| e.into_inner()) =
            update.map(|u| u.get().inner.clone());
        Ok(())
    }

    /// The value of a shared variable: a copy, or with `borrow` the internal buffer.
    #[pyo3(signature = (borrow=false))]
    fn get_value<'py>(&self, py: Python<'py>, borrow: bool) -> PyResult<Bound<'py, PyAny>> {
        let c = self.container()?;
        let value = c.get();
        let value = if borrow {
            value
        } else {
            value.deep_copy().py()?
        };
        tensor_to_array(py, &value)
    }

    /// Stores a new value (filtered to the variable's type; copied unless `borrow`).
    #[pyo3(signature = (value, borrow=false))]
    fn set_value(&self, value: &Bound<'_, PyAny>, borrow: bool) -> PyResult<()> {
        let c = self.container()?;
        let opts = FilterOptions {
            strict: c.strict,
            allow_downcast: c.allow_downcast,
        };
        let t = filter(value, &c.ty, opts)?;
        let keep = borrow && !is_library_memory(value);
        let t = if keep && t.storage().foreign_owner().is_some() {
            t
        } else if t.storage().foreign_owner().is_some() {
            t.deep_copy().py()?
        } else {
            t
        };
        c.set(t);
        Ok(())
    }

    /// Whether two variables are the same one.
    fn is_same(&self, other: &Bound<'_, Var>) -> bool {
        other.get().inner.id == self.inner.id
    }
}

impl Var {
    fn container(&self) -> PyResult<&std::sync::Arc<SharedContainer>> {
        self.inner.shared_container().ok_or_else(|| {
            PyTypeError::new_err(format!("{} is not a shared variable", self.inner.display()))
        })
    }
}

/// True when `value` is an ndarray whose memory belongs to rtensor (for
/// instance another shared variable's `get_value(borrow=True)`).
fn is_library_memory(value: &Bound<'_, PyAny>) -> bool {
    value
        .getattr("base")
        .map(|b| b.is_instance_of::<StorageGuard>())
        .unwrap_or(false)
}

fn var(v: &Bound<'_, Var>) -> VarRef {
    v.get().inner.clone()
}

/// `T.TensorType(dtype, broadcastable)(name)`.
#[pyfunction]
#[pyo3(signature = (dtype, broadcastable, name=None))]
pub fn tensor_var(dtype: &str, broadcastable: Vec<bool>, name: Option<String>) -> PyResult<Var> {
    let d = DType::parse(dtype).py()?;
    Ok(Var::of(Variable::input(
        Type::Tensor(TensorType::new(d, &broadcastable)),
        name,
    )))
}

/// `str(TensorType(dtype, broadcastable))`, for types without variables.
#[pyfunction]
pub fn type_str(dtype: &str, broadcastable: Vec<bool>) -> PyResult<String> {
    Ok(TensorType::new(DType::parse(dtype).py()?, &broadcastable).to_string())
}

/// The dtype of a Python literal (or list of them) under the casting rules.
fn literal_tensor(value: &Bound<'_, PyAny>) -> PyResult<Tensor> {
    // NumPy scalars keep their dtype (np.float64 subclasses float).
    let is_native = value.is_instance_of::<PyInt>()
        || value.is_exact_instance_of::<PyFloat>()
        || value.is_instance_of::<PyList>()
        || value.is_instance_of::<PyTuple>();
    let arr = match value.cast::<PyUntypedArray>() {
        Ok(a) => a.clone(),
        Err(_) => asarray(value)?,
    };
    if dtype_of(&arr.dtype()).is_none() {
        return Err(PyTypeError::new_err(format!(
            "Unsupported dtype for TensorType: {}",
            arr.dtype()
        )));
    }
    let t = borrow_array(&arr)?.deep_copy().py()?;
    if !is_native || value.is_instance_of::<PyBool>() {
        return Ok(t);
    }
    let target = if t.dtype.is_int() {
        let values = read_all::<i64>(&cast_tensor(&t, DType::Int64).py()?).py()?;
        let lo = values.iter().copied().min().unwrap_or(0);
        let hi = values.iter().copied().max().unwrap_or(0);
        dtype::promote(
            dtype::int_literal_dtype(lo as i128),
            dtype::int_literal_dtype(hi as i128),
        )
    } else if t.dtype.is_float() {
        let values = read_all::<f64>(&t).py()?;
        values
            .iter()
            .map(|&v| dtype::float_literal_dtype(v))
            .fold(DType::Float16, dtype::promote)
            .max(DType::Float32)
    } else {
        t.dtype
    };
    cast_tensor(&t, target).py()
}

/// `T.constant(value, name, dtype)`.
#[pyfunction]
#[pyo3(signature = (value, name=None, dtype=None, scalar=false))]
pub fn constant(
    value: &Bound<'_, PyAny>,
    name: Option<String>,
    dtype: Option<&str>,
    scalar: bool,
) -> PyResult<Var> {
    let mut t = literal_tensor(value)?;
    if let Some(d) = dtype {
        t = cast_tensor(&t, DType::parse(d).py()?).py()?;
    }
    if scalar {
        if t.ndim() != 0 {
            return Err(PyValueError::new_err(format!(
                "a scalar constant needs a 0-d value, got shape {:?}",
                &t.shape[..]
            )));
        }
        let v = Variable::scalar_constant(t);
        v.set_name(name);
        return Ok(Var::of(v));
    }
    Ok(Var::of(Variable::constant(t, name)))
}

/// Theano's literal dtype of a Python value (for `upcast` on literals).
#[pyfunction]
pub fn literal_dtype(value: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    Ok(literal_tensor(value)?.dtype.name())
}

/// `Elemwise{op}(inputs...)`, dimshuffling inputs of fewer dimensions.
#[pyfunction]
pub fn elemwise(op: &str, inputs: Vec<Bound<'_, Var>>) -> PyResult<Var> {
    let scalar_op = ScalarOp::parse(op).py()?;
    let out = build::elemwise(scalar_op, inputs.iter().map(var).collect()).py()?;
    Ok(Var::of(out))
}

/// The output dtype of elementwise `op` for inputs of these dtypes
/// (Theano's rules; Python compositions use it to type their constants).
#[pyfunction]
pub fn elemwise_dtype(op: &str, dtypes: Vec<String>) -> PyResult<&'static str> {
    let scalar_op = ScalarOp::parse(op).py()?;
    let ds = dtypes
        .iter()
        .map(|d| DType::parse(d))
        .collect::<crate::error::Result<Vec<_>>>()
        .py()?;
    Ok(scalar_op.output_dtype(&ds).py()?.name())
}

/// `T.cast(x, dtype)`; the same variable when the dtype already matches.
#[pyfunction]
pub fn cast(x: &Bound<'_, Var>, dtype: &str) -> PyResult<Var> {
    let d = DType::parse(dtype).py()?;
    Ok(Var::of(build::cast(&var(x), d).py()?))
}

/// `x.dimshuffle(pattern)`: entries are axes, or -1 for 'x'.
#[pyfunction]
#[pyo3(signature = (x, pattern, inplace=true))]
pub fn dimshuffle(x: &Bound<'_, Var>, pattern: Vec<i64>, inplace: bool) -> PyResult<Var> {
    let order: Vec<Option<usize>> = pattern
        .iter()
        .map(|&p| if p < 0 { None } else { Some(p as usize) })
        .collect();
    Ok(Var::of(
        build::dimshuffle_node(&var(x), order, inplace).py()?,
    ))
}

/// An index part: an int (constant), a 0-d integer variable, or None.
fn index_scalar(part: &Bound<'_, PyAny>) -> PyResult<Option<VarRef>> {
    if part.is_none() {
        return Ok(None);
    }
    if let Ok(v) = part.cast::<Var>() {
        let v = var(v);
        if !v.ty.dtype().is_int() || v.ty.ndim() != 0 {
            return Err(PyTypeError::new_err(format!(
                "Expected an integer scalar as index, got {} of type {}",
                v.display(),
                v.ty
            )));
        }
        if v.ty.is_scalar_type() {
            return Ok(Some(v));
        }
        return Ok(Some(graph::apply1(Op::ScalarFromTensor, vec![v]).py()?));
    }
    if part.is_instance_of::<PyInt>() || part.hasattr("__index__")? {
        let i: i64 = part.call_method0("__index__")?.extract()?;
        let t = Tensor::from_slice(DType::Int64, &[], &[i]).py()?;
        return Ok(Some(Variable::scalar_constant(t)));
    }
    Err(PyTypeError::new_err(format!(
        "Expected an integer or an integer scalar variable as index, got {}",
        part.repr()?
    )))
}

/// `x[entries]`: each entry is `("i", index)` or `("s", start, stop, step)`.
#[pyfunction]
pub fn subtensor(x: &Bound<'_, Var>, entries: Vec<Bound<'_, PyTuple>>) -> PyResult<Var> {
    let x = var(x);
    let mut idx = Vec::new();
    let mut inputs = Vec::new();
    for e in entries {
        let kind: String = e.get_item(0)?.extract()?;
        if kind == "i" {
            let v = index_scalar(&e.get_item(1)?)?
                .ok_or_else(|| PyValueError::new_err("None is not an index"))?;
            idx.push(IdxEntry::Index(v.ty.dtype()));
            inputs.push(v);
        } else {
            let mut parts = [None, None, None];
            for (k, p) in parts.iter_mut().enumerate() {
                if let Some(v) = index_scalar(&e.get_item(k + 1)?)? {
                    *p = Some(v.ty.dtype());
                    inputs.push(v);
                }
            }
            idx.push(IdxEntry::Slice {
                start: parts[0],
                stop: parts[1],
                step: parts[2],
            });
        }
    }
    Ok(Var::of(build::subtensor(&x, idx, inputs).py()?))
}

/// `x[entries]` with advanced indices: each entry is `("a", index_array)`
/// (integers of any ndim, or a boolean mask) or `("s", start, stop, step)`.
#[pyfunction]
pub fn advanced_subtensor(x: &Bound<'_, Var>, entries: Vec<Bound<'_, PyTuple>>) -> PyResult<Var> {
    let x = var(x);
    let mut idx = Vec::new();
    let mut inputs = Vec::new();
    for e in entries {
        let kind: String = e.get_item(0)?.extract()?;
        if kind == "a" {
            let item = e.get_item(1)?;
            let v = item.cast::<Var>().map_err(|_| {
                PyTypeError::new_err("advanced_subtensor: index arrays must be variables")
            })?;
            idx.push(AdvIdx::Array);
            inputs.push(var(v));
        } else {
            let mut present = [false; 3];
            for (k, p) in present.iter_mut().enumerate() {
                if let Some(v) = index_scalar(&e.get_item(k + 1)?)? {
                    *p = true;
                    inputs.push(v);
                }
            }
            idx.push(AdvIdx::Slice {
                start: present[0],
                stop: present[1],
                step: present[2],
            });
        }
    }
    Ok(Var::of(build::advanced_subtensor(&x, idx, inputs).py()?))
}

/// `AdvancedSubtensor1(x, ilist)`.
#[pyfunction]
pub fn advanced_subtensor1(x: &Bound<'_, Var>, ilist: &Bound<'_, Var>) -> PyResult<Var> {
    Ok(Var::of(
        build::advanced_subtensor1(&var(x), &var(ilist)).py()?,
    ))
}

/// `take(a, indices, axis)` along one axis.
#[pyfunction]
pub fn take(a: &Bound<'_, Var>, indices: &Bound<'_, Var>, axis: i64) -> PyResult<Var> {
    Ok(Var::of(build::take(&var(a), &var(indices), axis).py()?))
}

/// `T.inc_subtensor(x, y)` / `T.set_subtensor(x, y)`.
#[pyfunction]
pub fn inc_subtensor(
    x: &Bound<'_, Var>,
    y: &Bound<'_, Var>,
    set_instead_of_inc: bool,
) -> PyResult<Var> {
    Ok(Var::of(
        build::inc_subtensor(&var(x), &var(y), set_instead_of_inc).py()?,
    ))
}

/// `T.dot(a, b)` for vectors and matrices.
#[pyfunction]
pub fn dot(a: &Bound<'_, Var>, b: &Bound<'_, Var>) -> PyResult<Var> {
    Ok(Var::of(graph::apply1(Op::Dot, vec![var(a), var(b)]).py()?))
}

/// A reduction: `kind` is sum, prod, mean, max or min; `axis` None for all.
#[pyfunction]
#[pyo3(signature = (kind, x, axis=None))]
pub fn reduce(kind: &str, x: &Bound<'_, Var>, axis: Option<Vec<i64>>) -> PyResult<Var> {
    let x = var(x);
    let kind = match kind {
        "sum" => ReduceKind::Sum,
        "prod" => ReduceKind::Prod,
        "mean" => ReduceKind::Mean,
        "max" => ReduceKind::Max,
        "min" => ReduceKind::Min,
        other => return Err(PyValueError::new_err(format!("unknown reduction {other}"))),
    };
    let axis = build::normalize_axes(&x, axis.as_deref()).py()?;
    Ok(Var::of(build::reduce(kind, &x, axis).py()?))
}

/// `x.shape`.
#[pyfunction]
pub fn shape(x: &Bound<'_, Var>) -> PyResult<Var> {
    Ok(Var::of(graph::apply1(Op::Shape, vec![var(x)]).py()?))
}

/// `Reshape{ndim}(x, shape)`; `shape` is an integer vector variable.
#[pyfunction]
pub fn reshape(x: &Bound<'_, Var>, shape: &Bound<'_, Var>, ndim: usize) -> PyResult<Var> {
    Ok(Var::of(
        graph::apply1(Op::Reshape(ndim), vec![var(x), var(shape)]).py()?,
    ))
}

/// `Flatten{outdim}(x)`.
#[pyfunction]
pub fn flatten(x: &Bound<'_, Var>, outdim: usize) -> PyResult<Var> {
    Ok(Var::of(
        graph::apply1(Op::Flatten(outdim), vec![var(x)]).py()?,
    ))
}

/// `MakeVector{dtype}(scalars...)`.
#[pyfunction]
pub fn make_vector(values: Vec<Bound<'_, Var>>, dtype: &str) -> PyResult<Var> {
    let d = DType::parse(dtype).py()?;
    let inputs: Vec<VarRef> = values.iter().map(var).collect();
    Ok(Var::of(graph::apply1(Op::MakeVector(d), inputs).py()?))
}

/// `theano.shared(value, ...)` for array-like values.
#[pyfunction]
#[pyo3(signature = (value, name=None, strict=false, allow_downcast=None, borrow=false, broadcastable=None))]
pub fn shared(
    value: &Bound<'_, PyAny>,
    name: Option<String>,
    strict: bool,
    allow_downcast: Option<bool>,
    borrow: bool,
    broadcastable: Option<Vec<bool>>,
) -> PyResult<Var> {
    let (t, borrowed) = match value.cast::<PyUntypedArray>() {
        Ok(arr) if dtype_of(&arr.dtype()).is_some() && arr.is_aligned() => {
            (borrow_array(arr)?, true)
        }
        _ => (borrow_array(&asarray(value)?)?, false),
    };
    let keep = borrowed && borrow && !is_library_memory(value);
    let t = if keep { t } else { t.deep_copy().py()? };
    let bcast = broadcastable.unwrap_or_else(|| vec![false; t.ndim()]);
    let ty = TensorType::new(t.dtype, &bcast);
    crate::python::filter::check_shape(&t, &ty)?;
    let container = SharedContainer::new(ty, t, strict, allow_downcast);
    Ok(Var::of(Variable::shared(container, name)))
}

/// Theano's `scalar.upcast(*dtypes)`.
#[pyfunction]
#[pyo3(signature = (*dtypes))]
pub fn upcast(dtypes: Vec<String>) -> PyResult<&'static str> {
    let ds: Vec<DType> = dtypes
        .iter()
        .map(|d| DType::parse(d))
        .collect::<Result<_, _>>()
        .py()?;
    Ok(dtype::upcast(&ds).name())
}

/// `rtensor.clone(outputs, replace)`: the graph rebuilt with replacements.
#[pyfunction]
pub fn clone_replace(
    outputs: Vec<Bound<'_, Var>>,
    replace: Vec<(Bound<'_, Var>, Bound<'_, Var>)>,
) -> PyResult<Vec<Var>> {
    let outs: Vec<VarRef> = outputs.iter().map(var).collect();
    let rep: Vec<(VarRef, VarRef)> = replace.iter().map(|(a, b)| (var(a), var(b))).collect();
    Ok(graph::clone_replace(&outs, &rep)
        .py()?
        .into_iter()
        .map(Var::of)
        .collect())
}

/// The outputs of the op `op_state` describes applied to `inputs` (unpickling).
#[pyfunction]
pub fn apply_op_state(op_state: &str, inputs: Vec<Bound<'_, Var>>) -> PyResult<Vec<Var>> {
    let op = Op::from_state(op_state).py()?;
    let outs = graph::apply(op, inputs.iter().map(var).collect()).py()?;
    Ok(outs.into_iter().map(Var::of).collect())
}

/// `Gemm{no_inplace}(z, a, x, y, b)` (`kind` "gemm"),
/// `Gemv{no_inplace}(y, alpha, A, x, beta)` ("gemv"), `Dot22(x, y)` ("dot22")
/// or `Dot22Scalar(x, y, a)` ("dot22scalar").
#[pyfunction]
pub fn blas_update(kind: &str, inputs: Vec<Bound<'_, Var>>) -> PyResult<Var> {
    let op = match kind {
        "gemm" => Op::Gemm(crate::ops::Gemm {}),
        "gemv" => Op::Gemv(crate::ops::Gemv {}),
        "dot22" => Op::Dot22(crate::ops::Dot22 { scaled: false }),
        "dot22scalar" => Op::Dot22(crate::ops::Dot22 { scaled: true }),
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown BLAS op {other:?}: expected 'gemm', 'gemv', 'dot22' or 'dot22scalar'"
            )));
        }
    };
    Ok(Var::of(
        graph::apply1(op, inputs.iter().map(var).collect()).py()?,
    ))
}
