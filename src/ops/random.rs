//! `RandomFunction{uniform}` and its siblings: ops that draw from a
//! distribution with a Philox stream state (`crate::random`).
//!
//! Every node has the inputs `(state, size, params...)` and the outputs
//! `(new_state, sample)`, as Theano's `RandomFunction`:
//!
//! - `state` is a `uint32` vector of 4 words (key, call counter), normally a
//!   shared variable whose `default_update` is this node's `new_state`;
//! - `size` is an integer vector: the sample's shape (its batch shape for
//!   `multinomial` and `permutation`, which add a last dimension). An empty
//!   vector means "the broadcast shape of the parameters", Theano's
//!   `size=None`; an entry -1 takes that dimension from the parameters;
//! - the parameters broadcast against `size` (NumPy's rule: to it).
//!
//! The op is a pure function of its inputs: the same state gives the same
//! numbers, and `new_state` is the state with its call counter advanced by
//! one. That is all a loop (`scan`) needs to carry a stream: thread the
//! state through the steps as a recurrent value.

use rayon::prelude::*;
use std::collections::HashMap;

use crate::dtype::{self, DType};
use crate::error::{Error, Result};
use crate::graph::{self, VarRef, Variable};
use crate::memory::Tensor;
use crate::ops::scalar::{Prim, broadcast_copy, cast_tensor, read_all};
use crate::ops::{IdxEntry, InputInfo, Op, Outputs};
use crate::random::distributions::{binomial, box_muller, poisson, truncated_normal};
use crate::random::stream::{
    ElementStream, PhiloxState, STATE_LEN, u01_24, u01_32, u01_32_open, u01_52_open, u01_53,
};
use crate::types::{TensorType, Type};

/// The distribution a node draws from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub enum Distribution {
    /// `(low, high)`: uniform on [low, high).
    Uniform,
    /// `(avg, std)`: Box–Muller normals.
    Normal,
    /// `(avg, std)`: normals resampled outside avg ± 2 std.
    TruncatedNormal,
    /// `(n, p)`: counts of successes.
    Binomial,
    /// `(n, p)` with `n` the constant 1: one comparison per element.
    Bernoulli,
    /// `(low, high)`: integers in [low, high], both inclusive.
    RandomIntegers,
    /// `(lam)`.
    Poisson,
    /// `(a, p)`: elements of `a` (or of `range(a)`), `p` empty for uniform.
    Choice { replace: bool },
    /// `(n)`: permutations of `range(n)`, one per batch element.
    Permutation,
    /// `(n, pvals)`: counts per category, one row of `pvals` per draw.
    Multinomial,
    /// `(p, k)`: for each row of the matrix `p`, `k` column indices drawn
    /// without replacement with weights `p` (MRG's `choice`).
    ChoiceRows,
    /// `(input)`: `input` with the elements of each row (last axis) in a
    /// random order, each row its own permutation.
    ShuffleRows,
}

/// How the op names itself: Theano's `RandomFunction{...}` (RandomStreams) or
/// its `mrg_*` ops (MRG_RandomStreams). The numbers do not depend on it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub enum Flavor {
    RandomStreams,
    Mrg,
}

/// What is known, when the graph is built, about a draw's `size` argument.
#[derive(Clone, Debug)]
pub enum SizeSpec {
    /// `size=None`: the parameters' broadcast shape.
    FromParams,
    /// A tuple: each entry a known constant or symbolic (`None`).
    Entries(Vec<Option<i64>>),
    /// A symbolic vector of known length, or unknown (`None`).
    Vector(Option<usize>),
}

/// Draws one sample from a distribution and returns the advanced state.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct RandomFunction {
    pub dist: Distribution,
    /// The sample's type.
    pub out: TensorType,
    pub flavor: Flavor,
}

impl Distribution {
    /// The distribution of a Python method name.
    pub fn parse(name: &str, replace: bool) -> Result<Distribution> {
        Ok(match name {
            "uniform" => Distribution::Uniform,
            "normal" => Distribution::Normal,
            "truncated_normal" => Distribution::TruncatedNormal,
            "binomial" => Distribution::Binomial,
            "random_integers" => Distribution::RandomIntegers,
            "poisson" => Distribution::Poisson,
            "choice" => Distribution::Choice { replace },
            "permutation" => Distribution::Permutation,
            "multinomial" => Distribution::Multinomial,
            "choice_rows" => Distribution::ChoiceRows,
            "shuffle_row_elements" => Distribution::ShuffleRows,
            other => {
                return Err(Error::Value(format!(
                    "unknown random distribution {other:?}"
                )));
            }
        })
    }

    /// The name inside `RandomFunction{...}` (Theano's helper names).
    fn function_name(self) -> &'static str {
        match self {
            Distribution::Uniform => "uniform",
            Distribution::Normal => "normal",
            Distribution::TruncatedNormal => "truncated_normal",
            Distribution::Binomial | Distribution::Bernoulli => "binomial",
            Distribution::RandomIntegers => "random_integers_helper",
            Distribution::Poisson => "poisson",
            Distribution::Choice { .. } => "choice_helper",
            Distribution::Permutation => "permutation_helper",
            Distribution::Multinomial => "multinomial_helper",
            Distribution::ChoiceRows => "choice_from_rows",
            Distribution::ShuffleRows => "shuffle_row_elements",
        }
    }

    /// The parameter names, for messages.
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            Distribution::Uniform | Distribution::RandomIntegers => &["low", "high"],
            Distribution::Normal | Distribution::TruncatedNormal => &["avg", "std"],
            Distribution::Binomial | Distribution::Bernoulli => &["n", "p"],
            Distribution::Poisson => &["lam"],
            Distribution::Choice { .. } => &["a", "p"],
            Distribution::Permutation => &["n"],
            Distribution::Multinomial => &["n", "pvals"],
            Distribution::ChoiceRows => &["p", "size"],
            Distribution::ShuffleRows => &["input"],
        }
    }

    /// True for distributions whose parameters broadcast element by element
    /// against the sample's shape.
    fn is_elementwise(self) -> bool {
        matches!(
            self,
            Distribution::Uniform
                | Distribution::Normal
                | Distribution::TruncatedNormal
                | Distribution::Binomial
                | Distribution::Bernoulli
                | Distribution::RandomIntegers
                | Distribution::Poisson
        )
    }

    fn is_float_only(self) -> bool {
        matches!(
            self,
            Distribution::Uniform | Distribution::Normal | Distribution::TruncatedNormal
        )
    }

    /// Dimensions after the batch (size) dimensions.
    fn ndim_added(self) -> usize {
        match self {
            Distribution::Permutation
            | Distribution::Multinomial
            | Distribution::ChoiceRows
            | Distribution::ShuffleRows => 1,
            _ => 0,
        }
    }
}

fn tensor_of<'a>(t: &'a Type, what: &str, op: &str) -> Result<&'a TensorType> {
    t.tensor()
        .ok_or_else(|| Error::Type(format!("{op}: {what} must be a tensor, got {t}")))
}

/// The broadcastable pattern of parameters broadcast together, right-aligned
/// to `nd` dimensions.
fn broadcast_pattern(params: &[&[bool]], nd: usize) -> Vec<bool> {
    (0..nd)
        .map(|d| {
            params.iter().all(|b| {
                let pad = nd - b.len().min(nd);
                d < pad || b[d - pad]
            })
        })
        .collect()
}

impl RandomFunction {
    /// The node's op for a draw: the sample's dtype (defaults per
    /// distribution) and broadcastable pattern from `size` and the parameters.
    pub fn new(
        dist: Distribution,
        flavor: Flavor,
        dtype: Option<DType>,
        size: &SizeSpec,
        ndim: Option<usize>,
        params: &[&Type],
    ) -> Result<RandomFunction> {
        let probe = RandomFunction {
            dist,
            out: TensorType::new(DType::Float64, &[]),
            flavor,
        };
        let name = probe.name();
        let names = dist.param_names();
        if params.len() != names.len() {
            return Err(Error::Type(format!(
                "{name} takes the parameters ({}), got {}",
                names.join(", "),
                params.len()
            )));
        }
        let ptypes: Vec<&TensorType> = params
            .iter()
            .zip(names)
            .map(|(t, n)| tensor_of(t, n, &name))
            .collect::<Result<_>>()?;
        if dist == Distribution::ShuffleRows {
            // The sample has the input's type.
            let op = RandomFunction {
                dist,
                out: ptypes[0].clone(),
                flavor,
            };
            op.check_params(&ptypes)?;
            return Ok(op);
        }
        let dtype = match dtype {
            Some(d) => d,
            None if dist.is_float_only() => {
                let mut ds = vec![dtype::float_x()];
                ds.extend(ptypes.iter().map(|t| t.dtype));
                dtype::upcast(&ds)
            }
            None => DType::Int64,
        };
        // The batch dimensions each parameter constrains, with their patterns.
        let batch_params: Vec<&[bool]> = match dist {
            _ if dist.is_elementwise() => ptypes.iter().map(|t| &t.broadcastable[..]).collect(),
            Distribution::Multinomial => {
                let pv = &ptypes[1].broadcastable;
                if pv.is_empty() {
                    return Err(Error::Type(format!(
                        "{name}: pvals must have at least one dimension, got {}",
                        ptypes[1]
                    )));
                }
                vec![&ptypes[0].broadcastable[..], &pv[..pv.len() - 1]]
            }
            _ => Vec::new(),
        };
        let params_nd = batch_params.iter().map(|b| b.len()).max().unwrap_or(0);
        let (batch_nd, batch_bcast): (usize, Vec<bool>) = match (dist, size) {
            (Distribution::ChoiceRows, _) => {
                let rows = ptypes[0].broadcastable.first().copied().unwrap_or(false);
                (1, vec![rows])
            }
            (_, SizeSpec::FromParams) => (params_nd, broadcast_pattern(&batch_params, params_nd)),
            (_, SizeSpec::Entries(entries)) => {
                if let Some(n) = ndim
                    && n != entries.len()
                {
                    return Err(Error::Value(format!(
                        "ndim should be equal to len(shape), but\nndim = {n}, len(shape) = {}, shape = {entries:?}",
                        entries.len()
                    )));
                }
                let nd = entries.len();
                let mut bcast = Vec::with_capacity(nd);
                for (d, e) in entries.iter().enumerate() {
                    bcast.push(match e {
                        Some(-1) => {
                            let covering: Vec<bool> = batch_params
                                .iter()
                                .filter(|b| d + b.len() >= nd)
                                .map(|b| b[d + b.len() - nd])
                                .collect();
                            if covering.is_empty() {
                                return Err(Error::Value(format!(
                                    "{name}: the size entry -1 at position {d} must overlap the shape of a parameter"
                                )));
                            }
                            covering.iter().all(|&b| b)
                        }
                        Some(v) if *v < 0 => {
                            return Err(Error::Value(format!(
                                "{name}: negative dimensions are not allowed in size {entries:?}"
                            )));
                        }
                        Some(v) => *v == 1,
                        None => false,
                    });
                }
                (nd, bcast)
            }
            (_, SizeSpec::Vector(len)) => {
                let nd = match (ndim, len) {
                    (Some(n), Some(l)) if n != *l => {
                        return Err(Error::Value(format!(
                            "ndim should be equal to len(shape), but\nndim = {n}, len(shape) = {l}"
                        )));
                    }
                    (Some(n), _) => n,
                    (None, Some(l)) => *l,
                    (None, None) => {
                        return Err(Error::Value(format!(
                            "{name}: the length of the symbolic size cannot be inferred; pass ndim="
                        )));
                    }
                };
                (nd, vec![false; nd])
            }
        };
        if params_nd > batch_nd {
            return Err(Error::Value(format!(
                "{name}: ndim should be at least as big as required by args value: the size has {batch_nd} dimensions, the parameters {params_nd}"
            )));
        }
        let mut bcast = batch_bcast;
        match dist {
            Distribution::Binomial | Distribution::Bernoulli => bcast = vec![false; bcast.len()],
            Distribution::Multinomial => {
                bcast.push(ptypes[1].broadcastable.last().copied().unwrap_or(false))
            }
            Distribution::Permutation | Distribution::ChoiceRows => bcast.push(false),
            _ => {}
        }
        let op = RandomFunction {
            dist,
            out: TensorType::new(dtype, &bcast),
            flavor,
        };
        op.check_params(&ptypes)?;
        Ok(op)
    }

    /// `RandomFunction{uniform}`, or `mrg_uniform{TensorType(float32, matrix),no_inplace}`.
    pub fn name(&self) -> String {
        match self.flavor {
            Flavor::RandomStreams => format!("RandomFunction{{{}}}", self.dist.function_name()),
            Flavor::Mrg => {
                let short = match self.dist {
                    Distribution::Choice { .. } | Distribution::ChoiceRows => "choice",
                    Distribution::RandomIntegers => "random_integers",
                    Distribution::Permutation => "permutation",
                    Distribution::Multinomial => "multinomial",
                    d => d.function_name(),
                };
                format!("mrg_{short}{{{},no_inplace}}", self.out)
            }
        }
    }

    /// The types the parameters must have.
    fn check_params(&self, p: &[&TensorType]) -> Result<()> {
        let name = self.name();
        let names = self.dist.param_names();
        let bad = |i: usize, want: &str| -> Error {
            Error::Type(format!("{name}: {} must be {want}, got {}", names[i], p[i]))
        };
        for (i, t) in p.iter().enumerate() {
            if t.dtype.is_complex() {
                return Err(bad(i, "real"));
            }
        }
        if self.dist.is_float_only() && !self.out.dtype.is_float() {
            return Err(Error::Type(format!(
                "{name}: the dtype of the sample must be a floating-point dtype, got {}",
                self.out.dtype
            )));
        }
        if self.out.dtype.is_complex() {
            return Err(Error::Type(format!(
                "{name}: complex samples are not supported (dtype {})",
                self.out.dtype
            )));
        }
        let int = |t: &TensorType| t.dtype.is_discrete();
        match self.dist {
            Distribution::Binomial | Distribution::Bernoulli if !int(p[0]) => {
                Err(bad(0, "an integer tensor"))
            }
            Distribution::RandomIntegers if !int(p[0]) => Err(bad(0, "an integer tensor")),
            Distribution::RandomIntegers if !int(p[1]) => Err(bad(1, "an integer tensor")),
            Distribution::Choice { .. } if p[0].ndim() > 1 => {
                Err(bad(0, "a scalar or a vector (a.ndim must be 0 or 1)"))
            }
            Distribution::Choice { .. } if p[0].ndim() == 0 && !int(p[0]) => {
                Err(bad(0, "an integer when it is a scalar"))
            }
            Distribution::Choice { .. } if p[1].ndim() != 1 => {
                Err(bad(1, "a vector (p.ndim must be 1)"))
            }
            Distribution::Permutation if p[0].ndim() != 0 || !int(p[0]) => {
                Err(bad(0, "an integer scalar"))
            }
            Distribution::Multinomial if !int(p[0]) => Err(bad(0, "an integer tensor")),
            Distribution::ChoiceRows if p[0].ndim() != 2 => Err(bad(0, "a matrix")),
            Distribution::ChoiceRows if p[1].ndim() != 0 || !int(p[1]) => {
                Err(bad(1, "an integer scalar"))
            }
            Distribution::ShuffleRows if p[0].ndim() == 0 || *p[0] != self.out => Err(bad(
                0,
                "a tensor of at least one dimension, of the sample's type",
            )),
            _ => Ok(()),
        }
    }

    /// The output types: the state's type, then the sample's.
    pub fn output_types(&self, inputs: &[InputInfo]) -> Result<Vec<Type>> {
        let name = self.name();
        let want = 2 + self.dist.param_names().len();
        if inputs.len() != want {
            return Err(Error::Type(format!(
                "{name} takes {want} inputs (state, size, {}), got {}",
                self.dist.param_names().join(", "),
                inputs.len()
            )));
        }
        let state = inputs[0].ty;
        match state {
            Type::Tensor(t) if t.dtype == DType::UInt32 && t.ndim() == 1 => {}
            t => {
                return Err(Error::Type(format!(
                    "{name}: the generator state must be a uint32 vector, got {t}"
                )));
            }
        }
        let size = inputs[1].ty;
        if size.ndim() != 1 || !size.dtype().is_int() {
            return Err(Error::Type(format!(
                "{name}: size must be an integer vector, got {size}"
            )));
        }
        let batch_nd = self.out.ndim() - self.dist.ndim_added();
        if let Some(c) = inputs[1].constant
            && c.size() != 0
            && c.size() != batch_nd
        {
            return Err(Error::Value(format!(
                "{name}: size has {} entries but the sample has {batch_nd} dimensions",
                c.size()
            )));
        }
        let ptypes: Vec<&TensorType> = inputs[2..]
            .iter()
            .zip(self.dist.param_names())
            .map(|(i, n)| tensor_of(i.ty, n, &name))
            .collect::<Result<_>>()?;
        self.check_params(&ptypes)?;
        Ok(vec![state.clone(), Type::Tensor(self.out.clone())])
    }

    /// Draws: `(new_state, sample)`.
    pub fn perform(&self, inputs: &[&Tensor]) -> Result<Outputs> {
        let name = self.name();
        let state = read_state(inputs[0], &name)?;
        let size = read_size(inputs[1], &name)?;
        let d = Draw {
            name: &name,
            state,
            size: size.as_deref(),
            params: &inputs[2..],
            dtype: self.out.dtype,
            batch_nd: self.out.ndim() - self.dist.ndim_added(),
        };
        let sample = match self.dist {
            Distribution::Uniform => d.uniform()?,
            Distribution::Normal => d.normal()?,
            Distribution::TruncatedNormal => d.truncated_normal()?,
            Distribution::Bernoulli => d.bernoulli()?,
            Distribution::Binomial => d.binomial()?,
            Distribution::RandomIntegers => d.random_integers()?,
            Distribution::Poisson => d.poisson()?,
            Distribution::Choice { replace } => d.choice(replace)?,
            Distribution::Permutation => d.permutation()?,
            Distribution::Multinomial => d.multinomial()?,
            Distribution::ChoiceRows => d.choice_rows()?,
            Distribution::ShuffleRows => d.shuffle_rows()?,
        };
        if sample.ndim() != self.out.ndim() {
            return Err(Error::Value(format!(
                "{name}: the sample has shape {:?} but its type is {}",
                &sample.shape[..],
                self.out
            )));
        }
        let new_state = Tensor::from_slice(DType::UInt32, &[STATE_LEN], &state.advanced().words())?;
        Ok(smallvec::smallvec![new_state, sample])
    }
}

fn read_state(t: &Tensor, name: &str) -> Result<PhiloxState> {
    let bad = || {
        Error::Value(format!(
            "{name}: the generator state must be a uint32 vector of {STATE_LEN} words (key, counter), got {} of shape {:?}",
            t.dtype,
            &t.shape[..]
        ))
    };
    if t.dtype != DType::UInt32 || t.ndim() != 1 {
        return Err(bad());
    }
    PhiloxState::from_words(&read_all::<u32>(t)?).ok_or_else(bad)
}

fn read_size(t: &Tensor, name: &str) -> Result<Option<Vec<i64>>> {
    if t.ndim() != 1 || !t.dtype.is_int() {
        return Err(Error::Type(format!(
            "{name}: size must be an integer vector, got {} of shape {:?}",
            t.dtype,
            &t.shape[..]
        )));
    }
    if t.size() == 0 {
        return Ok(None);
    }
    Ok(Some(read_all::<i64>(&cast_tensor(t, DType::Int64)?)?))
}

/// Output chunks handed to one task.
const CHUNK: usize = 1 << 14;
/// Below this many elements a draw runs on the calling thread.
const PARALLEL_MIN: usize = 1 << 16;

/// A parameter broadcast over the batch: one value, or one per element.
enum Param<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Copy> Param<T> {
    #[inline]
    fn at(&self, i: usize) -> T {
        match self {
            Param::One(v) => *v,
            Param::Many(v) => v[i],
        }
    }

    fn values(&self) -> &[T] {
        match self {
            Param::One(v) => std::slice::from_ref(v),
            Param::Many(v) => v,
        }
    }
}

/// Fills `dst` from the call's block layout: `raw` turns one Philox block
/// into `per_block` standard variates, `make(i, x)` turns variate `x` of
/// element `i` into the element.
fn fill_blocks<T: Prim>(
    dst: &mut [T],
    state: PhiloxState,
    per_block: usize,
    raw: impl Fn([u32; 4]) -> [f64; 4] + Sync,
    make: impl Fn(usize, f64) -> T + Sync,
) {
    let work = |(c, chunk): (usize, &mut [T])| {
        let first = c * CHUNK;
        for (j, group) in chunk.chunks_mut(per_block).enumerate() {
            let i0 = first + j * per_block;
            let values = raw(state.block((i0 / per_block) as u64));
            for (s, d) in group.iter_mut().enumerate() {
                *d = make(i0 + s, values[s]);
            }
        }
    };
    if dst.len() >= PARALLEL_MIN {
        dst.par_chunks_mut(CHUNK).enumerate().for_each(work);
    } else {
        dst.chunks_mut(CHUNK).enumerate().for_each(work);
    }
}

/// Fills `dst`, element `i` from its own word stream.
fn fill_elements<T: Prim>(
    dst: &mut [T],
    state: PhiloxState,
    make: impl Fn(usize, &mut ElementStream) -> T + Sync,
) {
    let work = |(c, chunk): (usize, &mut [T])| {
        for (j, d) in chunk.iter_mut().enumerate() {
            let i = c * CHUNK + j;
            *d = make(i, &mut state.element_stream(i as u32));
        }
    };
    if dst.len() >= PARALLEL_MIN {
        dst.par_chunks_mut(CHUNK).enumerate().for_each(work);
    } else {
        dst.chunks_mut(CHUNK).enumerate().for_each(work);
    }
}

/// Fills `dst` row by row (rows of `row_len`), row `r` from its own stream.
fn fill_rows<T: Prim>(
    dst: &mut [T],
    row_len: usize,
    state: PhiloxState,
    make: impl Fn(usize, &mut [T], &mut ElementStream) + Sync,
) {
    if row_len == 0 {
        return;
    }
    let work = |(r, row): (usize, &mut [T])| make(r, row, &mut state.element_stream(r as u32));
    if dst.len() >= PARALLEL_MIN {
        dst.par_chunks_mut(row_len).enumerate().for_each(work);
    } else {
        dst.chunks_mut(row_len).enumerate().for_each(work);
    }
}

/// A floating-point sample dtype.
trait RandomFloat: Prim {
    /// Whether one value takes 53 bits (two words) rather than 24 (one word).
    const WIDE: bool;
    /// The largest value of this type strictly below `x`.
    fn largest_below(x: f64) -> Self;
}

impl RandomFloat for f64 {
    const WIDE: bool = true;
    fn largest_below(x: f64) -> f64 {
        x.next_down()
    }
}

impl RandomFloat for f32 {
    const WIDE: bool = false;
    fn largest_below(x: f64) -> f32 {
        let v = x as f32;
        if v as f64 >= x { v.next_down() } else { v }
    }
}

impl RandomFloat for half::f16 {
    const WIDE: bool = false;
    fn largest_below(x: f64) -> half::f16 {
        let v = half::f16::from_f64(x);
        if v.to_f64() < x {
            return v;
        }
        let bits = v.to_bits();
        let down = if v.to_f64() == 0.0 {
            0x8001
        } else if bits & 0x8000 == 0 {
            bits - 1
        } else {
            bits + 1
        };
        half::f16::from_bits(down)
    }
}

/// Runs `$body` with `$T` bound to the Rust type of a float dtype.
macro_rules! with_float {
    ($dtype:expr, $name:expr, $T:ident => $body:expr) => {
        match $dtype {
            DType::Float16 => {
                type $T = half::f16;
                $body
            }
            DType::Float32 => {
                type $T = f32;
                $body
            }
            DType::Float64 => {
                type $T = f64;
                $body
            }
            other => Err(Error::Type(format!(
                "{}: the sample must have a floating-point dtype, got {other}",
                $name
            ))),
        }
    };
}

/// One evaluation of a node.
struct Draw<'a> {
    name: &'a str,
    state: PhiloxState,
    size: Option<&'a [i64]>,
    params: &'a [&'a Tensor],
    dtype: DType,
    batch_nd: usize,
}

impl Draw<'_> {
    fn value_error(&self, msg: String) -> Error {
        Error::Value(format!("{}: {msg}", self.name))
    }

    /// The batch shape from `size` (or the shapes of the parameters), with
    /// every parameter shape checked to broadcast to it.
    fn batch_shape(&self, names: &[&str], shapes: &[&[usize]]) -> Result<Vec<usize>> {
        let nd = self.batch_nd;
        for (n, s) in names.iter().zip(shapes) {
            if s.len() > nd {
                return Err(self.value_error(format!(
                    "parameter {n} of shape {s:?} has more dimensions than the sample's {nd}"
                )));
            }
        }
        let from_params = |d: usize| -> usize {
            shapes
                .iter()
                .filter(|s| d + s.len() >= nd)
                .map(|s| s[d + s.len() - nd])
                .find(|&n| n != 1)
                .unwrap_or(1)
        };
        let shape: Vec<usize> = match self.size {
            None => (0..nd).map(from_params).collect(),
            Some(size) => {
                if size.len() != nd {
                    return Err(self.value_error(format!(
                        "size {size:?} has {} entries but the sample has {nd} batch dimensions",
                        size.len()
                    )));
                }
                let mut out = Vec::with_capacity(nd);
                for (d, &v) in size.iter().enumerate() {
                    out.push(match v {
                        -1 => from_params(d),
                        v if v < 0 => {
                            return Err(self.value_error(format!(
                                "negative dimensions are not allowed in size {size:?}"
                            )));
                        }
                        v => v as usize,
                    });
                }
                out
            }
        };
        for (n, s) in names.iter().zip(shapes) {
            let pad = nd - s.len();
            if s.iter()
                .enumerate()
                .any(|(d, &len)| len != 1 && len != shape[d + pad])
            {
                return Err(self.value_error(format!(
                    "parameter {n} of shape {s:?} does not broadcast to the shape {shape:?} of the sample"
                )));
            }
        }
        Ok(shape)
    }

    fn check_count(&self, count: usize, what: &str) -> Result<()> {
        if count > u32::MAX as usize + 1 {
            return Err(Error::NotImplemented(format!(
                "{}: at most 2**32 {what} per call, got {count}",
                self.name
            )));
        }
        Ok(())
    }

    fn param_f64(&self, k: usize, batch: &[usize]) -> Result<Param<f64>> {
        let t = cast_tensor(self.params[k], DType::Float64)?;
        if t.size() == 1 {
            return Ok(Param::One(read_all::<f64>(&t)?[0]));
        }
        Ok(Param::Many(broadcast_copy::<f64>(&t, batch)?))
    }

    fn param_i64(&self, k: usize, batch: &[usize]) -> Result<Param<i64>> {
        let t = cast_tensor(self.params[k], DType::Int64)?;
        if t.size() == 1 {
            return Ok(Param::One(read_all::<i64>(&t)?[0]));
        }
        Ok(Param::Many(broadcast_copy::<i64>(&t, batch)?))
    }

    fn uniform(&self) -> Result<Tensor> {
        let shape = self.batch_shape(
            &["low", "high"],
            &[&self.params[0].shape, &self.params[1].shape],
        )?;
        let low = self.param_f64(0, &shape)?;
        let high = self.param_f64(1, &shape)?;
        with_float!(self.dtype, self.name, T => {
            let mut out = Tensor::zeros(self.dtype, &shape)?;
            let (per_block, wide) = if T::WIDE { (2, true) } else { (4, false) };
            fill_blocks(
                out.data_mut::<T>()?,
                self.state,
                per_block,
                |w| {
                    if wide {
                        [u01_53(w[0], w[1]), u01_53(w[2], w[3]), 0.0, 0.0]
                    } else {
                        [u01_24(w[0]), u01_24(w[1]), u01_24(w[2]), u01_24(w[3])]
                    }
                },
                |i, u| {
                    let (lo, hi) = (low.at(i), high.at(i));
                    let v = T::from_f64(lo + (hi - lo) * u);
                    if hi > lo && v.to_f64() >= hi { T::largest_below(hi) } else { v }
                },
            );
            Ok(out)
        })
    }

    fn normal_params(&self) -> Result<(Vec<usize>, Param<f64>, Param<f64>)> {
        let shape = self.batch_shape(
            &["avg", "std"],
            &[&self.params[0].shape, &self.params[1].shape],
        )?;
        let avg = self.param_f64(0, &shape)?;
        let std = self.param_f64(1, &shape)?;
        if let Some(s) = std.values().iter().find(|s| negative_or_nan(**s)) {
            return Err(self.value_error(format!("std must be non-negative, got {s}")));
        }
        Ok((shape, avg, std))
    }

    fn normal(&self) -> Result<Tensor> {
        let (shape, avg, std) = self.normal_params()?;
        with_float!(self.dtype, self.name, T => {
            let mut out = Tensor::zeros(self.dtype, &shape)?;
            let (per_block, wide) = if T::WIDE { (2, true) } else { (4, false) };
            fill_blocks(
                out.data_mut::<T>()?,
                self.state,
                per_block,
                |w| {
                    if wide {
                        let (a, b) = box_muller(u01_52_open(w[0], w[1]), u01_53(w[2], w[3]));
                        [a, b, 0.0, 0.0]
                    } else {
                        let (a, b) = box_muller(u01_32_open(w[0]), u01_32(w[1]));
                        let (c, d) = box_muller(u01_32_open(w[2]), u01_32(w[3]));
                        [a, b, c, d]
                    }
                },
                |i, z| T::from_f64(avg.at(i) + std.at(i) * z),
            );
            Ok(out)
        })
    }

    fn truncated_normal(&self) -> Result<Tensor> {
        let (shape, avg, std) = self.normal_params()?;
        self.check_count(shape.iter().product(), "samples")?;
        with_float!(self.dtype, self.name, T => {
            let mut out = Tensor::zeros(self.dtype, &shape)?;
            fill_elements(out.data_mut::<T>()?, self.state, |i, st| {
                T::from_f64(avg.at(i) + std.at(i) * truncated_normal(st))
            });
            Ok(out)
        })
    }

    fn binomial_params(&self) -> Result<(Vec<usize>, Param<i64>, Param<f64>)> {
        let shape =
            self.batch_shape(&["n", "p"], &[&self.params[0].shape, &self.params[1].shape])?;
        let n = self.param_i64(0, &shape)?;
        let p = self.param_f64(1, &shape)?;
        if let Some(v) = n.values().iter().find(|v| **v < 0) {
            return Err(self.value_error(format!("n must be non-negative, got {v}")));
        }
        if let Some(v) = p.values().iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(self.value_error(format!("p must be in [0, 1], got {v}")));
        }
        Ok((shape, n, p))
    }

    fn bernoulli(&self) -> Result<Tensor> {
        let (shape, _, p) = self.binomial_params()?;
        let mut out = Tensor::zeros(self.dtype, &shape)?;
        crate::with_dtype!(self.dtype, T => {
            fill_blocks(
                out.data_mut::<T>()?,
                self.state,
                4,
                |w| [u01_32(w[0]), u01_32(w[1]), u01_32(w[2]), u01_32(w[3])],
                |i, u| T::from_i128((u < p.at(i)) as i128),
            );
        });
        Ok(out)
    }

    fn binomial(&self) -> Result<Tensor> {
        let (shape, n, p) = self.binomial_params()?;
        self.check_count(shape.iter().product(), "samples")?;
        let mut out = Tensor::zeros(self.dtype, &shape)?;
        crate::with_dtype!(self.dtype, T => {
            fill_elements(out.data_mut::<T>()?, self.state, |i, st| {
                T::from_i128(binomial(st, n.at(i) as u64, p.at(i)) as i128)
            });
        });
        Ok(out)
    }

    fn random_integers(&self) -> Result<Tensor> {
        let shape = self.batch_shape(
            &["low", "high"],
            &[&self.params[0].shape, &self.params[1].shape],
        )?;
        let low = self.param_i64(0, &shape)?;
        let high = self.param_i64(1, &shape)?;
        let count: usize = shape.iter().product();
        for i in 0..count.min(low.values().len().max(high.values().len())) {
            if low.at(i) > high.at(i) {
                return Err(self.value_error(format!(
                    "low > high ({} > {})",
                    low.at(i),
                    high.at(i)
                )));
            }
        }
        self.check_count(count, "samples")?;
        let mut out = Tensor::zeros(self.dtype, &shape)?;
        crate::with_dtype!(self.dtype, T => {
            fill_elements(out.data_mut::<T>()?, self.state, |i, st| {
                let (lo, hi) = (low.at(i) as i128, high.at(i) as i128);
                let range = hi - lo + 1;
                let offset = if range > u64::MAX as i128 {
                    st.next_u64() as i128
                } else {
                    st.below(range as u64) as i128
                };
                T::from_i128(lo + offset)
            });
        });
        Ok(out)
    }

    fn poisson(&self) -> Result<Tensor> {
        let shape = self.batch_shape(&["lam"], &[&self.params[0].shape])?;
        let lam = self.param_f64(0, &shape)?;
        if let Some(v) = lam.values().iter().find(|v| negative_or_nan(**v)) {
            return Err(self.value_error(format!("lam must be non-negative, got {v}")));
        }
        if let Some(v) = lam.values().iter().find(|v| **v > 1e18) {
            return Err(self.value_error(format!("lam value too large: {v}")));
        }
        self.check_count(shape.iter().product(), "samples")?;
        let mut out = Tensor::zeros(self.dtype, &shape)?;
        crate::with_dtype!(self.dtype, T => {
            fill_elements(out.data_mut::<T>()?, self.state, |i, st| {
                T::from_i128(poisson(st, lam.at(i)) as i128)
            });
        });
        Ok(out)
    }

    /// The batch shape of distributions whose parameters do not broadcast.
    fn size_shape(&self) -> Result<Vec<usize>> {
        self.batch_shape(&[], &[])
    }

    fn choice(&self, replace: bool) -> Result<Tensor> {
        let shape = self.size_shape()?;
        let count: usize = shape.iter().product();
        let a = self.params[0];
        let (pop, values) = if a.ndim() == 0 {
            let n = read_all::<i64>(&cast_tensor(a, DType::Int64)?)?[0];
            if n <= 0 && count > 0 {
                return Err(self.value_error(format!("a must be greater than 0, got {n}")));
            }
            (n.max(0) as u64, None)
        } else {
            if a.size() == 0 && count > 0 {
                return Err(
                    self.value_error("a cannot be empty unless no samples are taken".into())
                );
            }
            (a.size() as u64, Some(cast_tensor(a, self.dtype)?))
        };
        let p = read_all::<f64>(&cast_tensor(self.params[1], DType::Float64)?)?;
        let weights = if p.is_empty() {
            None
        } else {
            if p.len() as u64 != pop {
                return Err(self.value_error(format!(
                    "a and p must have the same size ({pop} and {})",
                    p.len()
                )));
            }
            if p.iter().any(|v| negative_or_nan(*v)) {
                return Err(self.value_error("probabilities are not non-negative".into()));
            }
            let total: f64 = p.iter().sum();
            let tol = if self.params[1].dtype == DType::Float64 {
                f64::EPSILON.sqrt()
            } else {
                (f32::EPSILON as f64).sqrt()
            };
            if (total - 1.0).abs() > tol {
                return Err(
                    self.value_error(format!("probabilities do not sum to 1 (sum {total})"))
                );
            }
            Some(p)
        };
        if !replace {
            if count as u64 > pop {
                return Err(self.value_error(format!(
                    "Cannot take a larger sample ({count}) than population ({pop}) when 'replace=False'"
                )));
            }
            if let Some(w) = &weights
                && w.iter().filter(|v| **v > 0.0).count() < count
            {
                return Err(self.value_error("Fewer non-zero entries in p than size".into()));
            }
        }
        self.check_count(count, "samples")?;
        // Indices first, then the values of `a` at them.
        let mut idx = vec![0u64; count];
        match (&weights, replace) {
            (None, true) => fill_elements(&mut idx, self.state, |_, st| st.below(pop)),
            (Some(w), true) => {
                let mut cdf = Vec::with_capacity(w.len());
                let mut acc = 0.0;
                for v in w {
                    acc += v;
                    cdf.push(acc);
                }
                let last = w.iter().rposition(|v| *v > 0.0).unwrap_or(0) as u64;
                fill_elements(&mut idx, self.state, |_, st| {
                    let x = st.uniform() * acc;
                    (cdf.partition_point(|&c| c <= x) as u64).min(last)
                });
            }
            (None, false) => {
                // Partial Fisher–Yates over range(pop), sparse when pop is large.
                let mut st = self.state.element_stream(0);
                let mut moved: HashMap<u64, u64> = HashMap::new();
                for (i, out) in idx.iter_mut().enumerate() {
                    let i = i as u64;
                    let j = i + st.below(pop - i);
                    let at_j = *moved.get(&j).unwrap_or(&j);
                    let at_i = *moved.get(&i).unwrap_or(&i);
                    moved.insert(j, at_i);
                    *out = at_j;
                }
            }
            (Some(w), false) => {
                let mut st = self.state.element_stream(0);
                weighted_without_replacement(&mut st, w, &mut idx);
            }
        }
        let mut out = Tensor::zeros(self.dtype, &shape)?;
        crate::with_dtype!(self.dtype, T => {
            let dst = out.data_mut::<T>()?;
            match &values {
                None => {
                    for (d, &i) in dst.iter_mut().zip(&idx) {
                        *d = T::from_i128(i as i128);
                    }
                }
                Some(v) => {
                    let v = read_all::<T>(v)?;
                    for (d, &i) in dst.iter_mut().zip(&idx) {
                        *d = v[i as usize];
                    }
                }
            }
        });
        Ok(out)
    }

    fn permutation(&self) -> Result<Tensor> {
        let n = read_all::<i64>(&cast_tensor(self.params[0], DType::Int64)?)?[0];
        if n < 0 {
            return Err(self.value_error(format!("n must be non-negative, got {n}")));
        }
        let n = n as usize;
        let mut shape = self.size_shape()?;
        self.check_count(shape.iter().product(), "permutations")?;
        shape.push(n);
        let mut out = Tensor::zeros(self.dtype, &shape)?;
        crate::with_dtype!(self.dtype, T => {
            fill_rows(out.data_mut::<T>()?, n, self.state, |_, row, st| {
                for (i, d) in row.iter_mut().enumerate() {
                    *d = T::from_i128(i as i128);
                }
                for i in (1..row.len()).rev() {
                    let j = st.below(i as u64 + 1) as usize;
                    row.swap(i, j);
                }
            });
        });
        Ok(out)
    }

    fn multinomial(&self) -> Result<Tensor> {
        let pv = self.params[1];
        let k = *pv.shape.last().unwrap_or(&0);
        let pv_batch = &pv.shape[..pv.ndim().saturating_sub(1)];
        let batch = self.batch_shape(&["n", "pvals"], &[&self.params[0].shape, pv_batch])?;
        let n = self.param_i64(0, &batch)?;
        if let Some(v) = n.values().iter().find(|v| **v < 0) {
            return Err(self.value_error(format!("n must be non-negative, got {v}")));
        }
        let mut full = batch.clone();
        full.push(k);
        let pv64 = cast_tensor(pv, DType::Float64)?;
        let rows = broadcast_copy::<f64>(&pv64, &full)?;
        if k > 0 {
            for row in rows.chunks(k) {
                if row.iter().any(|v| negative_or_nan(*v)) {
                    return Err(self
                        .value_error(format!("pvals must be non-negative, got the row {row:?}")));
                }
                let head: f64 = row[..k - 1].iter().sum();
                if head > 1.0 + 1e-5 {
                    return Err(self.value_error(format!(
                        "sum(pvals[:-1]) > 1.0 ({head}) in the row {row:?}"
                    )));
                }
            }
        }
        self.check_count(batch.iter().product(), "rows")?;
        let mut out = Tensor::zeros(self.dtype, &full)?;
        crate::with_dtype!(self.dtype, T => {
            fill_rows(out.data_mut::<T>()?, k, self.state, |r, row, st| {
                let p = &rows[r * k..(r + 1) * k];
                let trials = n.at(r) as u64;
                if trials == 1 {
                    let u = st.uniform();
                    let mut acc = 0.0;
                    let chosen = (0..k - 1)
                        .find(|&j| {
                            acc += p[j];
                            u < acc
                        })
                        .unwrap_or(k - 1);
                    row[chosen] = T::one();
                    return;
                }
                let mut left = trials;
                let mut mass = 1.0f64;
                for j in 0..k - 1 {
                    if left == 0 || mass <= 0.0 {
                        break;
                    }
                    let x = binomial(st, left, (p[j] / mass).clamp(0.0, 1.0));
                    row[j] = T::from_i128(x as i128);
                    left -= x;
                    mass -= p[j];
                }
                row[k - 1] = T::from_i128(left as i128);
            });
        });
        Ok(out)
    }

    fn shuffle_rows(&self) -> Result<Tensor> {
        let x = self.params[0];
        let k = *x.shape.last().unwrap_or(&1);
        if let Some(rows) = x.size().checked_div(k) {
            self.check_count(rows, "rows")?;
        }
        let mut out = Tensor::zeros(self.dtype, &x.shape)?;
        crate::with_dtype!(self.dtype, T => {
            let src = read_all::<T>(x)?;
            fill_rows(out.data_mut::<T>()?, k, self.state, |r, row, st| {
                // Fisher–Yates on the values: the permutation `permutation` would draw.
                row.copy_from_slice(&src[r * k..(r + 1) * k]);
                for i in (1..row.len()).rev() {
                    let j = st.below(i as u64 + 1) as usize;
                    row.swap(i, j);
                }
            });
        });
        Ok(out)
    }

    fn choice_rows(&self) -> Result<Tensor> {
        let p = self.params[0];
        let draws = read_all::<i64>(&cast_tensor(self.params[1], DType::Int64)?)?[0];
        let (n_rows, k) = (p.shape[0], p.shape[1]);
        if draws < 0 || draws as usize > k {
            return Err(self.value_error(format!(
                "Cannot sample without replacement {draws} samples from a distribution of {k} categories"
            )));
        }
        let draws = draws as usize;
        let w = read_all::<f64>(&cast_tensor(p, DType::Float64)?)?;
        if k > 0 {
            for row in w.chunks(k) {
                if row.iter().any(|v| negative_or_nan(*v)) {
                    return Err(self.value_error(format!(
                        "probabilities must be non-negative, got the row {row:?}"
                    )));
                }
                if row.iter().filter(|v| **v > 0.0).count() < draws {
                    return Err(self.value_error(format!(
                        "fewer non-zero probabilities than samples ({draws}) in the row {row:?}"
                    )));
                }
            }
        }
        self.check_count(n_rows, "rows")?;
        let mut out = Tensor::zeros(self.dtype, &[n_rows, draws])?;
        crate::with_dtype!(self.dtype, T => {
            fill_rows(out.data_mut::<T>()?, draws, self.state, |r, row, st| {
                let mut idx = vec![0u64; row.len()];
                weighted_without_replacement(st, &w[r * k..(r + 1) * k], &mut idx);
                for (d, &i) in row.iter_mut().zip(&idx) {
                    *d = T::from_i128(i as i128);
                }
            });
        });
        Ok(out)
    }
}

/// True for values a scale or a probability may not take.
fn negative_or_nan(v: f64) -> bool {
    v.is_nan() || v < 0.0
}

/// Draws `out.len()` distinct indices with weights `w`, each draw among the
/// indices not drawn yet (weights renormalised).
fn weighted_without_replacement(st: &mut ElementStream, w: &[f64], out: &mut [u64]) {
    let mut left: Vec<f64> = w.to_vec();
    let mut total: f64 = left.iter().sum();
    for o in out.iter_mut() {
        let x = st.uniform() * total;
        let mut acc = 0.0;
        let mut chosen = None;
        let mut last_positive = 0;
        for (j, &v) in left.iter().enumerate() {
            if v <= 0.0 {
                continue;
            }
            last_positive = j;
            acc += v;
            if x < acc {
                chosen = Some(j);
                break;
            }
        }
        let j = chosen.unwrap_or(last_positive);
        *o = j as u64;
        total -= left[j];
        left[j] = 0.0;
        if total <= 0.0 {
            total = left.iter().sum();
        }
    }
}

// -- building draws -----------------------------------------------------------

/// One entry of a `size` tuple.
pub enum SizeEntry {
    Const(i64),
    Var(VarRef),
}

/// The length of an integer vector variable when the graph tells it
/// (Theano's `get_vector_length`): constants, `MakeVector`, `x.shape`, casts
/// and constant slices of those.
pub fn vector_length(v: &VarRef) -> Option<usize> {
    if v.ty.ndim() != 1 {
        return None;
    }
    if let Some(c) = v.constant_value() {
        return Some(c.size());
    }
    if v.ty.broadcastable().first() == Some(&true) {
        return Some(1);
    }
    let (apply, _) = v.owner()?;
    match &apply.op {
        Op::MakeVector(_) => Some(apply.inputs.len()),
        Op::Shape => Some(apply.inputs[0].ty.ndim()),
        Op::Elemwise(e) if matches!(e.scalar_op, crate::ops::ScalarOp::Cast(_)) => {
            vector_length(&apply.inputs[0])
        }
        Op::Subtensor(s) => {
            let [IdxEntry::Slice { start, stop, step }] = &s.idx_list[..] else {
                return None;
            };
            let len = vector_length(&apply.inputs[0])? as i64;
            let mut parts = apply.inputs[1..].iter();
            let mut bound = |present: &Option<DType>| -> Option<Option<i64>> {
                match present {
                    None => Some(None),
                    Some(_) => {
                        let c = parts.next()?.constant_value()?;
                        crate::ops::scalar::scalar_i64(c).ok().map(Some)
                    }
                }
            };
            let (start, stop, step) = (bound(start)?, bound(stop)?, bound(step)?);
            Some(slice_length(len, start, stop, step.unwrap_or(1))?)
        }
        _ => None,
    }
}

/// `len(range(len)[start:stop:step])` with Python's rules.
fn slice_length(len: i64, start: Option<i64>, stop: Option<i64>, step: i64) -> Option<usize> {
    if step == 0 {
        return None;
    }
    let clamp = |v: i64, lo: i64, hi: i64| v.clamp(lo, hi);
    let norm = |v: i64| if v < 0 { v + len } else { v };
    let (lo, hi) = if step > 0 { (0, len) } else { (-1, len - 1) };
    let start = start
        .map(|v| clamp(norm(v), lo, hi))
        .unwrap_or(if step > 0 { 0 } else { len - 1 });
    let stop = stop
        .map(|v| clamp(norm(v), lo, hi))
        .unwrap_or(if step > 0 { len } else { -1 });
    let n = if step > 0 {
        (stop - start + step - 1).div_euclid(step)
    } else {
        (start - stop - step - 1).div_euclid(-step)
    };
    Some(n.max(0) as usize)
}

fn int64_constant(values: &[i64]) -> Result<VarRef> {
    Ok(Variable::constant(
        Tensor::from_slice(DType::Int64, &[values.len()], values)?,
        None,
    ))
}

/// The `size` input of a draw from a tuple of constants and integer scalars.
pub fn size_from_entries(entries: Vec<SizeEntry>) -> Result<(VarRef, SizeSpec)> {
    let known: Vec<Option<i64>> = entries
        .iter()
        .map(|e| match e {
            SizeEntry::Const(v) => Some(*v),
            SizeEntry::Var(v) => v
                .constant_value()
                .and_then(|c| crate::ops::scalar::scalar_i64(c).ok()),
        })
        .collect();
    if let Some(values) = known.iter().copied().collect::<Option<Vec<i64>>>() {
        return Ok((int64_constant(&values)?, SizeSpec::Entries(known)));
    }
    let mut parts = Vec::with_capacity(entries.len());
    for e in entries {
        parts.push(match e {
            SizeEntry::Const(v) => {
                Variable::constant(Tensor::from_slice(DType::Int64, &[], &[v])?, None)
            }
            SizeEntry::Var(v) => {
                if v.ty.ndim() != 0 || !v.ty.dtype().is_int() {
                    return Err(Error::Type(format!(
                        "size must be a tuple of integers or integer scalars, got {} of type {}",
                        v.display(),
                        v.ty
                    )));
                }
                if v.ty.dtype() == DType::Int64 || v.ty.is_scalar_type() {
                    v
                } else {
                    graph::apply1(
                        Op::Elemwise(crate::ops::Elemwise {
                            scalar_op: crate::ops::ScalarOp::Cast(DType::Int64),
                        }),
                        vec![v],
                    )?
                }
            }
        });
    }
    let v = graph::apply1(Op::MakeVector(DType::Int64), parts)?;
    Ok((v, SizeSpec::Entries(known)))
}

/// The `size` input of a draw from a symbolic integer vector (`x.shape`).
pub fn size_from_vector(v: VarRef) -> Result<(VarRef, SizeSpec)> {
    if v.ty.ndim() != 1 || !v.ty.dtype().is_int() {
        return Err(Error::Type(format!(
            "size must be a tuple of integers or an integer vector, got {} of type {}",
            v.display(),
            v.ty
        )));
    }
    if let Some(c) = v.constant_value() {
        let values = read_all::<i64>(&cast_tensor(c, DType::Int64)?)?;
        let spec = SizeSpec::Entries(values.iter().map(|&x| Some(x)).collect());
        return Ok((int64_constant(&values)?, spec));
    }
    let spec = SizeSpec::Vector(vector_length(&v));
    Ok((v, spec))
}

/// `size=None`: an empty vector, meaning "the parameters' broadcast shape".
pub fn size_from_params() -> Result<(VarRef, SizeSpec)> {
    Ok((int64_constant(&[])?, SizeSpec::FromParams))
}

/// Builds a draw: the node `op(state, size, params...)`; returns
/// `(new_state, sample)`. A binomial whose `n` is the constant 1 draws with
/// one comparison per element.
pub fn draw(
    mut dist: Distribution,
    flavor: Flavor,
    dtype: Option<DType>,
    state: VarRef,
    size: (VarRef, SizeSpec),
    ndim: Option<usize>,
    params: Vec<VarRef>,
) -> Result<(VarRef, VarRef)> {
    if dist == Distribution::Binomial
        && let Some(n) = params.first().and_then(|n| n.constant_value())
        && n.size() > 0
        && read_all::<i64>(&cast_tensor(n, DType::Int64)?)?
            .iter()
            .all(|&v| v == 1)
    {
        dist = Distribution::Bernoulli;
    }
    let types: Vec<&Type> = params.iter().map(|p| &p.ty).collect();
    let op = RandomFunction::new(dist, flavor, dtype, &size.1, ndim, &types)?;
    let mut inputs = vec![state, size.0];
    inputs.extend(params);
    let mut outs = graph::apply(Op::Random(op), inputs)?;
    let sample = outs.pop().expect("two outputs");
    let new_state = outs.pop().expect("two outputs");
    Ok((new_state, sample))
}

/// The first state of stream `stream` of a family seeded with `seed`, as
/// the `uint32` vector a state variable holds.
pub fn seeded_state(seed: u64, stream: u64, flavor: Flavor) -> Result<Tensor> {
    let domain = match flavor {
        Flavor::RandomStreams => crate::random::stream::DOMAIN_RANDOM_STREAMS,
        Flavor::Mrg => crate::random::stream::DOMAIN_MRG,
    };
    let s = PhiloxState::seeded(seed, stream, domain);
    Tensor::from_slice(DType::UInt32, &[STATE_LEN], &s.words())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::stream::DOMAIN_RANDOM_STREAMS;

    fn scalar(v: f64) -> Tensor {
        Tensor::from_slice(DType::Float64, &[], &[v]).unwrap()
    }

    fn sizes(values: &[i64]) -> Tensor {
        Tensor::from_slice(DType::Int64, &[values.len()], values).unwrap()
    }

    fn state(seed: u64) -> Tensor {
        seeded_state(seed, 0, Flavor::RandomStreams).unwrap()
    }

    fn op(dist: Distribution, dtype: DType, nd: usize) -> RandomFunction {
        RandomFunction {
            dist,
            out: TensorType::new(dtype, &vec![false; nd]),
            flavor: Flavor::RandomStreams,
        }
    }

    fn run(op: &RandomFunction, inputs: &[&Tensor]) -> (Vec<u32>, Tensor) {
        let mut outs = op.perform(inputs).unwrap();
        let sample = outs.pop().unwrap();
        (read_all::<u32>(&outs[0]).unwrap(), sample)
    }

    #[test]
    fn uniform_f64_follows_the_documented_block_layout_across_chunks() {
        let n = PARALLEL_MIN + 3 * CHUNK + 5; // parallel, several chunks, a partial block
        let s = state(42);
        let (new_state, sample) = run(
            &op(Distribution::Uniform, DType::Float64, 1),
            &[&s, &sizes(&[n as i64]), &scalar(-1.0), &scalar(3.0)],
        );
        let words = read_all::<u32>(&s).unwrap();
        let ps = PhiloxState::from_words(&words).unwrap();
        assert_eq!(new_state, ps.advanced().words());
        let values = read_all::<f64>(&sample).unwrap();
        for i in [
            0,
            1,
            2,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            PARALLEL_MIN + 7,
            n - 1,
        ] {
            let w = ps.block((i / 2) as u64);
            let u = if i % 2 == 0 {
                u01_53(w[0], w[1])
            } else {
                u01_53(w[2], w[3])
            };
            assert_eq!(values[i], -1.0 + 4.0 * u, "element {i}");
        }
    }

    #[test]
    fn a_smaller_size_draws_a_prefix_of_a_larger_one() {
        for dist in [Distribution::Uniform, Distribution::Normal] {
            for dtype in [DType::Float32, DType::Float64] {
                let o = op(dist, dtype, 1);
                let s = state(7);
                let (_, small) = run(&o, &[&s, &sizes(&[5]), &scalar(0.0), &scalar(1.0)]);
                let (_, large) = run(&o, &[&s, &sizes(&[9]), &scalar(0.0), &scalar(1.0)]);
                let small = read_all::<f64>(&cast_tensor(&small, DType::Float64).unwrap()).unwrap();
                let large = read_all::<f64>(&cast_tensor(&large, DType::Float64).unwrap()).unwrap();
                assert_eq!(small[..], large[..5], "{dist:?} {dtype}");
            }
        }
    }

    #[test]
    fn the_same_state_gives_the_same_sample_and_the_next_state_another() {
        let o = op(Distribution::Binomial, DType::Int64, 1);
        let n = Tensor::from_slice(DType::Int64, &[], &[30i64]).unwrap();
        let s0 = state(9);
        let (s1, a) = run(&o, &[&s0, &sizes(&[64]), &n, &scalar(0.4)]);
        let (_, b) = run(&o, &[&s0, &sizes(&[64]), &n, &scalar(0.4)]);
        assert!(a.same_values(&b));
        let s1 = Tensor::from_slice(DType::UInt32, &[4], &s1).unwrap();
        let (_, c) = run(&o, &[&s1, &sizes(&[64]), &n, &scalar(0.4)]);
        assert!(!a.same_values(&c));
    }

    #[test]
    fn parameters_broadcast_to_the_size_or_give_the_shape() {
        let o = op(Distribution::Normal, DType::Float64, 2);
        let avg = Tensor::from_slice(DType::Float64, &[1, 3], &[0.0, 100.0, -100.0]).unwrap();
        let (_, x) = run(&o, &[&state(1), &sizes(&[4, 3]), &avg, &scalar(0.0)]);
        assert_eq!(&x.shape[..], &[4, 3]);
        assert_eq!(read_all::<f64>(&x).unwrap()[4], 100.0);
        let (_, y) = run(&o, &[&state(1), &sizes(&[]), &avg, &scalar(1.0)]);
        assert_eq!(&y.shape[..], &[1, 3]);
        let (_, z) = run(&o, &[&state(1), &sizes(&[2, -1]), &avg, &scalar(1.0)]);
        assert_eq!(&z.shape[..], &[2, 3]);
        let err = o
            .perform(&[&state(1), &sizes(&[4, 2]), &avg, &scalar(1.0)])
            .unwrap_err();
        assert!(
            matches!(err, Error::Value(m) if m.contains("RandomFunction{normal}") && m.contains("avg"))
        );
    }

    #[test]
    fn the_op_type_follows_size_and_parameters() {
        let scalar_f = Type::Tensor(TensorType::new(DType::Float32, &[]));
        let row = Type::Tensor(TensorType::new(DType::Float64, &[true, false]));
        let int = Type::Tensor(TensorType::new(DType::Int8, &[]));
        let new = |dist, size: SizeSpec, params: &[&Type]| {
            RandomFunction::new(dist, Flavor::RandomStreams, None, &size, None, params)
        };
        let u = new(
            Distribution::Uniform,
            SizeSpec::Entries(vec![Some(1), None]),
            &[&scalar_f, &scalar_f],
        )
        .unwrap();
        assert_eq!(u.out, TensorType::new(dtype::float_x(), &[true, false]));
        let u = new(
            Distribution::Uniform,
            SizeSpec::FromParams,
            &[&row, &scalar_f],
        )
        .unwrap();
        assert_eq!(u.out, TensorType::new(DType::Float64, &[true, false]));
        let b = new(
            Distribution::Binomial,
            SizeSpec::Entries(vec![Some(1), Some(1)]),
            &[&int, &scalar_f],
        )
        .unwrap();
        assert_eq!(b.out, TensorType::new(DType::Int64, &[false, false]));
        let m = new(
            Distribution::Multinomial,
            SizeSpec::Entries(vec![Some(5)]),
            &[&int, &row],
        );
        assert_eq!(m.unwrap().out.ndim(), 2);
        let p = new(Distribution::Permutation, SizeSpec::FromParams, &[&int]).unwrap();
        assert_eq!(p.out, TensorType::new(DType::Int64, &[false]));
        assert!(matches!(
            RandomFunction::new(
                Distribution::Uniform,
                Flavor::RandomStreams,
                None,
                &SizeSpec::Entries(vec![Some(2)]),
                Some(2),
                &[&scalar_f, &scalar_f]
            ),
            Err(Error::Value(m)) if m.contains("ndim should be equal")
        ));
        assert!(matches!(
            new(Distribution::Uniform, SizeSpec::Vector(None), &[&scalar_f, &scalar_f]),
            Err(Error::Value(m)) if m.contains("ndim=")
        ));
        assert!(matches!(
            new(Distribution::Binomial, SizeSpec::FromParams, &[&scalar_f, &scalar_f]),
            Err(Error::Type(m)) if m.contains("n must be an integer")
        ));
    }

    #[test]
    fn op_names_are_theano_names() {
        let mut o = op(Distribution::Uniform, DType::Float32, 2);
        assert_eq!(o.name(), "RandomFunction{uniform}");
        o.flavor = Flavor::Mrg;
        assert_eq!(
            o.name(),
            "mrg_uniform{TensorType(float32, matrix),no_inplace}"
        );
        assert_eq!(
            op(Distribution::Permutation, DType::Int64, 1).name(),
            "RandomFunction{permutation_helper}"
        );
    }

    #[test]
    fn vector_lengths_come_from_the_graph() {
        let m = Variable::input(
            Type::Tensor(TensorType::new(DType::Float64, &[false, false, false])),
            None,
        );
        let shape = graph::apply1(Op::Shape, vec![m]).unwrap();
        assert_eq!(vector_length(&shape), Some(3));
        let c = |v: i64| {
            Variable::scalar_constant(Tensor::from_slice(DType::Int64, &[], &[v]).unwrap())
        };
        let sliced = graph::apply1(
            Op::Subtensor(crate::ops::Subtensor {
                idx_list: vec![IdxEntry::Slice {
                    start: None,
                    stop: Some(DType::Int64),
                    step: None,
                }],
            }),
            vec![shape.clone(), c(-1)],
        )
        .unwrap();
        assert_eq!(vector_length(&sliced), Some(2));
        let free = Variable::input(Type::Tensor(TensorType::new(DType::Int64, &[false])), None);
        assert_eq!(vector_length(&free), None);
        let (made, spec) =
            size_from_entries(vec![SizeEntry::Const(2), SizeEntry::Var(c(3))]).unwrap();
        assert!(made.is_constant());
        assert!(matches!(spec, SizeSpec::Entries(e) if e == vec![Some(2), Some(3)]));
    }

    #[test]
    fn slice_lengths_follow_python() {
        type Case = (i64, Option<i64>, Option<i64>, i64, usize);
        let cases: [Case; 8] = [
            (5, None, None, 1, 5),
            (5, Some(1), None, 1, 4),
            (5, None, Some(-1), 1, 4),
            (5, None, None, -1, 5),
            (5, Some(-2), None, -1, 4),
            (5, Some(1), Some(4), 2, 2),
            (5, Some(7), None, 1, 0),
            (0, None, None, 1, 0),
        ];
        for (len, start, stop, step, want) in cases {
            assert_eq!(
                slice_length(len, start, stop, step),
                Some(want),
                "{start:?}:{stop:?}:{step}"
            );
        }
    }

    #[test]
    fn seeded_states_differ_by_family() {
        let a = read_all::<u32>(&seeded_state(3, 1, Flavor::RandomStreams).unwrap()).unwrap();
        let b = read_all::<u32>(&seeded_state(3, 1, Flavor::Mrg).unwrap()).unwrap();
        assert_ne!(a, b);
        assert_eq!(a, PhiloxState::seeded(3, 1, DOMAIN_RANDOM_STREAMS).words());
    }
}
