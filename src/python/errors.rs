//! The one place where core errors become Python exceptions.

use pyo3::exceptions::{
    PyAssertionError, PyException, PyIndexError, PyMemoryError, PyNotImplementedError,
    PyRuntimeError, PyTypeError, PyValueError,
};
use pyo3::prelude::*;

use crate::error::Error;

pyo3::create_exception!(
    _core,
    UnusedInputError,
    PyException,
    "An input of `function` that no output needs."
);
pyo3::create_exception!(
    _core,
    MissingInputError,
    PyException,
    "A graph root that is neither an input, a shared variable nor a constant."
);

pyo3::create_exception!(
    _core,
    DebugModeError,
    PyException,
    "A check of mode='DebugMode' failed."
);
pyo3::create_exception!(
    _core,
    BadDestroyMap,
    DebugModeError,
    "An op changed an input it did not declare in its destroy_map."
);
pyo3::create_exception!(
    _core,
    BadViewMap,
    DebugModeError,
    "An output aliases an input (or a shared variable) without a declared view."
);
pyo3::create_exception!(
    _core,
    BadOptimization,
    DebugModeError,
    "A rewritten graph computed a value different from the original graph's."
);
pyo3::create_exception!(
    _core,
    DisconnectedInputError,
    PyValueError,
    "`grad` was asked for a variable that the cost does not depend on."
);
pyo3::create_exception!(
    _core,
    NullTypeGradError,
    PyTypeError,
    "`grad` met a gradient that is undefined or not implemented."
);

/// Converts a core error into the Python exception of its kind.
pub fn to_pyerr(e: Error) -> PyErr {
    match e {
        Error::BadDestroyMap(m) => BadDestroyMap::new_err(m),
        Error::BadViewMap(m) => BadViewMap::new_err(m),
        Error::BadOptimization(m) => BadOptimization::new_err(m),
        Error::External(inner, context) => match inner.0.downcast_ref::<PyErr>() {
            Some(e) => Python::attach(|py| {
                let e = e.clone_ref(py);
                // Python 3.11+: the rtensor context as a note on the user's exception.
                let _ = e.value(py).call_method1("add_note", (context.trim(),));
                e
            }),
            None => PyRuntimeError::new_err(context),
        },
        Error::Type(m) => PyTypeError::new_err(m),
        Error::Value(m) => PyValueError::new_err(m),
        Error::Index(m) => PyIndexError::new_err(m),
        Error::UnusedInput(m) => UnusedInputError::new_err(m),
        Error::MissingInput(m) => MissingInputError::new_err(m),
        Error::Runtime(m) => PyRuntimeError::new_err(m),
        Error::Assertion(m) => PyAssertionError::new_err(m),
        Error::Generic(m) => PyException::new_err(m),
        Error::NotImplemented(m) => PyNotImplementedError::new_err(m),
        Error::Memory(m) => PyMemoryError::new_err(m),
        Error::DisconnectedInput(m) => DisconnectedInputError::new_err(m),
        Error::NullTypeGrad(m) => NullTypeGradError::new_err(m),
    }
}

/// `?`-friendly conversion for core results.
pub trait IntoPy<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for crate::error::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_pyerr)
    }
}
