//! Constant folding: a node whose inputs are all constants is computed at
//! compile time and replaced by its value.

use crate::error::Result;
use crate::function::fgraph::{FVarKind, FunctionGraph};
use crate::memory::Tensor;

pub fn constant_folding(fg: &mut FunctionGraph) -> Result<bool> {
    let mut changed = false;
    for n in fg.toposort() {
        let node = &fg.nodes[n];
        if !node.op.is_foldable()
            || node.inputs.is_empty()
            || !node.inputs.iter().all(|&i| fg.constant(i).is_some())
        {
            continue;
        }
        let values: Vec<Tensor> = node
            .inputs
            .iter()
            .map(|&i| fg.constant(i).unwrap().clone())
            .collect();
        let refs: Vec<&Tensor> = values.iter().collect();
        let types: Vec<_> = node
            .outputs
            .iter()
            .map(|&o| fg.vars[o].ty.clone())
            .collect();
        // A node that fails on its constants fails at run time instead, with the node named.
        let Ok(results) = node.op.perform(&refs, &types) else {
            continue;
        };
        let outputs = node.outputs.clone();
        for ((o, value), ty) in outputs.into_iter().zip(results).zip(types) {
            let value = value.deep_copy()?;
            let name = fg.vars[o].name.clone();
            let id = fg.add_leaf(ty, FVarKind::Constant(value), name, None);
            fg.replace(o, id);
        }
        changed = true;
    }
    Ok(changed)
}
