//! Ops written in Python (Theano's `Op` subclasses with `make_node` and
//! `perform`), seen by the core as [`ExternalImpl`]s. `perform` runs with the
//! GIL taken back for the node; its inputs are read-only NumPy views (or,
//! for inputs the op declares it destroys, and under DebugMode, private
//! copies), so a Python op can never write rtensor's buffers.

use std::sync::Arc;

use numpy::PyUntypedArray;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::dtype::DType;
use crate::error::{Error, ExternalError, Result};
use crate::graph::{self, VarRef};
use crate::memory::Tensor;
use crate::ops::{ExternalImpl, ExternalOp, Op, Outputs};
use crate::python::buffers::{borrow_array, tensor_to_array};
use crate::python::errors::IntoPy;
use crate::python::filter::asarray;
use crate::python::variable::Var;
use crate::types::{TensorType, Type};

/// A Python op applied once: the op object and the node it sees in `perform`.
struct PythonOp {
    op: Py<PyAny>,
    node: Py<PyAny>,
    name: String,
    view_map: Vec<(usize, usize)>,
    destroy_map: Vec<(usize, usize)>,
}

/// A Python exception as a core error, kept whole for the caller.
fn external(e: PyErr, context: String) -> Error {
    Error::External(ExternalError(Arc::new(e)), context)
}

impl PythonOp {
    fn declares(&self, output: usize, input: usize) -> bool {
        self.view_map
            .iter()
            .chain(&self.destroy_map)
            .any(|&(o, i)| o == output && i == input)
    }

    fn destroys(&self, input: usize) -> bool {
        self.destroy_map.iter().any(|&(_, i)| i == input)
    }

    fn run<'py>(
        &self,
        py: Python<'py>,
        inputs: &[&Tensor],
        out_types: &[Type],
        checked: bool,
    ) -> PyResult<std::result::Result<Outputs, Error>> {
        let mut arrays = Vec::with_capacity(inputs.len());
        for (i, t) in inputs.iter().enumerate() {
            let a = if checked || self.destroys(i) {
                tensor_to_array(py, &t.deep_copy().py()?)?
            } else {
                let v = tensor_to_array(py, t)?.call_method0("view")?;
                v.call_method1("setflags", (false,))?;
                v
            };
            arrays.push(a);
        }
        let storage = PyList::empty(py);
        for _ in out_types {
            storage.append(PyList::new(py, [py.None()])?)?;
        }
        let args = (self.node.bind(py), PyList::new(py, &arrays)?, &storage);
        if let Err(e) = self.op.bind(py).call_method1("perform", args) {
            return Ok(Err(external(
                e,
                format!("\n(raised by {}.perform)", self.name),
            )));
        }
        if checked {
            for (i, (a, t)) in arrays.iter().zip(inputs).enumerate() {
                let now = borrow_array(a.cast::<PyUntypedArray>()?)?;
                if !self.destroys(i) && !now.same_values(t) {
                    return Ok(Err(Error::BadDestroyMap(format!(
                        "BadDestroyMap: {}.perform changed its input {} without declaring it in destroy_map (input shape {:?})",
                        self.name,
                        i,
                        &t.shape[..]
                    ))));
                }
            }
        }
        let shares = py.import("numpy")?.getattr("may_share_memory")?;
        let mut outs = Outputs::new();
        for (k, ty) in out_types.iter().enumerate() {
            let value = storage.get_item(k)?.get_item(0)?;
            if value.is_none() {
                return Ok(Err(Error::Runtime(format!(
                    "{}.perform did not store output {k} (set output_storage[{k}][0])",
                    self.name
                ))));
            }
            let mut arr = asarray(&value)?.into_any();
            for (i, a) in arrays.iter().enumerate() {
                if self.declares(k, i) || !shares.call1((&arr, a))?.is_truthy()? {
                    continue;
                }
                if checked {
                    return Ok(Err(Error::BadViewMap(format!(
                        "BadViewMap: output {k} of {}.perform aliases its input {i}, but the op declares no view_map or destroy_map for it",
                        self.name
                    ))));
                }
                arr = arr.call_method0("copy")?;
            }
            let t = borrow_array(arr.cast::<PyUntypedArray>()?)?;
            if let Err(e) = check_output(&self.name, k, &t, ty) {
                return Ok(Err(e));
            }
            outs.push(t);
        }
        Ok(Ok(outs))
    }
}

/// An output must have its declared dtype, rank and broadcastable sizes.
fn check_output(name: &str, k: usize, t: &Tensor, ty: &Type) -> Result<()> {
    let bad = t.dtype != ty.dtype()
        || t.ndim() != ty.ndim()
        || ty
            .broadcastable()
            .iter()
            .zip(t.shape.iter())
            .any(|(&b, &n)| b && n != 1);
    if bad {
        return Err(Error::Type(format!(
            "{name}.perform stored a value of dtype {} and shape {:?} for output {k}, whose type is {ty}",
            t.dtype,
            &t.shape[..]
        )));
    }
    Ok(())
}

impl ExternalImpl for PythonOp {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn perform(&self, inputs: &[&Tensor], out_types: &[Type], checked: bool) -> Result<Outputs> {
        Python::attach(|py| match self.run(py, inputs, out_types, checked) {
            Ok(r) => r,
            Err(e) => Err(external(e, format!("\n(in {}.perform)", self.name))),
        })
    }

    fn grad(
        &self,
        inputs: &[VarRef],
        _outputs: &[VarRef],
        output_grads: &[Option<VarRef>],
    ) -> Result<Vec<Option<VarRef>>> {
        Python::attach(|py| -> PyResult<Result<Vec<Option<VarRef>>>> {
            let wrap = py.import("rtensor.graph")?.getattr("wrap")?;
            let to_py = |v: &VarRef| wrap.call1((Var::of(v.clone()),));
            let ins = inputs.iter().map(to_py).collect::<PyResult<Vec<_>>>()?;
            let mut gs = Vec::new();
            for g in output_grads {
                gs.push(match g {
                    Some(v) => to_py(v)?,
                    None => py.None().into_bound(py),
                });
            }
            let op = self.op.bind(py);
            if !op.hasattr("grad")? {
                return Ok(Err(Error::NotImplemented(format!(
                    "{} has no grad method",
                    self.name
                ))));
            }
            let result =
                match op.call_method1("grad", (PyList::new(py, ins)?, PyList::new(py, gs)?)) {
                    Ok(r) => r,
                    Err(e) => {
                        return Ok(Err(external(
                            e,
                            format!("\n(raised by {}.grad)", self.name),
                        )));
                    }
                };
            let mut out = Vec::new();
            for item in result.try_iter()? {
                let item = item?;
                out.push(if item.is_none() {
                    None
                } else {
                    Some(item.cast::<Var>()?.get().inner.clone())
                });
            }
            if out.len() != inputs.len() {
                return Ok(Err(Error::Value(format!(
                    "{}.grad returned {} gradients for {} inputs",
                    self.name,
                    out.len(),
                    inputs.len()
                ))));
            }
            Ok(Ok(out))
        })
        .unwrap_or_else(|e| Err(external(e, format!("\n(in {}.grad)", self.name))))
    }
}

/// `Apply(op, inputs, outputs)` for a Python op: makes the core node whose
/// outputs have the given `(dtype, broadcastable)` types.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn apply_python_op(
    op: Py<PyAny>,
    node: Py<PyAny>,
    name: String,
    key: String,
    inputs: Vec<Bound<'_, Var>>,
    out_types: Vec<(String, Vec<bool>)>,
    view_map: Vec<(usize, usize)>,
    destroy_map: Vec<(usize, usize)>,
) -> PyResult<Vec<Var>> {
    let n_in = inputs.len();
    let types = out_types
        .iter()
        .map(|(d, b)| Ok(Type::Tensor(TensorType::new(DType::parse(d)?, b))))
        .collect::<Result<Vec<Type>>>()
        .py()?;
    for &(o, i) in view_map.iter().chain(&destroy_map) {
        if o >= types.len() || i >= n_in {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "{name}: view_map/destroy_map entry {{{o}: [{i}]}} names a missing output or input ({} outputs, {n_in} inputs)",
                types.len()
            )));
        }
    }
    let imp = PythonOp {
        op,
        node,
        name,
        view_map: view_map.clone(),
        destroy_map: destroy_map.clone(),
    };
    let ext = ExternalOp {
        imp: Arc::new(imp),
        key,
        out_types: types,
        view_map,
        destroy_map,
    };
    let ins = inputs.iter().map(|v| v.get().inner.clone()).collect();
    let outs = graph::apply(Op::External(ext), ins).py()?;
    Ok(outs.into_iter().map(Var::of).collect())
}

/// The Python op object of a node made by `apply_python_op`.
pub fn python_op_of(op: &Op, py: Python<'_>) -> Option<Py<PyAny>> {
    match op {
        Op::External(e) => e
            .imp
            .as_any()
            .downcast_ref::<PythonOp>()
            .map(|p| p.op.clone_ref(py)),
        _ => None,
    }
}
