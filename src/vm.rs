//! The executor: a FunctionGraph linked once into a static schedule of thunks
//! over numbered storage slots. A call fills the input slots, runs the
//! thunks in order and reads the output slots; no graph walk happens per call.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use smallvec::SmallVec;

use crate::error::{Error, Result};
use crate::function::fgraph::{FVarKind, FunctionGraph, NodeId};
use crate::graph::SharedContainer;
use crate::memory::Tensor;
use crate::ops::{Op, Outputs};
use crate::types::Type;

/// One scheduled node.
struct Thunk {
    op: Op,
    inputs: SmallVec<[usize; 4]>,
    outputs: SmallVec<[usize; 2]>,
    out_types: Vec<Type>,
    node: NodeId,
    /// Slots whose last reader this thunk is (freed after it with allow_gc).
    free_after: SmallVec<[usize; 4]>,
    /// For an inplace node: the input its output is written over.
    destroy: Option<Destroy>,
    /// For a node computed from shared variables and constants only, whose
    /// result is worth keeping (see [`memoized`]): its last inputs and outputs.
    memo: Option<Mutex<Option<Memo>>>,
}

/// How an inplace node runs: the destroyed input's value is moved out of its
/// slot (the destroy handler proved nobody reads it later) and written over
/// when its storage is uniquely owned; otherwise a fresh output is computed.
struct Destroy {
    /// Position of the destroyed input among the node's inputs.
    input: usize,
    /// Slots of other variables sharing the destroyed memory (views of it,
    /// kept when intermediates are not freed): dead by then, emptied first
    /// so that they do not keep the storage shared.
    dead_aliases: SmallVec<[usize; 2]>,
    /// The shared variable whose value is written over (the update in
    /// place, scheduled last): the container lends it for the write.
    shared: Option<Arc<SharedContainer>>,
}

static INPLACE_WRITES: AtomicU64 = AtomicU64::new(0);
static INPLACE_FALLBACKS: AtomicU64 = AtomicU64::new(0);

/// How many times inplace nodes wrote over their input, and how many times
/// they fell back to a fresh buffer (the input's memory was shared, borrowed
/// from NumPy, strided or of another shape), since the process started.
pub fn inplace_counts() -> (u64, u64) {
    (
        INPLACE_WRITES.load(Ordering::Relaxed),
        INPLACE_FALLBACKS.load(Ordering::Relaxed),
    )
}

/// The values a memoized node last ran on and what it produced.
struct Memo {
    inputs: SmallVec<[Tensor; 4]>,
    outputs: Outputs,
}

/// Whether node `n` keeps its result between calls: a `Join` (the product
/// merge's concatenation of weights) whose inputs are all shared variables
/// or constants, and whose result no graph output may alias (the user must
/// not get, and write to, the kept buffer). It is recomputed only when an
/// input is another value than last time. Holding the previous inputs is
/// what makes that check sound: a storage rtensor owns is written only while
/// nobody else holds it (memory.rs, invariant 2), so one the memo holds
/// cannot have changed; borrowed (foreign) memory is never trusted, nor
/// memory lent to NumPy as a writable view (`Storage::expose`).
fn memoized(fg: &FunctionGraph, n: NodeId) -> bool {
    let node = &fg.nodes[n];
    matches!(node.op, Op::Join)
        && node
            .inputs
            .iter()
            .all(|&i| matches!(fg.vars[i].kind, FVarKind::Shared(_) | FVarKind::Constant(_)))
        && fg
            .outputs
            .iter()
            .all(|&o| !node.outputs.contains(&fg.view_root(o)))
}

/// The same value as last time: the same storage, layout and dtype, in
/// memory rtensor owns and never lent to NumPy as a writable view.
fn same_value(a: &Tensor, b: &Tensor) -> bool {
    a.is_same_view(b) && a.storage().is_host_owned() && !a.storage().is_exposed()
}

/// A linked program.
pub struct Program {
    thunks: Vec<Thunk>,
    n_slots: usize,
    /// Slot of each explicit input.
    pub input_slots: Vec<Option<usize>>,
    shared_slots: Vec<(usize, Arc<SharedContainer>)>,
    const_slots: Vec<(usize, Tensor)>,
    /// Slot of each graph output.
    pub output_slots: Vec<usize>,
    /// Outputs whose value may be moved out of its slot after a call that
    /// frees intermediates (no constant, input or shared slot, no later
    /// output reading the same slot).
    output_movable: Vec<bool>,
    fgraph: FunctionGraph,
    n_inputs: usize,
    /// Slot of each graph variable (`usize::MAX` for variables not scheduled).
    slot_of: Vec<usize>,
    /// Whether every node is a cheap, Rust-only op (see [`Program::is_brief`]).
    light: bool,
}

/// Calls whose inputs and shared values hold at most this many elements in
/// all, on a program of light ops, are brief (see [`Program::is_brief`]).
const BRIEF_ELEMENTS: usize = 4096;

/// Ops that cost about one pass over their operands and never call Python.
fn is_light(op: &Op) -> bool {
    if let Op::Inplace(i) = op {
        return is_light(&i.op);
    }
    matches!(
        op,
        Op::Elemwise(_)
            | Op::Composite(_)
            | Op::DimShuffle(_)
            | Op::Subtensor(_)
            | Op::ScalarFromTensor
            | Op::DeepCopy
            | Op::ViewOp
            | Op::Assert(_)
            | Op::Shape
            | Op::ShapeI(_)
            | Op::Reshape(_)
            | Op::Flatten(_)
            | Op::MakeVector(_)
            | Op::Reduce(_)
            | Op::ReduceComposite(_)
            | Op::Rebroadcast(_)
    )
}

/// Per-call storage: one optional value per slot.
pub type Storage = Vec<Option<Tensor>>;

/// Watches each node run with its values: DebugMode's checks.
pub trait NodeObserver {
    /// Whether ops that cannot be trusted should check their declarations.
    fn checked(&self) -> bool {
        false
    }
    /// Called with a node's input values before it runs.
    fn before(&mut self, _fg: &FunctionGraph, _node: NodeId, _inputs: &[&Tensor]) -> Result<()> {
        Ok(())
    }
    /// Called with its inputs and outputs after it ran.
    fn after(
        &mut self,
        _fg: &FunctionGraph,
        _node: NodeId,
        _inputs: &[&Tensor],
        _outputs: &[Tensor],
    ) -> Result<()> {
        Ok(())
    }
}

/// Started and stopped around every node by the plain thunk loop (the
/// profiler's clock), so that what it times is what runs without it.
pub trait NodeClock {
    fn start(&mut self);
    fn stop(&mut self, fg: &FunctionGraph, node: NodeId);
}

/// The plain loop's clock: nothing, compiled away.
struct Unwatched;

impl NodeClock for Unwatched {
    #[inline(always)]
    fn start(&mut self) {}
    #[inline(always)]
    fn stop(&mut self, _fg: &FunctionGraph, _node: NodeId) {}
}

/// What watches a call: nothing, a clock on the plain loop, or an observer
/// on the observed loop.
pub enum Watch<'a> {
    Nothing,
    Clock(&'a mut dyn NodeClock),
    Observer(&'a mut dyn NodeObserver),
}

impl Program {
    /// Links a rewritten graph with `n_inputs` explicit inputs.
    pub fn link(fg: FunctionGraph, n_inputs: usize) -> Program {
        // The order the destroy handler checked, if it ran.
        let order = fg.schedule();
        let mut slot_of = vec![usize::MAX; fg.vars.len()];
        let mut n_slots = 0;
        let mut slot = |v: usize, slot_of: &mut Vec<usize>| {
            if slot_of[v] == usize::MAX {
                slot_of[v] = n_slots;
                n_slots += 1;
            }
            slot_of[v]
        };
        let mut input_slots = vec![None; n_inputs];
        let mut shared_slots = Vec::new();
        let mut const_slots = Vec::new();
        let mut leaf = |v: usize, slot_of: &mut Vec<usize>, fg: &FunctionGraph| {
            let fresh = slot_of[v] == usize::MAX;
            let s = slot(v, slot_of);
            if fresh {
                match &fg.vars[v].kind {
                    FVarKind::Input(i) => input_slots[*i] = Some(s),
                    FVarKind::Shared(c) => shared_slots.push((s, c.clone())),
                    FVarKind::Constant(t) => const_slots.push((s, t.clone())),
                    _ => {}
                }
            }
            s
        };
        let mut thunks = Vec::with_capacity(order.len());
        for &n in &order {
            let node = &fg.nodes[n];
            let inputs = node
                .inputs
                .iter()
                .map(|&v| leaf(v, &mut slot_of, &fg))
                .collect();
            let outputs = node
                .outputs
                .iter()
                .map(|&v| leaf(v, &mut slot_of, &fg))
                .collect();
            thunks.push(Thunk {
                op: node.op.clone(),
                inputs,
                outputs,
                out_types: node
                    .outputs
                    .iter()
                    .map(|&o| fg.vars[o].ty.clone())
                    .collect(),
                node: n,
                free_after: SmallVec::new(),
                destroy: None,
                memo: memoized(&fg, n).then(|| Mutex::new(None)),
            });
        }
        let output_slots: Vec<usize> = fg
            .outputs
            .iter()
            .map(|&v| leaf(v, &mut slot_of, &fg))
            .collect();
        // Last reader of every intermediate slot (outputs and leaves are never freed early).
        let mut last: Vec<Option<usize>> = vec![None; n_slots];
        for (t, th) in thunks.iter().enumerate() {
            for &s in &th.inputs {
                last[s] = Some(t);
            }
        }
        let keep: std::collections::HashSet<usize> = output_slots
            .iter()
            .copied()
            .chain(input_slots.iter().flatten().copied())
            .chain(shared_slots.iter().map(|(s, _)| *s))
            .chain(const_slots.iter().map(|(s, _)| *s))
            .collect();
        for (s, l) in last.iter().enumerate() {
            if let Some(t) = l
                && !keep.contains(&s)
            {
                thunks[*t].free_after.push(s);
            }
        }
        // Inplace nodes: the destroyed input, and the other slots holding
        // aliases of its memory.
        for t in 0..thunks.len() {
            let n = thunks[t].node;
            let Some(i) = (0..thunks[t].outputs.len()).find_map(|k| {
                (!matches!(thunks[t].op, Op::External(_)))
                    .then(|| thunks[t].op.destroys(k))
                    .flatten()
            }) else {
                continue;
            };
            let slot = thunks[t].inputs[i];
            let shared = shared_slots
                .iter()
                .find(|(s, _)| *s == slot)
                .map(|(_, c)| c.clone());
            // The same value read twice by the node: never written over; nor
            // a kept slot, but for the shared value an update writes over.
            if thunks[t].inputs.iter().filter(|&&s| s == slot).count() > 1
                || (keep.contains(&slot) && shared.is_none())
            {
                continue;
            }
            let root = crate::rewrite::inplace::memory_root(&fg, fg.nodes[n].inputs[i]);
            let mut dead_aliases = SmallVec::new();
            for earlier in &thunks[..t] {
                for (k, &o) in fg.nodes[earlier.node].outputs.iter().enumerate() {
                    let s = earlier.outputs[k];
                    if s != slot
                        && !keep.contains(&s)
                        && crate::rewrite::inplace::memory_root(&fg, o) == root
                    {
                        dead_aliases.push(s);
                    }
                }
            }
            thunks[t].destroy = Some(Destroy {
                input: i,
                dead_aliases,
                shared,
            });
        }
        let output_movable = output_slots
            .iter()
            .enumerate()
            .map(|(k, s)| {
                !output_slots[k + 1..].contains(s)
                    && !input_slots.contains(&Some(*s))
                    && !shared_slots.iter().any(|(x, _)| x == s)
                    && !const_slots.iter().any(|(x, _)| x == s)
            })
            .collect();
        let light = thunks.iter().all(|t| is_light(&t.op));
        Program {
            light,
            thunks,
            n_slots,
            input_slots,
            shared_slots,
            const_slots,
            output_slots,
            output_movable,
            fgraph: fg,
            n_inputs,
            slot_of,
        }
    }

    /// The storage slot of graph variable `v`, if the schedule uses it.
    pub fn slot_of(&self, v: usize) -> Option<usize> {
        self.slot_of.get(v).copied().filter(|&s| s != usize::MAX)
    }

    pub fn fgraph(&self) -> &FunctionGraph {
        &self.fgraph
    }

    /// Whether a call on `inputs` is too short to be worth releasing the
    /// GIL for (as NumPy keeps it for small ufunc loops): only light ops,
    /// over a few thousand elements in all.
    pub fn is_brief(&self, inputs: &[Tensor]) -> bool {
        if !self.light {
            return false;
        }
        let mut elements: usize = inputs.iter().map(Tensor::size).sum();
        for (_, c) in &self.shared_slots {
            elements += c.size();
            if elements > BRIEF_ELEMENTS {
                return false;
            }
        }
        elements <= BRIEF_ELEMENTS
    }

    /// The shared variables the program reads.
    pub fn shared_containers(&self) -> Vec<Arc<SharedContainer>> {
        self.shared_slots.iter().map(|(_, c)| c.clone()).collect()
    }

    pub fn n_inputs(&self) -> usize {
        self.n_inputs
    }

    /// Fresh storage with the constants in place.
    pub fn new_storage(&self) -> Storage {
        let mut s: Storage = vec![None; self.n_slots];
        for (slot, t) in &self.const_slots {
            s[*slot] = Some(t.clone());
        }
        s
    }

    /// Runs the schedule. `inputs` are the explicit input values in order.
    /// Returns the graph outputs; `storage` keeps intermediates when `allow_gc` is off.
    /// The caller keeps `inputs` alive (and drops them where it may, e.g.
    /// with the GIL held for values borrowed from Python).
    pub fn run(
        &self,
        storage: &mut Storage,
        inputs: &[Tensor],
        allow_gc: bool,
    ) -> Result<Vec<Tensor>> {
        self.run_watched(storage, inputs, allow_gc, Watch::Nothing)
    }

    /// [`Program::run`] watched by `watch`: an observer on a loop of its own
    /// that hands it every node's input and output values (DebugMode), or a
    /// clock around every node of the very loop [`Program::run`] runs (the
    /// profiler: the same kernels, written in place, into last call's
    /// buffers or kept from last call, as without it).
    pub fn run_watched(
        &self,
        storage: &mut Storage,
        inputs: &[Tensor],
        allow_gc: bool,
        watch: Watch<'_>,
    ) -> Result<Vec<Tensor>> {
        for (slot, value) in self.input_slots.iter().zip(inputs) {
            if let Some(s) = slot {
                storage[*s] = Some(value.clone());
            }
        }
        for (slot, c) in &self.shared_slots {
            storage[*slot] = Some(c.get());
        }
        let result = match watch {
            Watch::Nothing => self.run_thunks(storage, allow_gc, &mut Unwatched),
            Watch::Clock(c) => self.run_thunks(storage, allow_gc, c),
            Watch::Observer(o) => self.run_thunks_observed(storage, allow_gc, o),
        };
        let outputs = result.map(|_| {
            self.output_slots
                .iter()
                .zip(&self.output_movable)
                .map(|(&s, &movable)| {
                    let small = storage[s].as_ref().is_some_and(stays_in_its_slot);
                    if allow_gc && movable && !small {
                        storage[s].take()
                    } else {
                        storage[s].clone()
                    }
                    .expect("output computed")
                })
                .collect()
        });
        // Inputs and shared values are not kept past the call.
        for slot in self.input_slots.iter().flatten() {
            storage[*slot] = None;
        }
        for (slot, _) in &self.shared_slots {
            storage[*slot] = None;
        }
        if allow_gc {
            for s in &self.output_slots {
                let small = storage[*s].as_ref().is_some_and(stays_in_its_slot);
                if !small && !self.const_slots.iter().any(|(c, _)| c == s) {
                    storage[*s] = None;
                }
            }
        }
        outputs
    }

    /// After a call, the value an update replaced: when small, it goes into
    /// the update's output slot, so that the next call computes the new
    /// value over it instead of allocating (double buffering: the shared
    /// variable's current value is never the buffer written). `k` counts
    /// outputs then updates. A value someone still holds is not written over
    /// (`Op::perform_into` needs sole ownership), and constant slots keep
    /// their constants.
    pub fn keep_for_next_call(&self, storage: &mut Storage, k: usize, old: Tensor) {
        let Some(&slot) = self.output_slots.get(k) else {
            return;
        };
        if stays_in_its_slot(&old) && !self.const_slots.iter().any(|(c, _)| *c == slot) {
            storage[slot] = Some(old);
        }
    }

    /// Runs the thunks alone, on storage whose input slots the caller has
    /// filled (Scan's loop: inputs are set per step, outputs read from
    /// `output_slots`, nothing else is touched between steps).
    pub fn execute(&self, storage: &mut Storage, allow_gc: bool) -> Result<()> {
        self.run_thunks(storage, allow_gc, &mut Unwatched)
    }

    fn run_thunks<C: NodeClock + ?Sized>(
        &self,
        storage: &mut Storage,
        allow_gc: bool,
        clock: &mut C,
    ) -> Result<()> {
        for (index, th) in self.thunks.iter().enumerate() {
            clock.start();
            self.run_thunk(storage, index, allow_gc)?;
            clock.stop(&self.fgraph, th.node);
        }
        Ok(())
    }

    /// Runs node `index` of the schedule: in place, into its last output's
    /// buffer, from its memo or into fresh buffers.
    #[inline(always)]
    fn run_thunk(&self, storage: &mut Storage, index: usize, allow_gc: bool) -> Result<()> {
        let th = &self.thunks[index];
        if let Some(d) = &th.destroy {
            self.run_inplace(storage, index, d)?;
            if allow_gc {
                for &s in &th.free_after {
                    storage[s] = None;
                }
            }
            return Ok(());
        }
        // The value this node left in its slot last time, if nobody
        // else holds it, is written over instead of allocating anew.
        if th.outputs.len() == 1 && th.op.writes_into() {
            let out = th.outputs[0];
            // The output slot, and the others (its inputs) beside it.
            let (before, rest) = storage.split_at_mut(out);
            let (slot, after) = rest.split_first_mut().expect("slot in range");
            if let Some(old) = slot.as_mut() {
                let (before, after): (&[Option<Tensor>], &[Option<Tensor>]) = (before, after);
                let values: SmallVec<[&Tensor; 4]> = th
                    .inputs
                    .iter()
                    .map(|&s| {
                        let v = if s < out {
                            &before[s]
                        } else {
                            &after[s - out - 1]
                        };
                        v.as_ref().expect("input computed")
                    })
                    .collect();
                let done = th
                    .op
                    .perform_into(&values, old)
                    .map_err(|e| self.describe_failure(e, index, &values))?;
                drop(values);
                if done {
                    if allow_gc {
                        for &s in &th.free_after {
                            storage[s] = None;
                        }
                    }
                    return Ok(());
                }
            }
        }
        let outs = {
            let values: SmallVec<[&Tensor; 4]> = th
                .inputs
                .iter()
                .map(|&s| storage[s].as_ref().expect("input computed"))
                .collect();
            let result = match &th.memo {
                None => th.op.perform(&values, &th.out_types),
                Some(memo) => perform_memoized(th, memo, &values),
            };
            match result {
                Ok(o) => o,
                Err(e) => return Err(self.describe_failure(e, index, &values)),
            }
        };
        self.check_output_types(th, &outs)?;
        for (&s, t) in th.outputs.iter().zip(outs) {
            storage[s] = Some(t);
        }
        if allow_gc {
            for &s in &th.free_after {
                storage[s] = None;
            }
        }
        Ok(())
    }

    /// Runs inplace node `index`: over its destroyed input when that value's
    /// storage is its alone, else into a fresh buffer (counted).
    fn run_inplace(&self, storage: &mut Storage, index: usize, d: &Destroy) -> Result<()> {
        let th = &self.thunks[index];
        for &s in &d.dead_aliases {
            storage[s] = None;
        }
        let slot = th.inputs[d.input];
        if d.shared.is_some() {
            // What the node made last call may still share the value.
            storage[th.outputs[0]] = None;
        }
        let mut dest = storage[slot].take().expect("input computed");
        let done = {
            let others: SmallVec<[Option<&Tensor>; 4]> = th
                .inputs
                .iter()
                .enumerate()
                .map(|(j, &s)| (j != d.input).then(|| storage[s].as_ref().expect("input computed")))
                .collect();
            let Op::Inplace(op) = &th.op else {
                unreachable!("only Inplace ops destroy in the core")
            };
            let written = match &d.shared {
                None => op.perform_over_input(&others, &mut dest),
                Some(c) => c.write_over(&mut dest, |t| op.perform_over_input(&others, t)),
            };
            match written {
                Ok(done) => done,
                Err(e) => {
                    let values: SmallVec<[&Tensor; 4]> =
                        others.iter().map(|t| t.unwrap_or(&dest)).collect();
                    return Err(self.describe_failure(e, index, &values));
                }
            }
        };
        let out = if done {
            INPLACE_WRITES.fetch_add(1, Ordering::Relaxed);
            dest
        } else {
            INPLACE_FALLBACKS.fetch_add(1, Ordering::Relaxed);
            let values: SmallVec<[&Tensor; 4]> = th
                .inputs
                .iter()
                .enumerate()
                .map(|(j, &s)| {
                    if j == d.input {
                        &dest
                    } else {
                        storage[s].as_ref().expect("input computed")
                    }
                })
                .collect();
            let mut outs = th
                .op
                .perform(&values, &th.out_types)
                .map_err(|e| self.describe_failure(e, index, &values))?;
            self.check_output_types(th, &outs)?;
            drop(values);
            outs.swap_remove(0)
        };
        storage[th.outputs[0]] = Some(out);
        Ok(())
    }

    /// The thunk loop with an observer around each node (kept apart from
    /// `run_thunks` so the plain path stays minimal).
    fn run_thunks_observed(
        &self,
        storage: &mut Storage,
        allow_gc: bool,
        observer: &mut dyn NodeObserver,
    ) -> Result<()> {
        let checked = observer.checked();
        for (index, th) in self.thunks.iter().enumerate() {
            let outs = {
                let values: SmallVec<[&Tensor; 4]> = th
                    .inputs
                    .iter()
                    .map(|&s| storage[s].as_ref().expect("input computed"))
                    .collect();
                observer.before(&self.fgraph, th.node, &values)?;
                let outs = match self.perform_observed(th, &values, checked) {
                    Ok(o) => o,
                    Err(e) => return Err(self.describe_failure(e, index, &values)),
                };
                self.check_output_types(th, &outs)?;
                observer.after(&self.fgraph, th.node, &values, &outs)?;
                outs
            };
            for (&s, t) in th.outputs.iter().zip(outs) {
                storage[s] = Some(t);
            }
            if allow_gc {
                for &s in &th.free_after {
                    storage[s] = None;
                }
            }
        }
        Ok(())
    }

    /// A node's outputs on the observed path. Under DebugMode (`checked`) an
    /// inplace node runs its inplace kernel over a private copy of the
    /// destroyed input, so that
    /// DebugMode compares what the inplace code computes while every input
    /// keeps its value.
    fn perform_observed(
        &self,
        th: &Thunk,
        values: &[&Tensor],
        checked: bool,
    ) -> Result<crate::ops::Outputs> {
        if let (true, Some(d), Op::Inplace(op)) = (checked, &th.destroy, &th.op) {
            let mut copy = values[d.input].deep_copy()?;
            let others: SmallVec<[Option<&Tensor>; 4]> = values
                .iter()
                .enumerate()
                .map(|(j, t)| (j != d.input).then_some(*t))
                .collect();
            if op.perform_over_input(&others, &mut copy)? {
                return Ok(smallvec::smallvec![copy]);
            }
        }
        th.op.perform_checked(values, &th.out_types, checked)
    }

    /// A kernel must give the node's declared output types.
    fn check_output_types(&self, th: &Thunk, outs: &[Tensor]) -> Result<()> {
        if outs.len() != th.out_types.len() {
            return Err(Error::Runtime(format!(
                "{} produced {} outputs for {} output types",
                self.fgraph.node_text(th.node),
                outs.len(),
                th.out_types.len()
            )));
        }
        if let Some(bad) = th
            .out_types
            .iter()
            .zip(outs)
            .find(|(ty, t)| ty.ndim() != t.ndim() || ty.dtype() != t.dtype)
        {
            return Err(Error::Runtime(format!(
                "internal error: {} produced {:?} for output type {}",
                self.fgraph.node_text(th.node),
                bad.1,
                bad.0
            )));
        }
        Ok(())
    }

    /// Theano's run-time error context: the node, its position, input types and shapes.
    fn describe_failure(&self, e: Error, index: usize, values: &[&Tensor]) -> Error {
        let th = &self.thunks[index];
        let fg = &self.fgraph;
        let types: Vec<String> = fg.nodes[th.node]
            .inputs
            .iter()
            .map(|&v| fg.vars[v].ty.to_string())
            .collect();
        let shapes: Vec<String> = values
            .iter()
            .map(|t| format!("{:?}", &t.shape[..]))
            .collect();
        let strides: Vec<String> = values
            .iter()
            .map(|t| format!("{:?}", &t.strides[..]))
            .collect();
        e.with_suffix(&format!(
            "\nApply node that caused the error: {}\nToposort index: {}\nInputs types: [{}]\nInputs shapes: [{}]\nInputs strides: [{}]\nHINT: Use the rtensor flag 'exception_verbosity=high' for a debugprint and storage map footprint of this apply node.",
            fg.node_text(th.node),
            index,
            types.join(", "),
            shapes.join(", "),
            strides.join(", ")
        ))
    }
}

/// Runs a memoized thunk: its kept outputs when the inputs are the values
/// it last ran on, else it runs and keeps what it made.
fn perform_memoized(th: &Thunk, memo: &Mutex<Option<Memo>>, values: &[&Tensor]) -> Result<Outputs> {
    let mut memo = memo.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(m) = memo.as_ref()
        && m.inputs.len() == values.len()
        && m.inputs.iter().zip(values).all(|(a, b)| same_value(a, b))
    {
        return Ok(m.outputs.clone());
    }
    let outputs = th.op.perform(values, &th.out_types)?;
    *memo = values
        .iter()
        .all(|v| v.storage().is_host_owned() && !v.storage().is_exposed())
        .then(|| Memo {
            inputs: values.iter().map(|&v| v.clone()).collect(),
            outputs: outputs.clone(),
        });
    Ok(outputs)
}

/// Whether an output value stays in its slot after a call even with
/// `allow_gc`: a small buffer in host memory (at most this many bytes) is
/// copied out to the caller anyway, and leaving it lets the next call write
/// over it instead of allocating (`Op::perform_into`). The caller's copy is
/// never shared with it: a value someone else still holds is not written over.
fn stays_in_its_slot(t: &Tensor) -> bool {
    t.nbytes() <= SMALL_OUTPUT_BYTES && t.storage().is_host_owned()
}

/// See [`stays_in_its_slot`]; the same size below which outputs reach
/// Python as copies.
pub const SMALL_OUTPUT_BYTES: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::types::TensorType;

    fn matrix(rows: usize, cols: usize, start: f64) -> Tensor {
        let values: Vec<f64> = (0..rows * cols).map(|i| start + i as f64).collect();
        Tensor::from_slice(DType::Float64, &[rows, cols], &values).unwrap()
    }

    fn read(t: &Tensor) -> Vec<f64> {
        crate::ops::scalar::read_all::<f64>(t).unwrap()
    }

    /// `dot(x, Join(1, W1, W2))` over two shared containers, linked.
    fn joined_product() -> (Program, Arc<SharedContainer>, Arc<SharedContainer>) {
        let ty = TensorType::new(DType::Float64, &[false, false]);
        let mut fg = FunctionGraph::default();
        let x = fg.add_leaf(Type::Tensor(ty.clone()), FVarKind::Input(0), None, None);
        let axis = fg.add_leaf(
            Type::Tensor(TensorType::new(DType::Int64, &[])),
            FVarKind::Constant(Tensor::from_slice(DType::Int64, &[], &[1i64]).unwrap()),
            None,
            None,
        );
        let c1 = Arc::new(SharedContainer::new(
            ty.clone(),
            matrix(2, 2, 0.0),
            false,
            None,
        ));
        let c2 = Arc::new(SharedContainer::new(
            ty.clone(),
            matrix(2, 1, 10.0),
            false,
            None,
        ));
        let w1 = fg.add_leaf(
            Type::Tensor(ty.clone()),
            FVarKind::Shared(c1.clone()),
            None,
            None,
        );
        let w2 = fg.add_leaf(Type::Tensor(ty), FVarKind::Shared(c2.clone()), None, None);
        let joined = fg.add_node(Op::Join, vec![axis, w1, w2]).unwrap()[0];
        let product = fg.add_node(Op::Dot, vec![x, joined]).unwrap()[0];
        fg.outputs = vec![product];
        (Program::link(fg, 1), c1, c2)
    }

    fn kept_join(p: &Program) -> Option<Tensor> {
        let th = p.thunks.iter().find(|t| matches!(t.op, Op::Join)).unwrap();
        let memo = th
            .memo
            .as_ref()
            .expect("the Join of shared values is memoized");
        let kept = memo.lock().unwrap();
        kept.as_ref().map(|m| m.outputs[0].clone())
    }

    #[test]
    fn a_join_of_shared_values_is_kept_until_one_of_them_changes() {
        let (p, _c1, c2) = joined_product();
        let mut storage = p.new_storage();
        let x = matrix(1, 2, 1.0);
        let first = p.run(&mut storage, std::slice::from_ref(&x), true).unwrap();
        assert_eq!(read(&first[0]), vec![4.0, 7.0, 32.0]);
        let kept = kept_join(&p).unwrap();
        p.run(&mut storage, std::slice::from_ref(&x), true).unwrap();
        assert!(kept_join(&p).unwrap().shares_storage(&kept));
        c2.set(matrix(2, 1, 100.0));
        let changed = p.run(&mut storage, &[x], true).unwrap();
        assert_eq!(read(&changed[0]), vec![4.0, 7.0, 302.0]);
        assert!(!kept_join(&p).unwrap().shares_storage(&kept));
    }

    #[test]
    fn a_join_of_a_value_lent_to_numpy_as_a_writable_view_is_not_kept() {
        let (p, _c1, c2) = joined_product();
        c2.get().storage().expose();
        let mut storage = p.new_storage();
        let x = matrix(1, 2, 1.0);
        p.run(&mut storage, std::slice::from_ref(&x), true).unwrap();
        assert!(kept_join(&p).is_none());
    }

    #[test]
    fn a_join_that_is_a_graph_output_is_not_kept() {
        let (p, _, _) = joined_product();
        let mut fg = p.fgraph().clone();
        let join = fg
            .nodes
            .iter()
            .position(|n| matches!(n.op, Op::Join))
            .unwrap();
        fg.outputs.push(fg.nodes[join].outputs[0]);
        let p = Program::link(fg, 1);
        let th = p.thunks.iter().find(|t| matches!(t.op, Op::Join)).unwrap();
        assert!(th.memo.is_none());
    }
}
