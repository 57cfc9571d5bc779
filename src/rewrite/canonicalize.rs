//! Canonical forms: constant operands of commutative elementwise ops first,
//! and constant operands of elementwise ops cast to the output dtype (so
//! nothing is cast at run time).

use crate::error::Result;
use crate::function::fgraph::{FVarKind, FunctionGraph};
use crate::ops::scalar::cast_tensor;
use crate::ops::{Op, ScalarOp};
use crate::types::{TensorType, Type};

pub fn canonicalize(fg: &mut FunctionGraph) -> Result<bool> {
    let mut changed = false;
    for n in fg.toposort() {
        let Op::Elemwise(e) = &fg.nodes[n].op else {
            continue;
        };
        let op = e.scalar_op;
        if matches!(op, ScalarOp::Cast(_) | ScalarOp::Switch) {
            continue;
        }
        let is_const = |fg: &FunctionGraph, v: usize| fg.constant(v).is_some();
        if op.is_commutative() {
            let inputs = fg.nodes[n].inputs.clone();
            let mut sorted: Vec<usize> = inputs
                .iter()
                .copied()
                .filter(|&v| is_const(fg, v))
                .collect();
            sorted.extend(inputs.iter().copied().filter(|&v| !is_const(fg, v)));
            if sorted != inputs {
                fg.nodes[n].inputs = sorted;
                changed = true;
            }
        }
        // Upcast constant inputs to the dtype the op computes in.
        let out_dtype = fg.vars[fg.nodes[n].outputs[0]].ty.dtype();
        let computes_in_output = !matches!(
            op,
            ScalarOp::Eq
                | ScalarOp::Neq
                | ScalarOp::Lt
                | ScalarOp::Le
                | ScalarOp::Gt
                | ScalarOp::Ge
        );
        if !computes_in_output {
            continue;
        }
        for pos in 0..fg.nodes[n].inputs.len() {
            let v = fg.nodes[n].inputs[pos];
            let Some(t) = fg.constant(v) else { continue };
            if t.dtype == out_dtype {
                continue;
            }
            let cast = cast_tensor(t, out_dtype)?;
            let Type::Tensor(old) = &fg.vars[v].ty else {
                continue;
            };
            let ty = Type::Tensor(TensorType {
                dtype: out_dtype,
                broadcastable: old.broadcastable.clone(),
            });
            let id = fg.add_leaf(ty, FVarKind::Constant(cast), None, None);
            fg.nodes[n].inputs[pos] = id;
            changed = true;
        }
    }
    Ok(changed)
}
