//! `Eye{dtype}(n, m, k)`: an `n`×`m` matrix with ones on diagonal `k`
//! (`numpy.eye`). Its inputs are integers, so it has no gradient.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::ops::alloc::shape_values;
use crate::ops::scalar::{Prim, scalar_i64};
use crate::types::{TensorType, Type};
use crate::with_dtype;

pub fn eye_output_types(dtype: DType, inputs: &[&Type]) -> Result<Vec<Type>> {
    for (name, t) in ["n", "m", "k"].iter().zip(inputs) {
        if t.ndim() != 0 || !t.dtype().is_int() {
            return Err(Error::Type(format!(
                "Eye: {name} must be an integer scalar, got {t}"
            )));
        }
    }
    Ok(vec![Type::Tensor(TensorType::new(dtype, &[false, false]))])
}

pub fn eye_perform(dtype: DType, inputs: &[&Tensor]) -> Result<Tensor> {
    let shape = shape_values("Eye", &inputs[..2])?;
    let (n, m) = (shape[0], shape[1]);
    let k = scalar_i64(inputs[2])?;
    let mut out = Tensor::zeros(dtype, &[n, m])?;
    with_dtype!(dtype, T => {
        let dst = out.data_mut::<T>()?;
        for i in 0..n {
            let j = i as i64 + k;
            if (0..m as i64).contains(&j) {
                dst[i * m + j as usize] = T::one();
            }
        }
    });
    Ok(out)
}
