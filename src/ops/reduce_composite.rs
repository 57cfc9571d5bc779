//! A reduction of an elementwise expression in one pass (PyTensor's
//! CAReduce over a Composite, made by the `local_careduce_fusion` rewrite):
//! `Sum{acc_dtype=float64}{Composite{sqr(i0)}}(W)` computes `sum(W ** 2)`
//! by evaluating `sqr` block by block into a small scratch buffer and
//! reducing each block, never making the W-sized intermediate.
//!
//! The expression computes exactly as the unfused `Elemwise` would (same
//! dtypes, same casts), and the reduction accumulates as the unfused
//! reduction does; only the order of the additions may differ.
//! There is no gradient: the rewrite runs at compile time, after `T.grad`.

use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::ops::composite::Composite;
use crate::ops::elemwise_exec::with_program_ranges;
use crate::ops::reduce::Reduce;
use crate::ops::reduce_kernels::{self, Source};
use crate::types::Type;

/// `reduce(composite(inputs...))` in one pass.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct ReduceComposite {
    pub reduce: Reduce,
    pub composite: Composite,
}

impl ReduceComposite {
    /// `Sum{axis=[0], acc_dtype=float64}{Composite{sqr(i0)}}`: the
    /// reduction's name, then the expression it reduces.
    pub fn display_name(&self) -> String {
        format!(
            "{}{{{}}}",
            self.reduce.name(self.composite.out_dtype()),
            self.composite.name
        )
    }

    pub fn output_types(&self, inputs: &[&Type]) -> Result<Vec<Type>> {
        let mapped = self.composite.output_types(inputs)?;
        self.reduce
            .output_types(&[&mapped[0]])
            .map_err(|e| match e {
                Error::Value(m) => Error::Value(format!("{}: {m}", self.display_name())),
                Error::Type(m) => Error::Type(format!("{}: {m}", self.display_name())),
                e => e,
            })
    }

    pub fn perform(&self, inputs: &[&Tensor]) -> Result<Tensor> {
        let prog = &self.composite.program;
        let dtype = prog.out_dtype();
        if !reduce_kernels::supported(dtype) {
            return self.reduce.perform(&self.composite.perform(inputs)?);
        }
        let out_dtype = self.reduce.out_dtype(dtype);
        let kind = self.reduce.kind;
        with_program_ranges(prog, inputs, reduce_kernels::FUSED_BLOCK, |shape, eval| {
            let (mask, out_shape, _) = self.reduce.layout(shape)?;
            let result = reduce_kernels::reduce(
                kind,
                Source::Ranges { shape, eval },
                dtype,
                &mask,
                &out_shape,
                out_dtype,
            )?;
            result.ok_or_else(|| {
                Error::Runtime(format!(
                    "internal error: {} has no kernel for {dtype}",
                    self.display_name()
                ))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::ops::composite::{ExprArg, ExprNode};
    use crate::ops::{Op, ReduceKind, ScalarOp};

    fn sqr_sum(axis: Option<Vec<usize>>, kind: ReduceKind, dtype: DType) -> ReduceComposite {
        let node = ExprNode {
            op: ScalarOp::Sqr,
            args: smallvec::smallvec![ExprArg::Input(0)],
            dtype,
        };
        ReduceComposite {
            reduce: Reduce { kind, axis },
            composite: Composite::new(vec![dtype], vec![node]).unwrap(),
        }
    }

    #[test]
    fn the_fused_sum_of_squares_matches_the_unfused_one() {
        let (r, c) = (300, 257);
        let xs: Vec<f32> = (0..r * c)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let x = Tensor::from_slice(DType::Float32, &[r, c], &xs).unwrap();
        for axis in [None, Some(vec![0]), Some(vec![1])] {
            for kind in [ReduceKind::Sum, ReduceKind::Max, ReduceKind::Mean] {
                let op = sqr_sum(axis.clone(), kind, DType::Float32);
                let fused = op.perform(&[&x]).unwrap();
                let sq = op.composite.perform(&[&x]).unwrap();
                let want = op.reduce.perform(&sq).unwrap();
                assert_eq!(fused.shape, want.shape);
                assert_eq!(fused.dtype, DType::Float32);
                let (a, b) = (
                    fused.contiguous_slice::<f32>().unwrap(),
                    want.contiguous_slice::<f32>().unwrap(),
                );
                for (u, v) in a.iter().zip(b) {
                    assert!(
                        (u - v).abs() <= 1e-5 * v.abs().max(1.0),
                        "{axis:?} {kind:?}: {u} vs {v}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_fused_op_names_both_parts_and_serializes() {
        let op = Op::ReduceComposite(Box::new(sqr_sum(
            Some(vec![0]),
            ReduceKind::Sum,
            DType::Float32,
        )));
        assert_eq!(
            op.name(),
            "Sum{axis=[0], acc_dtype=float64}{Composite{sqr(i0)}}"
        );
        let back = Op::from_state(&op.to_state().unwrap()).unwrap();
        assert_eq!(back, op);
    }
}
