//! The user's graph: an immutable DAG of [`Variable`]s and [`Apply`] nodes,
//! built one operation at a time. Each node's op infers its output types at
//! construction, so type errors surface where the user wrote the expression.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use crate::error::{Error, Result};
use crate::memory::Tensor;
use crate::ops::{InputInfo, Op};
use crate::types::{TensorType, Type};

/// What a container holds while [`SharedContainer::write_over`] has lent
/// its value out: an empty array shared by every container (no allocation
/// per call), never seen by a reader since the write lock is held meanwhile.
static LENT_PLACEHOLDER: OnceLock<Result<Tensor>> = OnceLock::new();

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The id the next variable or node will get: everything made from now on
/// has an id at least this large.
pub fn id_watermark() -> u64 {
    NEXT_ID.load(Ordering::Relaxed)
}

/// Shared handle to a variable; variables compare by identity (their id).
pub type VarRef = Arc<Variable>;

/// What a variable is.
pub enum VarKind {
    /// A free symbolic input (`T.matrix('x')`).
    Input,
    /// Output `index` of an Apply node.
    Output { apply: Arc<Apply>, index: usize },
    /// A constant value.
    Constant(Tensor),
    /// A shared variable's symbolic handle.
    Shared(Arc<SharedContainer>),
}

/// A symbolic variable.
pub struct Variable {
    pub id: u64,
    pub ty: Type,
    name: Mutex<Option<String>>,
    pub kind: VarKind,
}

/// An application of an op to input variables.
pub struct Apply {
    pub id: u64,
    pub op: Op,
    pub inputs: Vec<VarRef>,
    outputs: OnceLock<Vec<Weak<Variable>>>,
}

impl Apply {
    /// The outputs still alive (all of them while any is used).
    pub fn outputs(&self) -> Vec<VarRef> {
        self.outputs
            .get()
            .map(|v| v.iter().filter_map(|w| w.upgrade()).collect())
            .unwrap_or_default()
    }
    /// Output `i`, if it is still alive.
    pub fn output(&self, i: usize) -> Option<VarRef> {
        self.outputs.get()?.get(i)?.upgrade()
    }
    pub fn n_outputs(&self) -> usize {
        self.outputs.get().map(|v| v.len()).unwrap_or(0)
    }
}

/// Where a shared variable's value lives, and how it may be replaced.
pub struct SharedContainer {
    pub ty: TensorType,
    value: RwLock<Tensor>,
    pub default_update: Mutex<Option<VarRef>>,
    pub strict: bool,
    pub allow_downcast: Option<bool>,
}

impl SharedContainer {
    pub fn new(
        ty: TensorType,
        value: Tensor,
        strict: bool,
        allow_downcast: Option<bool>,
    ) -> SharedContainer {
        SharedContainer {
            ty,
            value: RwLock::new(value),
            default_update: Mutex::new(None),
            strict,
            allow_downcast,
        }
    }

    /// The current value (a cheap handle: shares the buffer).
    pub fn get(&self) -> Tensor {
        self.value.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The number of elements of the current value.
    pub fn size(&self) -> usize {
        self.value.read().unwrap_or_else(|e| e.into_inner()).size()
    }

    /// Replaces the value; the caller has already filtered it to the container's type.
    pub fn set(&self, value: Tensor) {
        self.replace(value);
    }

    /// Runs `write` over `value`, a handle on the current value, with the
    /// container's own handle lent to it for the while: when nobody else
    /// holds the buffer, `write` finds it writable and may change it in
    /// place (`Ok(true)`), and the container then holds what it wrote.
    /// Readers wait on the lock meanwhile, so nobody sees a half-written
    /// value. `write` must check its operands before it writes: on an error
    /// (or `Ok(false)`), the container keeps `value`, which it must not
    /// have changed. A `value` that is no longer the current one (another
    /// thread stored a new value since) is written over as any other.
    pub fn write_over(
        &self,
        value: &mut Tensor,
        write: impl FnOnce(&mut Tensor) -> Result<bool>,
    ) -> Result<bool> {
        let mut current = self.value.write().unwrap_or_else(|e| e.into_inner());
        if !current.is_same_view(value) {
            drop(current);
            return write(value);
        }
        let placeholder = LENT_PLACEHOLDER
            .get_or_init(|| Tensor::empty(value.dtype, &[0]))
            .clone()?;
        let lent = std::mem::replace(&mut *current, placeholder);
        drop(lent);
        let result = write(value);
        *current = value.clone();
        result
    }

    /// Replaces the value and hands back the old one.
    pub fn replace(&self, value: Tensor) -> Tensor {
        std::mem::replace(
            &mut *self.value.write().unwrap_or_else(|e| e.into_inner()),
            value,
        )
    }
}

impl Variable {
    fn make(ty: Type, kind: VarKind, name: Option<String>) -> VarRef {
        Arc::new(Variable {
            id: next_id(),
            ty,
            name: Mutex::new(name),
            kind,
        })
    }

    /// A free symbolic input.
    pub fn input(ty: Type, name: Option<String>) -> VarRef {
        Variable::make(ty, VarKind::Input, name)
    }

    /// A constant; its type is the value's dtype and ndim, with broadcastable
    /// dimensions where the length is 1 (Theano's TensorConstant).
    pub fn constant(value: Tensor, name: Option<String>) -> VarRef {
        let bcast: Vec<bool> = value.shape.iter().map(|&n| n == 1).collect();
        let ty = Type::Tensor(TensorType::new(value.dtype, &bcast));
        Variable::make(ty, VarKind::Constant(value), name)
    }

    /// A scalar constant (Subtensor's `Constant{1}`).
    pub fn scalar_constant(value: Tensor) -> VarRef {
        let ty = Type::Scalar(value.dtype);
        Variable::make(ty, VarKind::Constant(value), None)
    }

    /// A shared variable.
    pub fn shared(container: SharedContainer, name: Option<String>) -> VarRef {
        let ty = Type::Tensor(container.ty.clone());
        Variable::make(ty, VarKind::Shared(Arc::new(container)), name)
    }

    pub fn name(&self) -> Option<String> {
        self.name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_name(&self, name: Option<String>) {
        *self.name.lock().unwrap_or_else(|e| e.into_inner()) = name;
    }

    pub fn owner(&self) -> Option<(&Arc<Apply>, usize)> {
        match &self.kind {
            VarKind::Output { apply, index } => Some((apply, *index)),
            _ => None,
        }
    }

    pub fn constant_value(&self) -> Option<&Tensor> {
        match &self.kind {
            VarKind::Constant(t) => Some(t),
            _ => None,
        }
    }

    pub fn shared_container(&self) -> Option<&Arc<SharedContainer>> {
        match &self.kind {
            VarKind::Shared(c) => Some(c),
            _ => None,
        }
    }

    pub fn is_constant(&self) -> bool {
        matches!(self.kind, VarKind::Constant(_))
    }
    pub fn is_shared(&self) -> bool {
        matches!(self.kind, VarKind::Shared(_))
    }

    pub fn tensor_type(&self) -> Result<&TensorType> {
        self.ty.tensor().ok_or_else(|| {
            Error::Type(format!(
                "expected a tensor variable, got {} of type {}",
                self.display(),
                self.ty
            ))
        })
    }

    /// `str(var)`: the name, or the constant's value, or `<TensorType(...)>`.
    pub fn display(&self) -> String {
        if let Some(n) = self.name() {
            return n;
        }
        match &self.kind {
            VarKind::Constant(t) => crate::printing::constant_label(t, &self.ty),
            VarKind::Output { apply, index } => format!(
                "{}.{}",
                apply.op.display_name(apply.inputs.first().map(|v| &v.ty)),
                index
            ),
            _ => format!("<{}>", self.ty),
        }
    }
}

/// Applies `op` to `inputs`: infers the output types and makes the node.
pub fn apply(op: Op, inputs: Vec<VarRef>) -> Result<Vec<VarRef>> {
    let infos: Vec<InputInfo> = inputs
        .iter()
        .map(|v| InputInfo {
            ty: &v.ty,
            constant: v.constant_value(),
        })
        .collect();
    let out_types = op.output_types(&infos).map_err(|e| {
        let names: Vec<String> = inputs.iter().map(|v| v.display()).collect();
        let types: Vec<String> = inputs.iter().map(|v| v.ty.to_string()).collect();
        e.with_suffix(&format!(
            "\n(while building {}({}); input types: [{}])",
            op.name(),
            names.join(", "),
            types.join(", ")
        ))
    })?;
    drop(infos);
    let node = Arc::new(Apply {
        id: next_id(),
        op,
        inputs,
        outputs: OnceLock::new(),
    });
    let outputs: Vec<VarRef> = out_types
        .into_iter()
        .enumerate()
        .map(|(index, ty)| {
            Variable::make(
                ty,
                VarKind::Output {
                    apply: node.clone(),
                    index,
                },
                None,
            )
        })
        .collect();
    let _ = node
        .outputs
        .set(outputs.iter().map(Arc::downgrade).collect());
    Ok(outputs)
}

/// Applies a single-output op.
pub fn apply1(op: Op, inputs: Vec<VarRef>) -> Result<VarRef> {
    Ok(apply(op, inputs)?.remove(0))
}

/// All variables reachable from `roots` (inputs first), without duplicates.
pub fn ancestors(roots: &[VarRef]) -> Vec<VarRef> {
    let mut seen = std::collections::HashSet::new();
    let mut order = Vec::new();
    let mut stack: Vec<(VarRef, bool)> = roots.iter().rev().map(|v| (v.clone(), false)).collect();
    while let Some((v, expanded)) = stack.pop() {
        if expanded {
            order.push(v);
            continue;
        }
        if !seen.insert(v.id) {
            continue;
        }
        stack.push((v.clone(), true));
        if let Some((apply, _)) = v.owner() {
            for i in apply.inputs.iter().rev() {
                if !seen.contains(&i.id) {
                    stack.push((i.clone(), false));
                }
            }
        }
    }
    order
}

/// Rebuilds `outputs` with the variables of `replace` substituted (Theano's
/// `clone(output, replace=...)`); nodes that depend on no replaced variable
/// are shared with the original graph.
pub fn clone_replace(outputs: &[VarRef], replace: &[(VarRef, VarRef)]) -> Result<Vec<VarRef>> {
    let mut memo: std::collections::HashMap<u64, VarRef> =
        replace.iter().map(|(o, n)| (o.id, n.clone())).collect();
    for v in ancestors(outputs) {
        if memo.contains_key(&v.id) {
            continue;
        }
        let new = match v.owner() {
            Some((apply, index))
                if apply
                    .inputs
                    .iter()
                    .any(|i| memo.get(&i.id).is_some_and(|n| n.id != i.id)) =>
            {
                let inputs = apply.inputs.iter().map(|i| memo[&i.id].clone()).collect();
                let outs = self::apply(apply.op.clone(), inputs)?;
                outs[index].set_name(v.name());
                outs[index].clone()
            }
            _ => v.clone(),
        };
        memo.insert(v.id, new);
    }
    Ok(outputs.iter().map(|o| memo[&o.id].clone()).collect())
}
