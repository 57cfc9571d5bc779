//! Running elementwise computations.
//!
//! A [`Program`] is a list of typed steps (one scalar op each, with explicit
//! casts between dtypes) over the inputs and a few registers. It runs over
//! the output in blocks of [`BLOCK`] elements: per block, strided or
//! broadcast inputs are gathered into a scratch buffer (contiguous ones are
//! read in place, one-element ones as a broadcast value, and so are strided
//! ones a block reads as one run: see `ROW_BLOCK_MIN`), then each step is
//! one typed loop over the block, and the last step writes straight into the
//! output. No full-size intermediate is ever made. Large outputs are split
//! across threads. A single `Elemwise` whose inputs need no cast and are
//! contiguous skips the blocks and runs its loop over the whole arrays.

use std::cell::RefCell;

use rayon::prelude::*;
use smallvec::SmallVec;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::memory::{Tensor, bytes_as, bytes_as_mut, words_as_bytes, words_as_bytes_mut};
use crate::ops::elemwise::{Kind, ScalarOp};
use crate::ops::elemwise_kernels::{self as k, Src};
use crate::ops::scalar::{broadcast_shapes, broadcast_strides};
use crate::with_dtype;

/// Elements per block: small enough that a step's operands stay in L1.
pub const BLOCK: usize = 512;
/// Outputs at least this large are split across threads.
pub const PARALLEL_MIN: usize = 1 << 16;

/// An untyped kernel operand: the bytes of a run of elements, or of one
/// element broadcast.
#[derive(Clone, Copy, Debug)]
pub enum Raw<'a> {
    Slice(&'a [u8]),
    Scalar(&'a [u8]),
}

impl<'a> Raw<'a> {
    #[inline(always)]
    fn typed<T: Copy + crate::memory::Element>(self) -> Src<'a, T> {
        match self {
            Raw::Slice(b) => Src::Slice(bytes_as::<T>(b)),
            Raw::Scalar(b) => Src::Scalar(bytes_as::<T>(b)[0]),
        }
    }

    /// Elements `[start, start + len)` of a run (a broadcast value stays one).
    #[inline(always)]
    fn range(self, start: usize, len: usize, itemsize: usize) -> Raw<'a> {
        match self {
            Raw::Slice(b) => Raw::Slice(&b[start * itemsize..(start + len) * itemsize]),
            s => s,
        }
    }
}

macro_rules! with_real {
    ($d:expr, $op:expr, $T:ident => $body:expr) => {
        $crate::with_real_dtype!($d, $T => $body, other => return Err(unsupported($op, other)))
    };
}

macro_rules! with_float {
    ($d:expr, $op:expr, $F:ident => $body:expr) => {
        match $d {
            DType::Float32 => {
                type $F = f32;
                $body
            }
            DType::Float64 => {
                type $F = f64;
                $body
            }
            other => return Err(unsupported($op, other)),
        }
    };
}

fn unsupported(op: ScalarOp, dtype: DType) -> Error {
    Error::NotImplemented(format!(
        "Elemwise{{{}}} is not implemented for dtype {}",
        op.name(),
        dtype
    ))
}

/// Runs one scalar op over `out` (its length in `native` elements decides
/// how many), computing in `compute`.
pub fn run_kernel(op: ScalarOp, compute: DType, args: &[Raw<'_>], out: &mut [u8]) -> Result<()> {
    let is_bool = compute == DType::Bool;
    match op.kind() {
        Kind::FloatUnary => with_float!(compute, op, F => {
            k::float_unary::<F>(op, args[0].typed(), bytes_as_mut(out))
        }),
        Kind::FloatBinary => with_float!(compute, op, F => {
            k::float_binary::<F>(op, args[0].typed(), args[1].typed(), bytes_as_mut(out))
        }),
        Kind::Unary => with_real!(compute, op, T => {
            k::unary::<T>(op, is_bool, args[0].typed(), bytes_as_mut(out))
        }),
        Kind::Predicate => {
            with_real!(compute, op, T => k::predicate::<T>(op, args[0].typed(), out))
        }
        Kind::Binary => with_real!(compute, op, T => {
            k::binary::<T>(op, is_bool, args[0].typed(), args[1].typed(), bytes_as_mut(out))
        }),
        Kind::Compare => with_real!(compute, op, T => {
            k::compare::<T>(op, args[0].typed(), args[1].typed(), out)
        }),
        Kind::Switch => with_real!(compute, op, T => {
            k::switch::<T>(args[0].typed(), args[1].typed(), args[2].typed(), bytes_as_mut(out));
            Ok(())
        }),
        Kind::Clip => with_real!(compute, op, T => {
            k::clip::<T>(args[0].typed(), args[1].typed(), args[2].typed(), bytes_as_mut(out));
            Ok(())
        }),
        Kind::Cast(to) => with_dtype!(compute, A => with_dtype!(to, B => {
            k::cast::<A, B>(args[0].typed(), bytes_as_mut(out), to == DType::Bool);
            Ok(())
        })),
    }
}

// ---------------------------------------------------------------------------
// programs
// ---------------------------------------------------------------------------

/// Where a step reads an operand.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub enum Arg {
    Input(usize),
    Reg(usize),
}

/// One scalar op over a block.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Step {
    pub op: ScalarOp,
    /// The dtype the kernel computes in (its operands' dtype; a switch's
    /// condition is bool).
    pub compute: DType,
    pub args: SmallVec<[Arg; 3]>,
    /// The register written.
    pub out: usize,
    pub out_dtype: DType,
}

impl Step {
    fn arg_dtype(&self, k: usize) -> DType {
        if self.op == ScalarOp::Switch && k == 0 {
            DType::Bool
        } else {
            self.compute
        }
    }
}

/// A straight-line elementwise program; its last step computes the result.
#[derive(Clone, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
pub struct Program {
    pub input_dtypes: Vec<DType>,
    pub steps: Vec<Step>,
    pub n_regs: usize,
}

impl Program {
    pub fn out_dtype(&self) -> DType {
        self.steps
            .last()
            .map(|s| s.out_dtype)
            .unwrap_or(DType::Float64)
    }
}

/// A value while building a program.
#[derive(Clone, Copy, Debug)]
pub struct Val {
    arg: Arg,
    pub dtype: DType,
}

/// Builds a [`Program`] one scalar op at a time, inserting the casts each
/// op's kernel needs (exactly those an unfused `Elemwise` makes).
pub struct Builder {
    input_dtypes: Vec<DType>,
    steps: Vec<Step>,
    n_vals: usize,
}

fn check_supported(op: ScalarOp, dtypes: &[DType], compute: DType) -> Result<()> {
    if let Some(d) = dtypes.iter().copied().find(|d| d.is_complex()) {
        return Err(unsupported(op, d));
    }
    match op.kind() {
        Kind::FloatUnary | Kind::FloatBinary
            if !matches!(compute, DType::Float32 | DType::Float64) =>
        {
            Err(unsupported(op, compute))
        }
        Kind::Cast(to) if to.is_complex() => Err(unsupported(op, to)),
        _ if compute.is_complex() => Err(unsupported(op, compute)),
        _ => Ok(()),
    }
}

impl Builder {
    pub fn new(input_dtypes: &[DType]) -> Builder {
        Builder {
            input_dtypes: input_dtypes.to_vec(),
            steps: Vec::new(),
            n_vals: 0,
        }
    }

    pub fn input(&self, i: usize) -> Val {
        Val {
            arg: Arg::Input(i),
            dtype: self.input_dtypes[i],
        }
    }

    fn emit(&mut self, op: ScalarOp, compute: DType, args: SmallVec<[Arg; 3]>, out: DType) -> Val {
        let r = self.n_vals;
        self.n_vals += 1;
        self.steps.push(Step {
            op,
            compute,
            args,
            out: r,
            out_dtype: out,
        });
        Val {
            arg: Arg::Reg(r),
            dtype: out,
        }
    }

    /// `v` in dtype `to`.
    pub fn cast(&mut self, v: Val, to: DType) -> Val {
        if v.dtype == to {
            return v;
        }
        self.emit(ScalarOp::Cast(to), v.dtype, smallvec::smallvec![v.arg], to)
    }

    /// `op(args)` with output dtype `out` (the node's type, decided when the
    /// graph was built).
    pub fn apply(&mut self, op: ScalarOp, args: &[Val], out: DType) -> Result<Val> {
        if args.len() != op.arity() {
            return Err(Error::Runtime(format!(
                "internal error: {} takes {} inputs, got {}",
                op.name(),
                op.arity(),
                args.len()
            )));
        }
        let dtypes: SmallVec<[DType; 3]> = args.iter().map(|v| v.dtype).collect();
        let (compute, native) = op.kernel_dtypes(&dtypes, out);
        check_supported(op, &dtypes, compute)?;
        if let Kind::Cast(to) = op.kind() {
            let v = self.cast(args[0], to);
            return Ok(self.cast(v, out));
        }
        let mut cargs: SmallVec<[Arg; 3]> = SmallVec::new();
        for (k, v) in args.iter().enumerate() {
            let want = if op == ScalarOp::Switch && k == 0 {
                DType::Bool
            } else {
                compute
            };
            cargs.push(self.cast(*v, want).arg);
        }
        let r = self.emit(op, compute, cargs, native);
        Ok(self.cast(r, out))
    }

    /// The program computing `result`, with registers reused once dead.
    pub fn finish(mut self, result: Val) -> Program {
        let is_last =
            matches!(result.arg, Arg::Reg(r) if self.steps.last().map(|s| s.out) == Some(r));
        if !is_last {
            // The result is an input or an earlier value: copy it.
            let d = result.dtype;
            self.emit(ScalarOp::Cast(d), d, smallvec::smallvec![result.arg], d);
        }
        let mut steps = self.steps;
        let mut last_use: Vec<Option<usize>> = vec![None; self.n_vals];
        for (s, st) in steps.iter().enumerate() {
            for a in &st.args {
                if let Arg::Reg(v) = a {
                    last_use[*v] = Some(s);
                }
            }
        }
        let mut phys = vec![usize::MAX; self.n_vals];
        let mut free: Vec<usize> = Vec::new();
        let mut n_regs = 0;
        for (s, st) in steps.iter_mut().enumerate() {
            let mut dying: SmallVec<[usize; 3]> = SmallVec::new();
            for a in st.args.iter_mut() {
                if let Arg::Reg(v) = *a {
                    if last_use[v] == Some(s) && !dying.contains(&phys[v]) {
                        dying.push(phys[v]);
                    }
                    *a = Arg::Reg(phys[v]);
                }
            }
            // The output takes a register none of this step's operands holds.
            let p = free.pop().unwrap_or_else(|| {
                n_regs += 1;
                n_regs - 1
            });
            let v = st.out;
            phys[v] = p;
            st.out = p;
            free.extend(dying);
            if last_use[v].is_none() && s + 1 != last_use.len() {
                free.push(p);
            }
        }
        Program {
            input_dtypes: self.input_dtypes,
            steps,
            n_regs,
        }
    }
}

// ---------------------------------------------------------------------------
// running
// ---------------------------------------------------------------------------

/// How a block reads one input.
enum InSrc<'a> {
    /// Contiguous with the output's shape: read in place.
    Contig(&'a [u8]),
    /// One element, broadcast.
    Scalar(&'a [u8]),
    /// Anything else: read in place where a block is one run of it at
    /// stride 1, gathered otherwise.
    Strided(Strided<'a>),
    /// The output buffer itself (an input the node writes over): each
    /// block is copied out before the block's result is written.
    Out,
}

/// True when `t`'s memory can be read as typed elements in place.
fn aligned(t: &Tensor) -> bool {
    // Item sizes are powers of two: masks instead of divisions.
    let mask = t.dtype.itemsize() - 1;
    let align_mask = mask.min(7);
    (t.storage().as_ptr() as usize) & align_mask == 0
        && t.offset & mask == 0
        && t.strides.iter().all(|&s| (s as usize) & mask == 0)
}

fn in_src<'a>(t: &'a Tensor, shape: &[usize]) -> InSrc<'a> {
    let size = t.dtype.itemsize();
    let bytes = t.storage_bytes();
    if t.size() == 1 {
        return InSrc::Scalar(&bytes[t.offset..t.offset + size]);
    }
    if t.shape[..] == *shape && t.is_c_contiguous() {
        return InSrc::Contig(&bytes[t.offset..t.offset + t.nbytes()]);
    }
    let elem: SmallVec<[isize; 6]> = t.strides.iter().map(|&s| s / size as isize).collect();
    InSrc::Strided(Strided {
        data: bytes,
        dtype: t.dtype,
        strides: broadcast_strides(&t.shape, &elem, shape),
        base: (t.offset / size) as isize,
    })
}

/// A strided or broadcast input, laid over the output's shape once per call.
struct Strided<'a> {
    /// The whole storage.
    data: &'a [u8],
    dtype: DType,
    /// Element strides along the output's axes (0 where broadcast).
    strides: SmallVec<[isize; 6]>,
    /// Element offset of the first element.
    base: isize,
}

impl<'a> Strided<'a> {
    /// Whether a block that stays within one row of the output reads this
    /// input at stride 1 (a column slice, a broadcast row), so that the
    /// block can be read in place.
    fn runs_along_rows(&self) -> bool {
        self.strides.last() == Some(&1)
    }

    /// Output elements `[start, start + len)` read in place: `Some` when they
    /// lie in one row of the output and the input runs along it at stride 1.
    fn in_place(&self, shape: &[usize], start: usize, len: usize) -> Option<&'a [u8]> {
        let &n_last = shape.last()?;
        if !self.runs_along_rows() || start % n_last + len > n_last {
            return None;
        }
        let mut rem = start;
        let mut off = self.base;
        for (&n, &s) in shape.iter().zip(&self.strides).rev() {
            off += (rem % n) as isize * s;
            rem /= n;
        }
        let size = self.dtype.itemsize();
        let from = usize::try_from(off).ok()? * size;
        self.data.get(from..from + len * size)
    }

    /// Copies output elements `[start, start + len)` into `buf`.
    fn gather(&self, shape: &[usize], start: usize, len: usize, buf: &mut [u64]) -> Result<()> {
        with_dtype!(self.dtype, T => gather_typed::<T>(
            bytes_as::<T>(self.data),
            shape,
            &self.strides,
            self.base,
            start,
            &mut bytes_as_mut::<T>(words_as_bytes_mut(buf))[..len],
        ));
        Ok(())
    }
}

/// Copies elements `[start, start + out.len())` (C order over `shape`) of a
/// strided view into `out`.
fn gather_typed<T: Copy>(
    data: &[T],
    shape: &[usize],
    strides: &[isize],
    base: isize,
    start: usize,
    out: &mut [T],
) {
    let nd = shape.len();
    if nd == 0 {
        out.fill(data[base as usize]);
        return;
    }
    let mut idx: SmallVec<[usize; 6]> = SmallVec::from_elem(0, nd);
    let mut rem = start;
    let mut off = base;
    for d in (0..nd).rev() {
        idx[d] = rem % shape[d];
        rem /= shape[d];
        off += idx[d] as isize * strides[d];
    }
    let last = nd - 1;
    let (n_last, s_last) = (shape[last], strides[last]);
    let mut k = 0;
    while k < out.len() {
        let run = (n_last - idx[last]).min(out.len() - k);
        let dst = &mut out[k..k + run];
        let o = off as usize;
        match s_last {
            1 => dst.copy_from_slice(&data[o..o + run]),
            0 => dst.fill(data[o]),
            s => {
                let mut p = off;
                for v in dst.iter_mut() {
                    *v = data[p as usize];
                    p += s;
                }
            }
        }
        k += run;
        idx[last] += run;
        off += run as isize * s_last;
        if idx[last] == n_last {
            off -= n_last as isize * s_last;
            idx[last] = 0;
            let mut d = last;
            while d > 0 {
                d -= 1;
                idx[d] += 1;
                off += strides[d];
                if idx[d] < shape[d] {
                    break;
                }
                off -= shape[d] as isize * strides[d];
                idx[d] = 0;
            }
        }
    }
}

/// Per-thread scratch: registers and gather buffers, reused across calls.
#[derive(Default)]
struct Scratch {
    regs: Vec<Vec<u64>>,
    /// Whether a register holds one broadcast value rather than a block.
    reg_scalar: Vec<bool>,
    gathered: Vec<Vec<u64>>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A program bound to its input values and output shape.
struct Plan<'a> {
    /// Elements per block.
    block: usize,
    prog: &'a Program,
    inputs: SmallVec<[InSrc<'a>; 4]>,
    shape: &'a [usize],
}

/// Rows at least this long are run in blocks that stay within a row, so
/// that inputs running along the rows at stride 1 (column slices, broadcast
/// rows) are read in place instead of gathered.
const ROW_BLOCK_MIN: usize = 128;

impl Plan<'_> {
    /// When blocks pay to stay within rows (see [`ROW_BLOCK_MIN`]): the row
    /// length, and the block length that cuts a row into even blocks (a row
    /// of 520 into two of 260, not 512 and 8).
    fn row_blocks(&self) -> Option<(usize, usize)> {
        let &n_last = self.shape.last()?;
        let reads_rows = self
            .inputs
            .iter()
            .any(|src| matches!(src, InSrc::Strided(s) if s.runs_along_rows()));
        let even = n_last.div_ceil(n_last.div_ceil(self.block.max(1)));
        (n_last >= ROW_BLOCK_MIN && reads_rows).then_some((n_last, even))
    }

    /// Computes output elements `[start, start + n)` into `out`.
    fn run_range(&self, start: usize, out: &mut [u8]) -> Result<()> {
        SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut scratch) => self.run_with(&mut scratch, start, out),
            Err(_) => self.run_with(&mut Scratch::default(), start, out),
        })
    }

    fn run_with(&self, sc: &mut Scratch, start: usize, out: &mut [u8]) -> Result<()> {
        let prog = self.prog;
        let out_size = prog.out_dtype().itemsize();
        let n = out.len() >> out_size.trailing_zeros();
        let words = self.block.min(n).max(1);
        if sc.regs.len() < prog.n_regs {
            sc.regs.resize_with(prog.n_regs, Vec::new);
        }
        for r in sc.regs.iter_mut().take(prog.n_regs) {
            if r.len() < words {
                r.resize(words, 0);
            }
        }
        if sc.gathered.len() < self.inputs.len() {
            sc.gathered.resize_with(self.inputs.len(), Vec::new);
        }
        for (g, src) in sc.gathered.iter_mut().zip(&self.inputs) {
            if matches!(src, InSrc::Strided(_) | InSrc::Out) && g.len() < words {
                g.resize(words, 0);
            }
        }
        let mut reg_scalar = std::mem::take(&mut sc.reg_scalar);
        reg_scalar.clear();
        reg_scalar.resize(prog.n_regs, false);
        let result = self.run_blocks(sc, &mut reg_scalar, start, out);
        sc.reg_scalar = reg_scalar;
        result
    }

    fn run_blocks(
        &self,
        sc: &mut Scratch,
        reg_scalar: &mut [bool],
        start: usize,
        out: &mut [u8],
    ) -> Result<()> {
        let prog = self.prog;
        let out_size = prog.out_dtype().itemsize();
        let n = out.len() >> out_size.trailing_zeros();
        let n_steps = prog.steps.len();
        let row = self.row_blocks();
        let mut in_place: SmallVec<[Option<&[u8]>; 8]> = SmallVec::new();
        let mut b = 0;
        while b < n {
            let pos = start + b;
            let len = match row {
                Some((r, even)) => even.min(n - b).min(r - pos % r),
                None => self.block.min(n - b),
            };
            in_place.clear();
            for (g, src) in sc.gathered.iter_mut().zip(&self.inputs) {
                let mut direct = None;
                match src {
                    InSrc::Strided(s) => match s.in_place(self.shape, pos, len) {
                        Some(bytes) => direct = Some(bytes),
                        None => s.gather(self.shape, pos, len, g)?,
                    },
                    InSrc::Out => words_as_bytes_mut(g)[..len * out_size]
                        .copy_from_slice(&out[b * out_size..(b + len) * out_size]),
                    _ => {}
                }
                in_place.push(direct);
            }
            for (si, step) in prog.steps.iter().enumerate() {
                let last = si + 1 == n_steps;
                let size = step.out_dtype.itemsize();
                let mut target = std::mem::take(&mut sc.regs[step.out]);
                let result = {
                    let mut args = [Raw::Scalar(&[]); 3];
                    let mut all_scalar = true;
                    for (ki, a) in step.args.iter().enumerate() {
                        let isz = step.arg_dtype(ki).itemsize();
                        let raw = match *a {
                            Arg::Input(i) => match &self.inputs[i] {
                                InSrc::Contig(bytes) => {
                                    Raw::Slice(&bytes[pos * isz..(pos + len) * isz])
                                }
                                InSrc::Scalar(bytes) => Raw::Scalar(bytes),
                                InSrc::Strided(_) | InSrc::Out => Raw::Slice(match in_place[i] {
                                    Some(bytes) => bytes,
                                    None => &words_as_bytes(&sc.gathered[i])[..len * isz],
                                }),
                            },
                            Arg::Reg(r) => {
                                let bytes = words_as_bytes(&sc.regs[r]);
                                if reg_scalar[r] {
                                    Raw::Scalar(&bytes[..isz])
                                } else {
                                    Raw::Slice(&bytes[..len * isz])
                                }
                            }
                        };
                        all_scalar &= matches!(raw, Raw::Scalar(_));
                        args[ki] = raw;
                    }
                    let args = &args[..step.args.len()];
                    if all_scalar {
                        // Only broadcast values: computed once.
                        let t = words_as_bytes_mut(&mut target);
                        let r = run_kernel(step.op, step.compute, args, &mut t[..size]);
                        if last && r.is_ok() {
                            for chunk in out[b * size..(b + len) * size].chunks_exact_mut(size) {
                                chunk.copy_from_slice(&t[..size]);
                            }
                        }
                        reg_scalar[step.out] = true;
                        r
                    } else if last {
                        run_kernel(
                            step.op,
                            step.compute,
                            args,
                            &mut out[b * size..(b + len) * size],
                        )
                    } else {
                        reg_scalar[step.out] = false;
                        let t = words_as_bytes_mut(&mut target);
                        run_kernel(step.op, step.compute, args, &mut t[..len * size])
                    }
                };
                sc.regs[step.out] = target;
                result?;
            }
            b += len;
        }
        Ok(())
    }
}

/// How many elements each thread-task takes for an output of `n`.
fn chunk_len(n: usize) -> usize {
    let parts = rayon::current_num_threads() * 4;
    n.div_ceil(parts).div_ceil(BLOCK) * BLOCK
}

/// Whether `n` elements of work costing `cost` each are split over threads:
/// from `PARALLEL_MIN` elements, or from four times that in weighted work
/// (waking the other threads costs tens of microseconds on a busy machine:
/// the MLP's `tanh` of 20×500 runs faster on one core). A split tells the
/// call's workers to stay awake (`workers::going_parallel`).
fn parallel(n: usize, cost: usize) -> bool {
    let split = (n >= PARALLEL_MIN || n.saturating_mul(cost) >= 4 * PARALLEL_MIN)
        && rayon::current_num_threads() > 1;
    if split {
        crate::workers::going_parallel();
    }
    split
}

/// The cost of one element of `op` relative to an addition: a float
/// function (exp, tanh, sigmoid...) costs about eight, so programs of them
/// split over threads from fewer elements (an LSTM gate's 100×512).
fn op_cost(op: ScalarOp) -> usize {
    match op.kind() {
        Kind::FloatUnary | Kind::FloatBinary => 8,
        _ => 1,
    }
}

impl Program {
    /// The cost of one element of the whole program (see [`op_cost`]).
    fn cost(&self) -> usize {
        self.steps
            .iter()
            .map(|s| op_cost(s.op))
            .sum::<usize>()
            .max(1)
    }
}

fn check_program_inputs(prog: &Program, inputs: &[&Tensor]) -> Result<()> {
    if inputs.len() != prog.input_dtypes.len()
        || inputs
            .iter()
            .zip(&prog.input_dtypes)
            .any(|(t, d)| t.dtype != *d)
    {
        return Err(Error::Runtime(format!(
            "internal error: elementwise program for inputs ({}) got ({})",
            prog.input_dtypes
                .iter()
                .map(|d| d.name())
                .collect::<Vec<_>>()
                .join(", "),
            inputs
                .iter()
                .map(|t| t.dtype.name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

/// The shape of inputs broadcast together. The usual cases (one shape,
/// plus one-element operands) need no general broadcasting.
fn out_shape(inputs: &[&Tensor]) -> Result<crate::memory::Shape> {
    let one = |s: &[usize]| s.iter().all(|&n| n == 1);
    let first: &[usize] = inputs.first().map(|t| &t.shape[..]).unwrap_or(&[]);
    if inputs.iter().all(|t| t.shape[..] == *first) {
        return Ok(crate::memory::Shape::from_slice(first));
    }
    if let Some(big) = inputs.iter().map(|t| &t.shape[..]).find(|s| !one(s))
        && inputs.iter().all(|t| {
            let s = &t.shape[..];
            s == big || (one(s) && s.len() <= big.len())
        })
    {
        return Ok(crate::memory::Shape::from_slice(big));
    }
    let mut shapes: SmallVec<[&[usize]; 4]> = SmallVec::new();
    shapes.extend(inputs.iter().map(|t| &t.shape[..]));
    broadcast_shapes(&shapes)
}

/// `inputs` with the ones that cannot be read in place copied.
fn aligned_copies(inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
    inputs
        .iter()
        .map(|t| {
            if aligned(t) {
                Ok((*t).clone())
            } else {
                t.deep_copy()
            }
        })
        .collect()
}

/// Runs `prog` on values broadcast together; a fresh C-contiguous output.
pub fn run_program(prog: &Program, inputs: &[&Tensor]) -> Result<Tensor> {
    check_program_inputs(prog, inputs)?;
    if !inputs.iter().all(|t| aligned(t)) {
        let copies = aligned_copies(inputs)?;
        let refs: Vec<&Tensor> = copies.iter().collect();
        return run_program(prog, &refs);
    }
    let shape = out_shape(inputs)?;
    let n: usize = shape.iter().product();
    if n == 0 {
        return Tensor::empty(prog.out_dtype(), &shape);
    }
    let mut srcs: SmallVec<[InSrc<'_>; 4]> = SmallVec::new();
    for t in inputs {
        srcs.push(in_src(t, &shape));
    }
    let plan = Plan {
        block: BLOCK,
        prog,
        inputs: srcs,
        shape: &shape,
    };
    let size = prog.out_dtype().itemsize();
    Tensor::filled(prog.out_dtype(), &shape, |bytes| {
        if parallel(n, prog.cost()) {
            let chunk = chunk_len(n);
            bytes
                .par_chunks_mut(chunk * size)
                .enumerate()
                .try_for_each(|(c, o)| plan.run_range(c * chunk, o))
        } else {
            plan.run_range(0, bytes)
        }
    })
}

/// Calls `body` with the shape of `inputs` broadcast together and a
/// function computing `prog`'s output elements `[start, start + n)` (C order
/// over that shape) into `n` elements' bytes (8-aligned), `block` elements
/// per step (the length asked for at most, to save the per-block work), without ever
/// making the whole output: the fused reductions evaluate their
/// elementwise expression this way, block by block, on several threads.
pub fn with_program_ranges<R>(
    prog: &Program,
    inputs: &[&Tensor],
    block: usize,
    body: impl FnOnce(&[usize], &(dyn Fn(usize, &mut [u8]) -> Result<()> + Sync)) -> Result<R>,
) -> Result<R> {
    check_program_inputs(prog, inputs)?;
    if !inputs.iter().all(|t| aligned(t)) {
        let copies = aligned_copies(inputs)?;
        let refs: Vec<&Tensor> = copies.iter().collect();
        return with_program_ranges(prog, &refs, block, body);
    }
    let shape = out_shape(inputs)?;
    let mut srcs: SmallVec<[InSrc<'_>; 4]> = SmallVec::new();
    for t in inputs {
        srcs.push(in_src(t, &shape));
    }
    let plan = Plan {
        block,
        prog,
        inputs: srcs,
        shape: &shape,
    };
    body(&shape, &|start, out| plan.run_range(start, out))
}

/// Runs `prog` writing its result over `dest`, the value of input `k`
/// (`others[k]` is `None`): the inplace execution of an elementwise node.
/// `Ok(false)`, with `dest` untouched, when that cannot be done: `dest` is
/// not uniquely owned, contiguous and aligned, the other inputs do not
/// broadcast to its shape, or a dtype differs from the program's.
pub fn run_program_over_input(
    prog: &Program,
    others: &[Option<&Tensor>],
    k: usize,
    dest: &mut Tensor,
) -> Result<bool> {
    let dtype_ok = others.len() == prog.input_dtypes.len()
        && others
            .iter()
            .zip(&prog.input_dtypes)
            .enumerate()
            .all(|(j, (t, d))| match t {
                Some(t) => j != k && t.dtype == *d,
                None => j == k && dest.dtype == *d,
            })
        && prog.out_dtype() == dest.dtype;
    if !dtype_ok {
        return Ok(false);
    }
    if !dest.is_c_contiguous() {
        return run_permuted_over_input(prog, others, k, dest);
    }
    if !dest.is_writable() || !aligned(dest) {
        return Ok(false);
    }
    let mut inputs: SmallVec<[&Tensor; 4]> = SmallVec::new();
    inputs.extend(others.iter().flatten().copied());
    if !inputs.iter().all(|t| aligned(t)) {
        return Ok(false);
    }
    let shape = dest.shape.clone();
    // Every other input must broadcast to the destroyed input's shape.
    let fits = |t: &Tensor| {
        t.ndim() <= shape.len()
            && t.shape
                .iter()
                .rev()
                .zip(shape.iter().rev())
                .all(|(&a, &b)| a == 1 || a == b)
    };
    if !inputs.iter().all(|t| fits(t)) {
        return Ok(false);
    }
    let n: usize = shape.iter().product();
    if n == 0 {
        return Ok(true);
    }
    let mut srcs: SmallVec<[InSrc<'_>; 4]> = SmallVec::new();
    for t in others {
        srcs.push(match t {
            Some(t) => in_src(t, &shape),
            None => InSrc::Out,
        });
    }
    let plan = Plan {
        block: BLOCK,
        prog,
        inputs: srcs,
        shape: &shape,
    };
    let size = prog.out_dtype().itemsize();
    let bytes = dest.bytes_mut()?;
    if parallel(n, prog.cost()) {
        let chunk = chunk_len(n);
        bytes
            .par_chunks_mut(chunk * size)
            .enumerate()
            .try_for_each(|(c, o)| plan.run_range(c * chunk, o))?;
    } else {
        plan.run_range(0, bytes)?;
    }
    Ok(true)
}

/// [`run_program_over_input`] for a `dest` whose memory is C order with its
/// axes permuted (the transpose of a fresh buffer): every operand is
/// permuted alike, so the elements are visited in memory order, and `dest`
/// keeps its own layout. `Ok(false)` for other layouts.
fn run_permuted_over_input(
    prog: &Program,
    others: &[Option<&Tensor>],
    k: usize,
    dest: &mut Tensor,
) -> Result<bool> {
    let nd = dest.ndim();
    if others.iter().flatten().any(|t| t.ndim() > nd) {
        return Ok(false);
    }
    let mut perm: SmallVec<[usize; 4]> = (0..nd).collect();
    perm.sort_by_key(|&d| std::cmp::Reverse(dest.strides[d]));
    let shape: crate::memory::Shape = perm.iter().map(|&d| dest.shape[d]).collect();
    let strides: crate::memory::Strides = perm.iter().map(|&d| dest.strides[d]).collect();
    let old_shape = std::mem::replace(&mut dest.shape, shape);
    let old_strides = std::mem::replace(&mut dest.strides, strides);
    let result = if dest.is_c_contiguous() {
        // The other operands, aligned to `dest`'s ndim and permuted alike.
        let permuted: Result<Vec<Option<Tensor>>> = others
            .iter()
            .map(|t| {
                let Some(t) = t else { return Ok(None) };
                let pad = nd - t.ndim();
                let full_shape: SmallVec<[usize; 4]> = std::iter::repeat_n(1, pad)
                    .chain(t.shape.iter().copied())
                    .collect();
                let full_strides: SmallVec<[isize; 4]> = std::iter::repeat_n(0, pad)
                    .chain(t.strides.iter().copied())
                    .collect();
                t.view(
                    perm.iter().map(|&d| full_shape[d]).collect(),
                    perm.iter().map(|&d| full_strides[d]).collect(),
                    t.offset,
                )
                .map(Some)
            })
            .collect();
        match permuted {
            Ok(p) => {
                let refs: Vec<Option<&Tensor>> = p.iter().map(|t| t.as_ref()).collect();
                run_program_over_input(prog, &refs, k, dest)
            }
            Err(_) => Ok(false),
        }
    } else {
        Ok(false)
    };
    dest.shape = old_shape;
    dest.strides = old_strides;
    result
}

/// Runs `prog` into `out` (its length decides how many elements) on
/// operands that are runs of that many elements or one broadcast value, all
/// read in place and aligned for their dtype: the body of a small loop
/// (Scan's one-node bodies) that has no tensors to build per step.
pub fn run_program_raw(prog: &Program, inputs: &[Raw<'_>], out: &mut [u8]) -> Result<()> {
    let mut srcs: SmallVec<[InSrc<'_>; 4]> = SmallVec::new();
    for r in inputs {
        srcs.push(match *r {
            Raw::Slice(b) => InSrc::Contig(b),
            Raw::Scalar(b) => InSrc::Scalar(b),
        });
    }
    let plan = Plan {
        block: BLOCK,
        prog,
        inputs: srcs,
        shape: &[],
    };
    plan.run_range(0, out)
}

/// [`run_program`] written into `out`, a buffer nobody else holds (see
/// [`crate::ops::Op::perform_into`]), when it has the result's shape and
/// dtype and the work is small enough for one thread: `Ok(false)` otherwise.
pub fn run_program_into(prog: &Program, inputs: &[&Tensor], out: &mut Tensor) -> Result<bool> {
    check_program_inputs(prog, inputs)?;
    if out.dtype != prog.out_dtype() || !out.is_writable() || !inputs.iter().all(|t| aligned(t)) {
        return Ok(false);
    }
    let shape = out_shape(inputs)?;
    let n: usize = shape.iter().product();
    if shape[..] != out.shape[..] || n == 0 || parallel(n, prog.cost()) {
        return Ok(false);
    }
    let mut srcs: SmallVec<[InSrc<'_>; 4]> = SmallVec::new();
    for t in inputs {
        srcs.push(in_src(t, &shape));
    }
    let plan = Plan {
        block: BLOCK,
        prog,
        inputs: srcs,
        shape: &shape,
    };
    plan.run_range(0, out.bytes_mut()?)?;
    Ok(true)
}

/// The dtype an `Elemwise{op}` computes in, and the result's shape, when its
/// kernel can read `inputs` as they are: no cast, each input contiguous
/// with the result's shape or one element. `None` otherwise (the program
/// path gathers and casts).
fn direct_case(
    op: ScalarOp,
    inputs: &[&Tensor],
    out_dtype: DType,
) -> Result<Option<(DType, crate::memory::Shape)>> {
    let mut all = [DType::Bool; 3];
    for (d, t) in all.iter_mut().zip(inputs) {
        *d = t.dtype;
    }
    let dtypes = &all[..inputs.len().min(3)];
    let (compute, native) = op.kernel_dtypes(dtypes, out_dtype);
    let is_cast = matches!(op.kind(), Kind::Cast(_));
    let no_cast = native == out_dtype
        && dtypes.iter().enumerate().all(|(k, &d)| {
            d == if op == ScalarOp::Switch && k == 0 {
                DType::Bool
            } else if is_cast {
                d
            } else {
                compute
            }
        });
    if !no_cast || !inputs.iter().all(|t| aligned(t)) {
        return Ok(None);
    }
    let shape = out_shape(inputs)?;
    let direct = inputs
        .iter()
        .all(|t| t.size() == 1 || (t.shape == shape && t.is_c_contiguous()));
    Ok(direct.then_some((compute, shape)))
}

/// One `Elemwise{op}` on values, with output dtype `out_dtype`.
pub fn run_elemwise(op: ScalarOp, inputs: &[&Tensor], out_dtype: DType) -> Result<Tensor> {
    if let Some((compute, shape)) = direct_case(op, inputs, out_dtype)? {
        let n: usize = shape.iter().product();
        if n == 0 {
            return Tensor::empty(out_dtype, &shape);
        }
        // (run_kernel refuses the dtypes it has no loop for)
        return Tensor::filled(out_dtype, &shape, |bytes| {
            run_direct(op, compute, inputs, n, bytes)
        });
    }
    let dtypes: SmallVec<[DType; 3]> = inputs.iter().map(|t| t.dtype).collect();
    let mut b = Builder::new(&dtypes);
    let mut args: SmallVec<[Val; 3]> = SmallVec::new();
    args.extend((0..inputs.len()).map(|i| b.input(i)));
    let r = b.apply(op, &args, out_dtype)?;
    run_program(&b.finish(r), inputs)
}

/// [`run_elemwise`] written over `out` (an old output of the node, see
/// [`crate::ops::Op::perform_into`]) in the direct case, when `out` has the
/// result's dtype and shape and rtensor holds it alone; `Ok(false)`, with
/// nothing written, otherwise.
pub fn run_elemwise_into(op: ScalarOp, inputs: &[&Tensor], out: &mut Tensor) -> Result<bool> {
    if !out.is_writable() {
        return Ok(false);
    }
    let Some((compute, shape)) = direct_case(op, inputs, out.dtype)? else {
        return Ok(false);
    };
    let n: usize = shape.iter().product();
    if shape[..] != out.shape[..] || n == 0 {
        return Ok(false);
    }
    run_direct(op, compute, inputs, n, out.bytes_mut()?)?;
    Ok(true)
}

/// The direct case: one loop over whole arrays (per thread chunk) into the
/// `n` elements of `bytes`.
fn run_direct(
    op: ScalarOp,
    compute: DType,
    inputs: &[&Tensor],
    n: usize,
    bytes: &mut [u8],
) -> Result<()> {
    let mut args = [Raw::Scalar(&[]); 3];
    let mut sizes = [0usize; 3];
    for (k, t) in inputs.iter().enumerate().take(3) {
        let size = t.dtype.itemsize();
        let b = &t.storage_bytes()[t.offset..t.offset + t.nbytes()];
        args[k] = if t.size() == 1 {
            Raw::Scalar(b)
        } else {
            Raw::Slice(b)
        };
        sizes[k] = size;
    }
    let m = inputs.len().min(3);
    if parallel(n, op_cost(op)) {
        let chunk = chunk_len(n);
        let size = bytes.len() / n;
        bytes
            .par_chunks_mut(chunk * size)
            .enumerate()
            .try_for_each(|(c, o)| {
                let len = o.len() / size;
                let mut part = args;
                for (p, s) in part.iter_mut().zip(sizes).take(m) {
                    *p = p.range(c * chunk, len, s);
                }
                run_kernel(op, compute, &part[..m], o)
            })
    } else {
        run_kernel(op, compute, &args[..m], bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t64(shape: &[usize], v: &[f64]) -> Tensor {
        Tensor::from_slice(DType::Float64, shape, v).unwrap()
    }

    #[test]
    fn a_program_of_several_steps_runs_over_blocks() {
        // (x * 2 + 1) on 1500 elements: three blocks, broadcast constants.
        let n = 1500;
        let xs: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let x = t64(&[n], &xs);
        let two = t64(&[1], &[2.0]);
        let one = t64(&[1], &[1.0]);
        let mut b = Builder::new(&[DType::Float64; 3]);
        let m = b
            .apply(ScalarOp::Mul, &[b.input(1), b.input(0)], DType::Float64)
            .unwrap();
        let r = b
            .apply(ScalarOp::Add, &[b.input(2), m], DType::Float64)
            .unwrap();
        let prog = b.finish(r);
        assert_eq!(prog.n_regs, 2);
        let out = run_program(&prog, &[&x, &two, &one]).unwrap();
        let got = out.contiguous_slice::<f64>().unwrap();
        for (i, v) in got.iter().enumerate() {
            assert_eq!(*v, 2.0 * i as f64 + 1.0);
        }
    }

    #[test]
    fn strided_and_broadcast_inputs_are_gathered() {
        // a (3, 4) transposed view plus a (1, 3) row, mixed dtypes.
        let a = t64(&[4, 3], &(0..12).map(|i| i as f64).collect::<Vec<_>>());
        let at = a
            .view(smallvec::smallvec![3, 4], smallvec::smallvec![8, 24], 0)
            .unwrap();
        let col = Tensor::from_slice(DType::Int32, &[3, 1], &[10i32, 20, 30]).unwrap();
        let out = run_elemwise(ScalarOp::Add, &[&at, &col], DType::Float64).unwrap();
        let got = out.contiguous_slice::<f64>().unwrap();
        let mut want = Vec::new();
        for i in 0..3 {
            for j in 0..4 {
                want.push((j * 3 + i) as f64 + [10.0, 20.0, 30.0][i]);
            }
        }
        assert_eq!(got, &want[..]);
    }

    #[test]
    fn a_block_within_a_row_of_a_column_slice_is_read_in_place() {
        // columns 3..7 of a (4, 10) matrix, laid over a (4, 4) output.
        let m = t64(&[4, 10], &(0..40).map(|i| i as f64).collect::<Vec<_>>());
        let slice = m
            .view(smallvec::smallvec![4, 4], smallvec::smallvec![80, 8], 3 * 8)
            .unwrap();
        let InSrc::Strided(s) = in_src(&slice, &[4, 4]) else {
            panic!("a column slice is strided")
        };
        let row_2 = s
            .in_place(&[4, 4], 9, 3)
            .expect("elements 9..12 lie in row 2");
        assert_eq!(bytes_as::<f64>(row_2), &[24.0, 25.0, 26.0]);
        assert!(
            s.in_place(&[4, 4], 6, 4).is_none(),
            "6..10 crosses a row end"
        );
        let mut buf = vec![0u64; 4];
        s.gather(&[4, 4], 6, 4, &mut buf).unwrap();
        assert_eq!(
            bytes_as::<f64>(words_as_bytes(&buf)),
            &[15.0, 16.0, 23.0, 24.0]
        );
    }

    #[test]
    fn registers_are_reused_once_dead() {
        let mut b = Builder::new(&[DType::Float32]);
        let mut v = b.input(0);
        for _ in 0..6 {
            v = b.apply(ScalarOp::Exp, &[v], DType::Float32).unwrap();
        }
        let prog = b.finish(v);
        assert_eq!(prog.steps.len(), 6);
        assert!(prog.n_regs <= 2);
    }
}
