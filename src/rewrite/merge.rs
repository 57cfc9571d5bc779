//! Merge: equal constants become one, and nodes applying the same op to the
//! same inputs are computed once.

use std::collections::HashMap;

use crate::error::Result;
use crate::function::fgraph::{FunctionGraph, VarId};
use crate::ops::Op;

pub fn merge(fg: &mut FunctionGraph) -> Result<bool> {
    let mut changed = false;
    // Constants: equal type and value.
    let reach = fg.reachable_vars();
    let mut consts: Vec<VarId> = Vec::new();
    for (v, &reached) in reach.iter().enumerate() {
        if !reached {
            continue;
        }
        let Some(t) = fg.constant(v) else { continue };
        match consts
            .iter()
            .find(|&&c| fg.vars[c].ty == fg.vars[v].ty && fg.constant(c).unwrap().same_values(t))
        {
            Some(&c) => {
                fg.replace(v, c);
                changed = true;
            }
            None => consts.push(v),
        }
    }
    // Nodes, in topological order so that merged inputs make more merges.
    let mut seen: HashMap<(Op, Vec<VarId>), usize> = HashMap::new();
    for n in fg.toposort() {
        let key = (fg.nodes[n].op.clone(), fg.nodes[n].inputs.clone());
        match seen.get(&key) {
            Some(&m) if m != n => {
                let pairs: Vec<(VarId, VarId)> = fg.nodes[n]
                    .outputs
                    .iter()
                    .copied()
                    .zip(fg.nodes[m].outputs.iter().copied())
                    .collect();
                for (old, new) in pairs {
                    fg.replace(old, new);
                }
                changed = true;
            }
            _ => {
                seen.insert(key, n);
            }
        }
    }
    Ok(changed)
}
