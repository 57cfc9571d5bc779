//! The PyO3 bindings: thin conversions between Python objects and core calls.

mod buffers;
mod config;
mod errors;
mod filter;
mod function;
mod gradient;
mod nnet;
pub mod pyop;
mod random;
mod scan;
mod structure;
mod variable;

use pyo3::prelude::*;

#[pyfunction]
fn cuda_available() -> bool {
    crate::cuda::is_available()
}

#[pyfunction]
fn cuda_unavailable_reason() -> Option<String> {
    crate::cuda::probe().err().map(|e| e.to_string())
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    // The importing thread (Python's main thread, as a rule) joins the
    // rayon pool as one of its workers: a parallel kernel called from it
    // then runs its first half at once instead of handing both halves to
    // sleeping workers and blocking until they wake (on the 2-core machine
    // an MLP step went from 934 to 817 µs). Calls from other threads work
    // as before. Fails harmlessly when the pool already exists.
    let _ = rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global();
    m.add(
        "UnusedInputError",
        py.get_type::<errors::UnusedInputError>(),
    )?;
    m.add(
        "MissingInputError",
        py.get_type::<errors::MissingInputError>(),
    )?;
    for (name, ty) in [
        ("DebugModeError", py.get_type::<errors::DebugModeError>()),
        ("BadDestroyMap", py.get_type::<errors::BadDestroyMap>()),
        ("BadViewMap", py.get_type::<errors::BadViewMap>()),
        ("BadOptimization", py.get_type::<errors::BadOptimization>()),
    ] {
        m.add(name, ty)?;
    }
    m.add_function(wrap_pyfunction!(pyop::apply_python_op, m)?)?;
    m.add(
        "DisconnectedInputError",
        py.get_type::<errors::DisconnectedInputError>(),
    )?;
    m.add(
        "NullTypeGradError",
        py.get_type::<errors::NullTypeGradError>(),
    )?;
    m.add_class::<variable::Var>()?;
    m.add_class::<function::PyFunction>()?;
    m.add_class::<buffers::StorageGuard>()?;
    m.add_function(wrap_pyfunction!(variable::tensor_var, m)?)?;
    m.add_function(wrap_pyfunction!(variable::type_str, m)?)?;
    m.add_function(wrap_pyfunction!(variable::constant, m)?)?;
    m.add_function(wrap_pyfunction!(variable::literal_dtype, m)?)?;
    m.add_function(wrap_pyfunction!(variable::elemwise, m)?)?;
    m.add_function(wrap_pyfunction!(variable::cast, m)?)?;
    m.add_function(wrap_pyfunction!(variable::elemwise_dtype, m)?)?;
    m.add_function(wrap_pyfunction!(variable::dimshuffle, m)?)?;
    m.add_function(wrap_pyfunction!(variable::subtensor, m)?)?;
    m.add_function(wrap_pyfunction!(variable::dot, m)?)?;
    m.add_function(wrap_pyfunction!(variable::blas_update, m)?)?;
    m.add_function(wrap_pyfunction!(variable::reduce, m)?)?;
    m.add_function(wrap_pyfunction!(variable::shape, m)?)?;
    m.add_function(wrap_pyfunction!(variable::reshape, m)?)?;
    m.add_function(wrap_pyfunction!(variable::flatten, m)?)?;
    m.add_function(wrap_pyfunction!(variable::make_vector, m)?)?;
    m.add_function(wrap_pyfunction!(variable::shared, m)?)?;
    m.add_function(wrap_pyfunction!(variable::upcast, m)?)?;
    m.add_function(wrap_pyfunction!(variable::clone_replace, m)?)?;
    m.add_function(wrap_pyfunction!(variable::apply_op_state, m)?)?;
    m.add_function(wrap_pyfunction!(variable::advanced_subtensor, m)?)?;
    m.add_function(wrap_pyfunction!(variable::advanced_subtensor1, m)?)?;
    m.add_function(wrap_pyfunction!(variable::take, m)?)?;
    m.add_function(wrap_pyfunction!(variable::inc_subtensor, m)?)?;
    m.add_function(wrap_pyfunction!(gradient::grad, m)?)?;
    m.add_function(wrap_pyfunction!(gradient::rop, m)?)?;
    m.add_function(wrap_pyfunction!(gradient::zero_grad, m)?)?;
    m.add_function(wrap_pyfunction!(gradient::disconnected_grad, m)?)?;
    m.add_function(wrap_pyfunction!(function::debugprint_vars, m)?)?;
    m.add_function(wrap_pyfunction!(function::inplace_counts, m)?)?;
    m.add_function(wrap_pyfunction!(function::memory_stats, m)?)?;
    m.add_function(wrap_pyfunction!(function::reset_memory_peak, m)?)?;
    m.add_function(wrap_pyfunction!(function::pp, m)?)?;
    m.add_function(wrap_pyfunction!(structure::join, m)?)?;
    m.add_function(wrap_pyfunction!(structure::split, m)?)?;
    m.add_function(wrap_pyfunction!(structure::alloc, m)?)?;
    m.add_function(wrap_pyfunction!(structure::fill, m)?)?;
    m.add_function(wrap_pyfunction!(structure::arange, m)?)?;
    m.add_function(wrap_pyfunction!(structure::eye, m)?)?;
    m.add_function(wrap_pyfunction!(structure::repeat, m)?)?;
    m.add_function(wrap_pyfunction!(structure::rebroadcast, m)?)?;
    m.add_function(wrap_pyfunction!(structure::max_and_argmax, m)?)?;
    m.add_function(wrap_pyfunction!(structure::reduce_logical, m)?)?;
    m.add_function(wrap_pyfunction!(structure::batched_dot, m)?)?;
    m.add_function(wrap_pyfunction!(structure::shape_padaxis, m)?)?;
    m.add_function(wrap_pyfunction!(structure::nonzero, m)?)?;
    m.add_function(wrap_pyfunction!(random::random_draw, m)?)?;
    m.add_function(wrap_pyfunction!(random::random_seeded_state, m)?)?;
    m.add_function(wrap_pyfunction!(scan::scan_step_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(scan::scan_build, m)?)?;
    m.add_function(wrap_pyfunction!(cuda_available, m)?)?;
    m.add_function(wrap_pyfunction!(cuda_unavailable_reason, m)?)?;
    config::register(m)?;
    nnet::register(m)?;
    Ok(())
}
