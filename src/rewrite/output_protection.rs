//! Output protection (SPEC §3.8): an output that is, or is a view of, an
//! input, a shared variable, a constant or a later output gets `DeepCopyOp`
//! (or `ViewOp` where the user borrowed both ends), and an update value that
//! views another shared variable, an input or a constant is copied, so that
//! no two shared variables ever share memory.

use std::sync::Arc;

use crate::error::Result;
use crate::function::fgraph::{FVarKind, FunctionGraph};
use crate::graph::{SharedContainer, VarRef};
use crate::ops::Op;

pub fn protect_outputs(
    fg: &mut FunctionGraph,
    n_user: usize,
    out_borrow: &[bool],
    input_borrow: &[bool],
    update_targets: &[(VarRef, Arc<SharedContainer>)],
) -> Result<()> {
    let n = fg.outputs.len();
    for i in 0..n {
        let v = fg.outputs[i];
        let root = fg.view_root(v);
        let later = (i + 1..n).any(|j| fg.view_root(fg.outputs[j]) == root);
        let op = if i < n_user {
            let borrow = out_borrow.get(i).copied().unwrap_or(false);
            match &fg.vars[root].kind {
                _ if later => Some(Op::DeepCopy),
                FVarKind::Input(k) => Some(
                    if borrow && input_borrow.get(*k).copied().unwrap_or(false) {
                        Op::ViewOp
                    } else {
                        Op::DeepCopy
                    },
                ),
                FVarKind::Shared(_) | FVarKind::Constant(_) => {
                    Some(if borrow { Op::ViewOp } else { Op::DeepCopy })
                }
                _ => None,
            }
        } else {
            let target = update_targets.get(i - n_user).map(|(_, c)| c);
            match &fg.vars[root].kind {
                FVarKind::Shared(c) => {
                    (target.is_none_or(|t| !Arc::ptr_eq(t, c)) || later).then_some(Op::DeepCopy)
                }
                FVarKind::Input(_) | FVarKind::Constant(_) => Some(Op::DeepCopy),
                _ if later => Some(Op::DeepCopy),
                _ => None,
            }
        };
        if let Some(op) = op {
            let out = fg.add_node(op, vec![v])?[0];
            fg.outputs[i] = out;
        }
    }
    Ok(())
}
