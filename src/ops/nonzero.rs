//! `Nonzero(a)`: the indices of the non-zero elements of `a`, as an int64
//! matrix of shape (ndim, count) in C order (`T.nonzero`, `T.flatnonzero`).
//! Its output is integer-valued: no gradient.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::ops::scalar::{Prim, read_all};
use crate::types::{TensorType, Type};
use crate::with_dtype;

pub fn nonzero_output_types(inputs: &[&Type]) -> Result<Vec<Type>> {
    let a = inputs[0]
        .tensor()
        .ok_or_else(|| Error::Type(format!("Nonzero of a non-tensor {}", inputs[0])))?;
    if a.ndim() == 0 {
        return Err(Error::Value(format!(
            "Nonzero only supports non-scalar arrays, got {a}"
        )));
    }
    Ok(vec![Type::Tensor(TensorType::new(
        DType::Int64,
        &[false, false],
    ))])
}

pub fn nonzero_perform(a: &Tensor) -> Result<Tensor> {
    let flat: Vec<usize> = with_dtype!(a.dtype, T => {
        read_all::<T>(a)?
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != T::zero())
            .map(|(i, _)| i)
            .collect()
    });
    let nd = a.ndim();
    let count = flat.len();
    let mut out = vec![0i64; nd * count];
    for (j, &i) in flat.iter().enumerate() {
        let mut rest = i;
        for d in (0..nd).rev() {
            out[d * count + j] = (rest % a.shape[d]) as i64;
            rest /= a.shape[d];
        }
    }
    Tensor::from_slice(DType::Int64, &[nd, count], &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_come_in_c_order_one_row_per_dimension() {
        let a = Tensor::from_slice(
            DType::Float64,
            &[2, 3],
            &[0.0, 1.0, 0.0, 2.0, 0.0, f64::NAN],
        )
        .unwrap();
        let out = nonzero_perform(&a).unwrap();
        assert_eq!(&out.shape[..], &[2, 3]);
        assert_eq!(out.contiguous_slice::<i64>().unwrap(), &[0, 1, 1, 1, 0, 2]);
    }
}
