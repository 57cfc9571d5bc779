//! `FunctionGraph`: the arena-backed copy of a user graph that rewrites edit
//! and the linker schedules (variables and nodes addressed by index).

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::Result;
use crate::graph::{SharedContainer, VarRef};
use crate::memory::Tensor;
use crate::ops::{InputInfo, Op};
use crate::types::Type;

pub type VarId = usize;
pub type NodeId = usize;

/// What a graph variable is.
#[derive(Clone)]
pub enum FVarKind {
    /// Explicit input number `i` of the function.
    Input(usize),
    /// A free symbolic variable that is no input (an error when compiling).
    Free,
    /// A shared variable, bound to its container.
    Shared(Arc<SharedContainer>),
    Constant(Tensor),
    /// Output `index` of node `node`.
    Output {
        node: NodeId,
        index: usize,
    },
}

#[derive(Clone)]
pub struct FVar {
    pub ty: Type,
    pub kind: FVarKind,
    pub name: Option<String>,
    /// The user's variable this one was cloned from (leaves print as it does).
    pub origin: Option<VarRef>,
}

#[derive(Clone)]
pub struct FNode {
    pub op: Op,
    pub inputs: Vec<VarId>,
    pub outputs: Vec<VarId>,
}

#[derive(Clone, Default)]
pub struct FunctionGraph {
    pub vars: Vec<FVar>,
    pub nodes: Vec<FNode>,
    pub outputs: Vec<VarId>,
    /// Every `replace(old, new)` so far, in order: DebugMode compares a
    /// replacement's value with the original's.
    pub replaced: Vec<(VarId, VarId)>,
    /// The rewrites chosen for this graph (scan's inner graphs follow them).
    pub optimizer: crate::rewrite::Optimizer,
    /// The order the destroy handler checked (`rewrite::inplace`); the VM
    /// runs the nodes in exactly this order. Any structural edit clears it.
    pub schedule: Option<Vec<NodeId>>,
    /// The shared containers the function's updates write (set by the
    /// maker; empty for inner graphs): their values change on every call.
    pub updated_shared: Vec<Arc<SharedContainer>>,
}

impl FunctionGraph {
    pub fn add_leaf(
        &mut self,
        ty: Type,
        kind: FVarKind,
        name: Option<String>,
        origin: Option<VarRef>,
    ) -> VarId {
        self.vars.push(FVar {
            ty,
            kind,
            name,
            origin,
        });
        self.vars.len() - 1
    }

    /// Adds a node, inferring its output types.
    pub fn add_node(&mut self, op: Op, inputs: Vec<VarId>) -> Result<Vec<VarId>> {
        let infos: Vec<InputInfo> = inputs
            .iter()
            .map(|&v| InputInfo {
                ty: &self.vars[v].ty,
                constant: self.constant(v),
            })
            .collect();
        let types = op.output_types(&infos)?;
        let node = self.nodes.len();
        self.schedule = None;
        let outputs: Vec<VarId> = types
            .into_iter()
            .enumerate()
            .map(|(index, ty)| {
                self.vars.push(FVar {
                    ty,
                    kind: FVarKind::Output { node, index },
                    name: None,
                    origin: None,
                });
                self.vars.len() - 1
            })
            .collect();
        self.nodes.push(FNode {
            op,
            inputs,
            outputs: outputs.clone(),
        });
        Ok(outputs)
    }

    pub fn owner(&self, v: VarId) -> Option<(NodeId, usize)> {
        match self.vars[v].kind {
            FVarKind::Output { node, index } => Some((node, index)),
            _ => None,
        }
    }

    pub fn constant(&self, v: VarId) -> Option<&Tensor> {
        match &self.vars[v].kind {
            FVarKind::Constant(t) => Some(t),
            _ => None,
        }
    }

    /// Nodes needed for the outputs, inputs before users, in a deterministic order.
    pub fn toposort(&self) -> Vec<NodeId> {
        let mut done = vec![false; self.nodes.len()];
        let mut order = Vec::new();
        for &out in &self.outputs {
            let Some((root, _)) = self.owner(out) else {
                continue;
            };
            let mut stack = vec![(root, false)];
            while let Some((n, expanded)) = stack.pop() {
                if expanded {
                    if !done[n] {
                        done[n] = true;
                        order.push(n);
                    }
                    continue;
                }
                if done[n] {
                    continue;
                }
                stack.push((n, true));
                for &i in self.nodes[n].inputs.iter().rev() {
                    if let Some((m, _)) = self.owner(i)
                        && !done[m]
                    {
                        stack.push((m, false));
                    }
                }
            }
        }
        order
    }

    /// The order to run the nodes in: the one the destroy handler checked
    /// when it ran, else the toposort.
    pub fn schedule(&self) -> Vec<NodeId> {
        match &self.schedule {
            Some(order) => order.clone(),
            None => self.toposort(),
        }
    }

    /// Variables reachable from the outputs.
    pub fn reachable_vars(&self) -> Vec<bool> {
        let mut seen = vec![false; self.vars.len()];
        for &o in &self.outputs {
            seen[o] = true;
        }
        for n in self.toposort() {
            for &i in &self.nodes[n].inputs {
                seen[i] = true;
            }
            for &o in &self.nodes[n].outputs {
                seen[o] = true;
            }
        }
        seen
    }

    /// Makes every use of `old` (node inputs and graph outputs) use `new`.
    pub fn replace(&mut self, old: VarId, new: VarId) {
        if old == new {
            return;
        }
        self.schedule = None;
        for node in self.nodes.iter_mut() {
            for i in node.inputs.iter_mut() {
                if *i == old {
                    *i = new;
                }
            }
        }
        for o in self.outputs.iter_mut() {
            if *o == old {
                *o = new;
            }
        }
        if self.vars[new].name.is_none() {
            self.vars[new].name = self.vars[old].name.clone();
        }
        self.replaced.push((old, new));
    }

    /// Clients of every variable among the live nodes: (node, input position).
    pub fn clients(&self) -> HashMap<VarId, Vec<(NodeId, usize)>> {
        let mut c: HashMap<VarId, Vec<(NodeId, usize)>> = HashMap::new();
        for n in self.toposort() {
            for (pos, &i) in self.nodes[n].inputs.iter().enumerate() {
                c.entry(i).or_default().push((n, pos));
            }
        }
        c
    }

    /// Follows `view_of` back to the variable whose memory `v` may alias.
    pub fn view_root(&self, mut v: VarId) -> VarId {
        while let Some((n, k)) = self.owner(v) {
            match self.nodes[n].op.view_of(k) {
                Some(i) => v = self.nodes[n].inputs[i],
                None => break,
            }
        }
        v
    }

    /// `Op(in1, in2)` text of a node, for error messages.
    pub fn node_text(&self, n: NodeId) -> String {
        let node = &self.nodes[n];
        let args: Vec<String> = node.inputs.iter().map(|&i| self.var_text(i)).collect();
        format!("{}({})", self.op_name(n), args.join(", "))
    }

    pub fn op_name(&self, n: NodeId) -> String {
        let node = &self.nodes[n];
        node.op
            .display_name(node.inputs.first().map(|&i| &self.vars[i].ty))
    }

    /// `str(var)` of a graph variable, as Theano prints it: its name, or
    /// for an unnamed result the op that made it and which output it is
    /// (`Elemwise{add,no_inplace}.0`), so that a node's text names its
    /// inputs without spelling out the graph below them.
    pub fn var_text(&self, v: VarId) -> String {
        let var = &self.vars[v];
        if let Some(origin) = &var.origin {
            return origin.display();
        }
        if let Some(n) = &var.name {
            return n.clone();
        }
        match &var.kind {
            FVarKind::Constant(t) => crate::printing::constant_label(t, &var.ty),
            FVarKind::Output { node, index } => format!("{}.{}", self.op_name(*node), index),
            _ => format!("<{}>", var.ty),
        }
    }
}
