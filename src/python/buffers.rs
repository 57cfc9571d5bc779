//! The memory layer's NumPy side: NumPy arrays seen as tensors without a copy
//! (the array is kept alive by the storage), and tensors handed to Python as
//! NumPy arrays whose base object keeps the storage alive.

use std::sync::Arc;

use numpy::npyffi::{self, NPY_ARRAY_WRITEABLE, NpyTypes, PY_ARRAY_API};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::dtype::{ALL_DTYPES, DType};
use crate::memory::{Shape, Storage, Strides, Tensor};

/// Keeps a NumPy array alive while a storage borrows its memory.
pub struct NumpyOwner(pub Py<PyAny>);

/// The base object of arrays that view rtensor's memory.
#[pyclass(module = "rtensor._core", frozen)]
pub struct StorageGuard {
    #[allow(dead_code)]
    storage: Arc<Storage>,
}

/// The dtype of a NumPy dtype, if rtensor has it.
pub fn dtype_of(descr: &Bound<'_, PyArrayDescr>) -> Option<DType> {
    if descr.is_native_byteorder() == Some(false) {
        return None;
    }
    let size = descr.itemsize();
    Some(match (descr.kind(), size) {
        (b'b', 1) => DType::Bool,
        (b'i', 1) => DType::Int8,
        (b'i', 2) => DType::Int16,
        (b'i', 4) => DType::Int32,
        (b'i', 8) => DType::Int64,
        (b'u', 1) => DType::UInt8,
        (b'u', 2) => DType::UInt16,
        (b'u', 4) => DType::UInt32,
        (b'u', 8) => DType::UInt64,
        (b'f', 2) => DType::Float16,
        (b'f', 4) => DType::Float32,
        (b'f', 8) => DType::Float64,
        (b'c', 8) => DType::Complex64,
        (b'c', 16) => DType::Complex128,
        _ => return None,
    })
}

static DESCRS: [PyOnceLock<Py<PyArrayDescr>>; 14] = [const { PyOnceLock::new() }; 14];

/// NumPy's dtype object for a dtype (cached).
pub fn descr_of<'py>(py: Python<'py>, dtype: DType) -> PyResult<Bound<'py, PyArrayDescr>> {
    let i = ALL_DTYPES.iter().position(|d| *d == dtype).unwrap_or(0);
    let d = DESCRS[i].get_or_try_init(py, || {
        PyArrayDescr::new(py, dtype.name()).map(Bound::unbind)
    })?;
    Ok(d.bind(py).clone())
}

/// A tensor over the array's memory (no copy); the array stays alive with it.
/// Fails for dtypes rtensor lacks.
pub fn borrow_array(arr: &Bound<'_, PyUntypedArray>) -> PyResult<Tensor> {
    let dtype = dtype_of(&arr.dtype()).ok_or_else(|| {
        pyo3::exceptions::PyTypeError::new_err(format!(
            "Unsupported dtype for TensorType: {}",
            arr.dtype()
        ))
    })?;
    borrow_array_of(arr, dtype)
}

/// [`borrow_array`] when the caller has read the array's dtype already.
pub fn borrow_array_of(arr: &Bound<'_, PyUntypedArray>, dtype: DType) -> PyResult<Tensor> {
    let shape: Shape = arr.shape().into();
    let strides: Strides = arr.strides().into();
    let itemsize = dtype.itemsize() as isize;
    // The span of memory the view reaches, from its lowest to its highest byte.
    let (mut lo, mut hi) = (0isize, 0isize);
    let empty = shape.contains(&0);
    if !empty {
        for (&n, &s) in shape.iter().zip(strides.iter()) {
            let span = (n as isize - 1) * s;
            if span < 0 { lo += span } else { hi += span }
        }
    }
    let nbytes = if empty {
        0
    } else {
        (hi - lo + itemsize) as usize
    };
    // SAFETY: `as_array_ptr` is a valid PyArrayObject for the lifetime of `arr`;
    // reading its `data` field is how NumPy exposes the buffer address.
    let data = unsafe { (*arr.as_array_ptr()).fields.data } as *mut u8;
    let base = data.wrapping_offset(lo);
    let owner = Box::new(NumpyOwner(arr.clone().into_any().unbind()));
    // SAFETY: [base, base + nbytes) is exactly the memory the array's layout
    // reaches, and `owner` keeps the array (and so its buffer) alive as long
    // as the storage lives. rtensor never writes borrowed storage
    // (`Tensor::data_mut` refuses foreign memory).
    let storage = unsafe { Storage::foreign(base, nbytes, owner) };
    Tensor::from_storage(Arc::new(storage), dtype, shape, strides, (-lo) as usize)
        .map_err(crate::python::errors::to_pyerr)
}

/// Outputs up to this size are copied into NumPy's own memory: cheaper than
/// a guard object keeping rtensor's buffer alive (and the buffer stays in
/// its slot for the next call, see `vm::SMALL_OUTPUT_BYTES`).
const COPY_OUT_BYTES: usize = crate::vm::SMALL_OUTPUT_BYTES;

/// A new NumPy array of `t`'s dtype and shape: over `data` with `t`'s
/// strides when given, else in fresh C-contiguous memory NumPy allocates.
///
/// # Safety
/// When `data` is given, `t`'s layout from `data` must lie inside memory that
/// stays alive as long as the array (the caller sets a base object for it).
unsafe fn new_array<'py>(
    py: Python<'py>,
    t: &Tensor,
    data: Option<*mut u8>,
) -> PyResult<Bound<'py, PyAny>> {
    let descr = descr_of(py, t.dtype)?;
    let mut dims: smallvec::SmallVec<[npyffi::npy_intp; 6]> =
        t.shape.iter().map(|&n| n as npyffi::npy_intp).collect();
    let mut strides: smallvec::SmallVec<[npyffi::npy_intp; 6]> =
        t.strides.iter().map(|&s| s as npyffi::npy_intp).collect();
    let (data_ptr, strides_ptr, flags) = match data {
        Some(p) => (
            p as *mut std::ffi::c_void,
            strides.as_mut_ptr(),
            NPY_ARRAY_WRITEABLE,
        ),
        None => (std::ptr::null_mut(), std::ptr::null_mut(), 0),
    };
    // SAFETY: NewFromDescr steals the descr reference (hence into_dtype_ptr
    // on an owned clone); dims/strides outlive the call; the data contract
    // is the caller's. A NULL result becomes the raised Python error.
    unsafe {
        let subtype = npyffi::get_type_object(py, NpyTypes::PyArray_Type);
        let ptr = PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            subtype,
            descr.into_dtype_ptr(),
            dims.len() as i32,
            dims.as_mut_ptr(),
            strides_ptr,
            data_ptr,
            flags,
            std::ptr::null_mut(),
        );
        Bound::from_owned_ptr_or_err(py, ptr)
    }
}

/// A fresh NumPy array holding a copy of a small tensor.
fn copied_array<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    let copy;
    let c = if t.is_c_contiguous() && t.offset.is_multiple_of(t.dtype.itemsize()) {
        t
    } else {
        copy = t.contiguous().map_err(crate::python::errors::to_pyerr)?;
        &copy
    };
    // SAFETY: no data pointer is passed: NumPy allocates the memory.
    let array = unsafe { new_array(py, c, None)? };
    // SAFETY: the new array is C-contiguous with `c`'s shape and dtype, so it
    // holds exactly `c.nbytes()` bytes, which `c` (contiguous) has from
    // `data_ptr` on; the two buffers are distinct allocations.
    unsafe {
        let dst = (*(array.as_ptr() as *mut npyffi::PyArrayObject))
            .fields
            .data as *mut u8;
        std::ptr::copy_nonoverlapping(c.data_ptr(), dst, c.nbytes());
    }
    Ok(array)
}

/// A NumPy array of an output the function does not keep: small ones are
/// copied, larger ones handed over without a copy.
pub fn output_to_array<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    if t.nbytes() <= COPY_OUT_BYTES && t.storage().is_host_owned() {
        return copied_array(py, t);
    }
    tensor_to_array(py, t)
}

/// A NumPy array viewing the tensor's memory. When the tensor is exactly a
/// borrowed NumPy array, that array itself is returned.
pub fn tensor_to_array<'py>(py: Python<'py>, t: &Tensor) -> PyResult<Bound<'py, PyAny>> {
    if let Some(owner) = t
        .storage()
        .foreign_owner()
        .and_then(|o| o.downcast_ref::<NumpyOwner>())
    {
        let obj = owner.0.bind(py);
        if let Ok(arr) = obj.cast::<PyUntypedArray>() {
            // SAFETY: as in `borrow_array`.
            let data = unsafe { (*arr.as_array_ptr()).fields.data } as *const u8;
            if data == t.data_ptr()
                && arr.shape() == &t.shape[..]
                && arr.strides() == &t.strides[..]
            {
                return Ok(obj.clone());
            }
        }
    }
    // NumPy may write through the view from now on.
    t.storage().expose();
    let guard = Py::new(
        py,
        StorageGuard {
            storage: t.storage().clone(),
        },
    )?;
    // SAFETY: the layout lies inside the tensor's storage (checked by
    // `Tensor::from_storage`), which the guard set as the array's base keeps
    // alive for the array's whole life; SetBaseObject steals the guard
    // reference.
    unsafe {
        let array = new_array(py, t, Some(t.data_ptr() as *mut u8))?;
        let ptr = array.as_ptr() as *mut npyffi::PyArrayObject;
        if PY_ARRAY_API.PyArray_SetBaseObject(py, ptr, guard.into_ptr()) < 0 {
            return Err(PyErr::fetch(py));
        }
        Ok(array)
    }
}
