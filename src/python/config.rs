//! Python glue for `crate::config`: `_core.config_get/config_set/config_init/config_keys`.

use pyo3::exceptions::{PyAttributeError, PyException, PyValueError};
use pyo3::prelude::*;

use crate::config::{self, ConfigError};

fn to_py_err(e: ConfigError) -> PyErr {
    let msg = e.to_string();
    match e {
        ConfigError::InvalidValue { .. } | ConfigError::BadValue { .. } => {
            PyValueError::new_err(msg)
        }
        ConfigError::NotSettable { .. } => PyException::new_err(msg),
        ConfigError::Unknown { .. } => PyAttributeError::new_err(msg),
    }
}

/// The value of a flag, as a string (`"True"`/`"False"` for booleans).
#[pyfunction]
fn config_get(key: &str) -> PyResult<String> {
    config::get(key).map_err(to_py_err)
}

/// Set a flag from its string form.
#[pyfunction]
fn config_set(key: &str, value: &str) -> PyResult<()> {
    config::set(key, value).map_err(to_py_err)
}

/// Read `RTENSORRC` and `RTENSOR_FLAGS` once; returns the warnings to issue.
#[pyfunction]
fn config_init() -> PyResult<Vec<String>> {
    config::init_from_environment().map_err(to_py_err)
}

/// The dotted names of all flags.
#[pyfunction]
fn config_keys() -> Vec<&'static str> {
    config::keys()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(config_get, m)?)?;
    m.add_function(wrap_pyfunction!(config_set, m)?)?;
    m.add_function(wrap_pyfunction!(config_init, m)?)?;
    m.add_function(wrap_pyfunction!(config_keys, m)?)?;
    Ok(())
}
