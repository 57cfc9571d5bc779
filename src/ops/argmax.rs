//! `MaxAndArgmax{axis=(...)}`: the maximum over some axes and the position
//! of its first occurrence (int64), counted in C order over the reduced axes
//! (`T.argmax`, `T.max_and_argmax`; `T.argmin` is `argmax(-x)`).
//!
//! Gradient with respect to `x`: `eq(x, max) * g_max`, with `max` and
//! `g_max` dimshuffled back to `x`'s rank ('x' on the reduced axes); zeros
//! when only the argmax output is used (it is integer-valued).

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::memory::{Strides, Tensor};
use crate::ops::Outputs;
use crate::ops::scalar::Prim;
use crate::types::{TensorType, Type};
use crate::with_dtype;

/// The reduced axes, sorted and distinct (all axes for a full reduction).
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct MaxAndArgmax {
    pub axis: Vec<usize>,
}

impl MaxAndArgmax {
    /// `MaxAndArgmax{axis=(1,)}`, `MaxAndArgmax{axis=(0, 1)}`.
    pub fn name(&self) -> String {
        let items: Vec<String> = self.axis.iter().map(|a| a.to_string()).collect();
        let tuple = if items.len() == 1 {
            format!("({},)", items[0])
        } else {
            format!("({})", items.join(", "))
        };
        format!("MaxAndArgmax{{axis={tuple}}}")
    }

    /// Two outputs, the max (the input's dtype) and the argmax (int64), both
    /// keeping the broadcastable flags of the axes not reduced.
    pub fn output_types(&self, inputs: &[&Type]) -> Result<Vec<Type>> {
        let x = inputs[0]
            .tensor()
            .ok_or_else(|| Error::Type(format!("MaxAndArgmax of a non-tensor {}", inputs[0])))?;
        if let Some(bad) = self.axis.iter().find(|&&a| a >= x.ndim()) {
            return Err(Error::Value(format!(
                "Computation needs a valid axis number for {}-D tensor. Got {bad}",
                x.ndim()
            )));
        }
        if x.dtype.is_complex() {
            return Err(Error::Type(format!(
                "{}: complex inputs have no order ({x})",
                self.name()
            )));
        }
        let bcast: Vec<bool> = (0..x.ndim())
            .filter(|d| !self.axis.contains(d))
            .map(|d| x.broadcastable[d])
            .collect();
        Ok(vec![
            Type::Tensor(TensorType::new(x.dtype, &bcast)),
            Type::Tensor(TensorType::new(DType::Int64, &bcast)),
        ])
    }

    pub fn perform(&self, x: &Tensor) -> Result<Outputs> {
        let kept: Vec<usize> = (0..x.ndim()).filter(|d| !self.axis.contains(d)).collect();
        let out_shape: Vec<usize> = kept.iter().map(|&d| x.shape[d]).collect();
        let group: usize = self.axis.iter().map(|&d| x.shape[d]).product();
        let out_size: usize = out_shape.iter().product();
        if group == 0 && out_size > 0 {
            return Err(Error::Value(format!(
                "{}: attempt to get argmax of an empty sequence (input shape {:?})",
                self.name(),
                &x.shape[..]
            )));
        }
        // A view with the kept axes first and the reduced ones last: in C
        // order each output element's group is then one contiguous run.
        let order: Vec<usize> = kept.iter().chain(&self.axis).copied().collect();
        let shape = order.iter().map(|&d| x.shape[d]).collect();
        let strides: Strides = order.iter().map(|&d| x.strides[d]).collect();
        let view = x.view(shape, strides, x.offset)?;
        let (max, arg) = with_dtype!(x.dtype, T => {
            let values = crate::ops::scalar::read_all::<T>(&view)?;
            let mut max = Vec::with_capacity(out_size);
            let mut arg = Vec::with_capacity(out_size);
            for run in values.chunks(group.max(1)).take(out_size) {
                let (mut best, mut at) = (run[0], 0i64);
                for (i, &v) in run.iter().enumerate().skip(1) {
                    if !best.is_nan() && (v.is_nan() || v > best) {
                        best = v;
                        at = i as i64;
                    }
                }
                max.push(best);
                arg.push(at);
            }
            (
                Tensor::from_slice(x.dtype, &out_shape, &max)?,
                Tensor::from_slice(DType::Int64, &out_shape, &arg)?,
            )
        });
        Ok(smallvec::smallvec![max, arg])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_over_two_axes_counts_in_c_order() {
        // shape (2, 2, 2): reduce axes 0 and 2, keep axis 1.
        let x = Tensor::from_slice(
            DType::Float64,
            &[2, 2, 2],
            &[0.0, 1.0, 9.0, 2.0, 5.0, 3.0, 4.0, 8.0],
        )
        .unwrap();
        let op = MaxAndArgmax { axis: vec![0, 2] };
        let outs = op.perform(&x).unwrap();
        assert_eq!(outs[0].contiguous_slice::<f64>().unwrap(), &[5.0, 9.0]);
        // axis 1 = 0: values (a0,c0)=0 (a0,c1)=1 (a1,c0)=5 (a1,c1)=3 -> index 2
        // axis 1 = 1: values 9, 2, 4, 8 -> index 0
        assert_eq!(outs[1].contiguous_slice::<i64>().unwrap(), &[2, 0]);
        assert_eq!(op.name(), "MaxAndArgmax{axis=(0, 2)}");
    }

    #[test]
    fn an_empty_group_is_an_error() {
        let x = Tensor::zeros(DType::Float32, &[0, 3]).unwrap();
        let op = MaxAndArgmax { axis: vec![0] };
        assert!(op.perform(&x).is_err());
    }
}
