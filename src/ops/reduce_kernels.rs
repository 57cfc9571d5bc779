//! The loops of the reductions (Sum, Prod, Mean, Max, Min, All, Any).
//!
//! The input is read in place, in its memory order: its axes are sorted by
//! stride, size-1 axes dropped, and axes that are contiguous with each
//! other (and both kept or both reduced) merged. What is left is a walk
//! over inner rows: when the inner axis is kept, a row is folded
//! elementwise into a run of accumulators (`acc[o..o+n] ⊕= row`); when it
//! is reduced, the row is reduced with many independent accumulators (so
//! the loop vectorizes and the add latency does not bound it) and folded
//! into one. Large reductions are split over threads, either by output
//! rows or into partial accumulators that are merged at the end.
//!
//! [`reduce_ranges`] is the same walk over values that arrive in C order,
//! block by block (the fused reduction of an elementwise expression).

use std::marker::PhantomData;

use rayon::prelude::*;
use smallvec::SmallVec;

use crate::dtype::DType;
use crate::error::Result;
use crate::memory::{Element, Tensor, bytes_as, c_strides, words_as_bytes, words_as_bytes_mut};
use crate::ops::reduce::ReduceKind;
use crate::ops::scalar::cast_tensor;

/// Work (elements read) from which a reduction is split over threads.
pub const PARALLEL_MIN: usize = 1 << 16;
/// Elements of an elementwise expression evaluated per block before
/// reducing them (a scratch buffer that stays in L1/L2).
pub const FUSED_BLOCK: usize = 4096;

/// The element types the kernels read (bool is read as u8).
pub trait Num: Element + PartialOrd {
    const LOWEST: Self;
    const HIGHEST: Self;
    fn f64_of(self) -> f64;
    fn i64_of(self) -> i64;
    fn u64_of(self) -> u64;
    fn nonzero(self) -> bool;
    fn nan(self) -> bool;
}

macro_rules! num_int {
    ($($t:ty),*) => {$(
        impl Num for $t {
            const LOWEST: Self = <$t>::MIN;
            const HIGHEST: Self = <$t>::MAX;
            #[inline(always)]
            fn f64_of(self) -> f64 { self as f64 }
            #[inline(always)]
            fn i64_of(self) -> i64 { self as i64 }
            #[inline(always)]
            fn u64_of(self) -> u64 { self as u64 }
            #[inline(always)]
            fn nonzero(self) -> bool { self != 0 }
            #[inline(always)]
            fn nan(self) -> bool { false }
        }
    )*};
}
num_int!(u8, i8, i16, i32, i64, u16, u32, u64);

macro_rules! num_float {
    ($($t:ty),*) => {$(
        impl Num for $t {
            const LOWEST: Self = <$t>::NEG_INFINITY;
            const HIGHEST: Self = <$t>::INFINITY;
            #[inline(always)]
            fn f64_of(self) -> f64 { self as f64 }
            #[inline(always)]
            fn i64_of(self) -> i64 { self as i64 }
            #[inline(always)]
            fn u64_of(self) -> u64 { self as u64 }
            #[inline(always)]
            fn nonzero(self) -> bool { self != 0.0 }
            #[inline(always)]
            fn nan(self) -> bool { self.is_nan() }
        }
    )*};
}
num_float!(f32, f64);

/// One reduction: its accumulator, the accumulator's neutral value, how a
/// value is folded in and how two accumulators combine.
pub trait Fold: Copy + Send + Sync {
    type In: Num;
    type Acc: Element;
    fn identity(self) -> Self::Acc;
    fn step(self, a: Self::Acc, v: Self::In) -> Self::Acc;
    fn merge(self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
}

macro_rules! fold {
    ($(#[$doc:meta])* $name:ident, $acc:ty, $id:expr,
     |$a:ident, $v:ident| $step:expr, |$x:ident, $y:ident| $merge:expr) => {
        $(#[$doc])*
        pub struct $name<T>(PhantomData<T>);
        impl<T> Clone for $name<T> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<T> Copy for $name<T> {}
        impl<T> Default for $name<T> {
            fn default() -> Self {
                $name(PhantomData)
            }
        }
        impl<T: Num> Fold for $name<T> {
            type In = T;
            type Acc = $acc;
            #[inline(always)]
            fn identity(self) -> $acc {
                $id
            }
            #[inline(always)]
            fn step(self, $a: $acc, $v: T) -> $acc {
                $step
            }
            #[inline(always)]
            fn merge(self, $x: $acc, $y: $acc) -> $acc {
                $merge
            }
        }
    };
}

fold!(
    /// A float sum (or mean) in float64.
    SumF, f64, 0.0, |a, v| a + v.f64_of(), |a, b| a + b
);
fold!(
    /// A signed integer (or bool) sum in int64, wrapping.
    SumI, i64, 0, |a, v| a.wrapping_add(v.i64_of()), |a, b| a.wrapping_add(b)
);
fold!(
    /// An unsigned integer sum in uint64, wrapping.
    SumU, u64, 0, |a, v| a.wrapping_add(v.u64_of()), |a, b| a.wrapping_add(b)
);
fold!(
    /// A float product in float64.
    ProdF, f64, 1.0, |a, v| a * v.f64_of(), |a, b| a * b
);
fold!(
    /// A signed integer (or bool) product in int64, wrapping.
    ProdI, i64, 1, |a, v| a.wrapping_mul(v.i64_of()), |a, b| a.wrapping_mul(b)
);
fold!(
    /// An unsigned integer product in uint64, wrapping.
    ProdU, u64, 1, |a, v| a.wrapping_mul(v.u64_of()), |a, b| a.wrapping_mul(b)
);
fold!(
    /// The maximum; a NaN wins.
    MaxOf, T, T::LOWEST, |a, v| if v.nan() || v > a { v } else { a },
    |a, b| if b.nan() || b > a { b } else { a }
);
fold!(
    /// The minimum; a NaN wins.
    MinOf, T, T::HIGHEST, |a, v| if v.nan() || v < a { v } else { a },
    |a, b| if b.nan() || b < a { b } else { a }
);
fold!(
    /// Logical and of `x != 0` (as 0/1).
    AllOf, u8, 1, |a, v| a & (v.nonzero() as u8), |a, b| a & b
);
fold!(
    /// Logical or of `x != 0` (as 0/1).
    AnyOf, u8, 0, |a, v| a | (v.nonzero() as u8), |a, b| a | b
);

// ---------------------------------------------------------------------------
// the walk
// ---------------------------------------------------------------------------

/// One axis of a walk: its length, and the steps (in elements) it takes in
/// the input and in the accumulators (0 on a reduced axis).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    pub n: usize,
    pub is: isize,
    pub os: isize,
}

/// The input's elements in memory order: `axes` outer first (never empty),
/// starting at element `base_in` of the input and accumulator `base_out`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Walk {
    pub base_in: isize,
    pub base_out: isize,
    pub axes: SmallVec<[Axis; 4]>,
}

impl Walk {
    /// The walk over a tensor of `shape` with element `strides` starting at
    /// element `offset`, reducing the axes marked in `reduced` into a
    /// C-contiguous array over the kept axes.
    pub fn new(shape: &[usize], strides: &[isize], offset: isize, reduced: &[bool]) -> Walk {
        let kept: SmallVec<[usize; 4]> = (0..shape.len())
            .filter(|&d| !reduced[d])
            .map(|d| shape[d])
            .collect();
        let ostr = c_strides(&kept, 1);
        let mut base_in = offset;
        let mut base_out = 0isize;
        let mut axes: SmallVec<[Axis; 4]> = SmallVec::new();
        let mut k = 0;
        for d in 0..shape.len() {
            let os = if reduced[d] {
                0
            } else {
                k += 1;
                ostr[k - 1]
            };
            let n = shape[d];
            if n == 1 {
                continue;
            }
            let (mut is, mut os) = (strides[d], os);
            if is < 0 {
                // Walk it the other way round: same elements, same places.
                base_in += (n as isize - 1) * is;
                base_out += (n as isize - 1) * os;
                is = -is;
                os = -os;
            }
            axes.push(Axis { n, is, os });
        }
        // Memory order: the largest input step outermost (a stable sort, so
        // C-contiguous inputs keep their order).
        axes.sort_by_key(|a| std::cmp::Reverse(a.is));
        let mut merged: SmallVec<[Axis; 4]> = SmallVec::new();
        for ax in axes {
            if let Some(outer) = merged.last_mut()
                && outer.is == ax.n as isize * ax.is
                && outer.os == ax.n as isize * ax.os
            {
                outer.n *= ax.n;
                outer.is = ax.is;
                outer.os = ax.os;
                continue;
            }
            merged.push(ax);
        }
        if merged.is_empty() {
            merged.push(Axis { n: 1, is: 0, os: 0 });
        }
        Walk {
            base_in,
            base_out,
            axes: merged,
        }
    }

    pub fn size(&self) -> usize {
        self.axes.iter().map(|a| a.n).product()
    }

    fn inner(&self) -> Axis {
        self.axes[self.axes.len() - 1]
    }

    /// The walk over rows `[start, start + len)` of its outermost axis.
    fn outer_part(&self, start: usize, len: usize) -> Walk {
        let mut w = self.clone();
        let a0 = w.axes[0];
        w.axes[0].n = len;
        w.base_in += start as isize * a0.is;
        w.base_out += start as isize * a0.os;
        w
    }

    /// Splits a reduction of `total` elements into `out_size` accumulators
    /// across threads: `Rows(per)` when the outermost axis is the output's
    /// outermost kept axis (each thread owns whole output rows, `per` of
    /// them), `Partials(parts)` when the output is small enough for each
    /// thread to fill its own copy, `Serial` otherwise.
    fn split(&self, out_size: usize) -> Split {
        let total = self.size();
        let threads = rayon::current_num_threads();
        if total < PARALLEL_MIN || threads < 2 {
            return Split::Serial;
        }
        let parts = threads.min(total / (PARALLEL_MIN / 2)).max(1);
        let a0 = self.axes[0];
        let split = if a0.os > 0 && a0.os as usize * a0.n == out_size && a0.n >= 2 {
            Split::Rows(a0.n.div_ceil(parts.min(a0.n)))
        } else if out_size.saturating_mul(8) <= total && parts >= 2 {
            Split::Partials(parts)
        } else {
            return Split::Serial;
        };
        crate::workers::going_parallel();
        split
    }
}

enum Split {
    Serial,
    Rows(usize),
    Partials(usize),
}

// ---------------------------------------------------------------------------
// rows
// ---------------------------------------------------------------------------

/// The fold of a contiguous run with `W` independent accumulators (so the
/// loop vectorizes and the add latency does not bound it). The lanes are
/// merged one after the other: a pairwise tree, or indexing them by a
/// run-time value, keeps LLVM from holding them in vector registers.
#[inline(always)]
fn reduce_lanes<F: Fold, const W: usize>(f: F, row: &[F::In]) -> F::Acc {
    let mut lanes = [f.identity(); W];
    let mut chunks = row.chunks_exact(W);
    for c in &mut chunks {
        for k in 0..W {
            lanes[k] = f.step(lanes[k], c[k]);
        }
    }
    let tail = if W > 8 {
        reduce_8(f, chunks.remainder())
    } else {
        chunks
            .remainder()
            .iter()
            .fold(f.identity(), |a, &v| f.step(a, v))
    };
    lanes.iter().fold(tail, |a, &b| f.merge(a, b))
}

/// [`reduce_lanes`] with eight lanes (the tail of a longer run).
#[inline(always)]
fn reduce_8<F: Fold>(f: F, row: &[F::In]) -> F::Acc {
    let mut lanes = [f.identity(); 8];
    let mut chunks = row.chunks_exact(8);
    for c in &mut chunks {
        for k in 0..8 {
            lanes[k] = f.step(lanes[k], c[k]);
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(f.identity(), |a, &v| f.step(a, v));
    lanes.iter().fold(tail, |a, &b| f.merge(a, b))
}

/// The fold of a contiguous run: 32 lanes for long runs, 8 for short ones.
#[inline(always)]
fn reduce_slice<F: Fold>(f: F, row: &[F::In]) -> F::Acc {
    match row.len() {
        0..16 => row.iter().fold(f.identity(), |a, &v| f.step(a, v)),
        16..256 => reduce_8(f, row),
        _ => reduce_lanes::<F, 32>(f, row),
    }
}

/// The fold of `n` elements `data[off + i * is]`, with four accumulators.
#[inline(always)]
fn reduce_strided<F: Fold>(f: F, data: &[F::In], off: isize, n: usize, is: isize) -> F::Acc {
    let mut lanes = [f.identity(); 4];
    let mut p = off;
    let quads = n / 4;
    for _ in 0..quads {
        for lane in lanes.iter_mut() {
            *lane = f.step(*lane, data[p as usize]);
            p += is;
        }
    }
    for lane in lanes.iter_mut().take(n % 4) {
        *lane = f.step(*lane, data[p as usize]);
        p += is;
    }
    f.merge(f.merge(lanes[0], lanes[1]), f.merge(lanes[2], lanes[3]))
}

/// Folds one row (`inner` steps from input element `pin`) into the
/// accumulators from `pout`.
#[inline(always)]
fn fold_row<F: Fold>(
    f: F,
    data: &[F::In],
    pin: isize,
    pout: isize,
    inner: Axis,
    acc: &mut [F::Acc],
) {
    let n = inner.n;
    if inner.os == 0 {
        let r = if inner.is == 1 {
            let row = &data[pin as usize..pin as usize + n];
            if n >= 64 {
                arch().dispatch(RowJob { f, row })
            } else {
                reduce_slice(f, row)
            }
        } else {
            reduce_strided(f, data, pin, n, inner.is)
        };
        let a = &mut acc[pout as usize];
        *a = f.merge(*a, r);
    } else if inner.is == 1 && inner.os == 1 {
        let (o, i) = (pout as usize, pin as usize);
        let (acc, row) = (&mut acc[o..o + n], &data[i..i + n]);
        if n >= 64 {
            arch().dispatch(KeptJob { f, row, acc });
        } else {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a = f.step(*a, v);
            }
        }
    } else {
        let (mut i, mut o) = (pin, pout);
        for _ in 0..n {
            let a = &mut acc[o as usize];
            *a = f.step(*a, data[i as usize]);
            i += inner.is;
            o += inner.os;
        }
    }
}

/// Folds every element of `walk` over `data` (a storage's elements) into `acc`.
#[inline(always)]
fn run_walk<F: Fold>(f: F, data: &[F::In], walk: &Walk, acc: &mut [F::Acc]) {
    let nd = walk.axes.len();
    let (outer, inner) = (&walk.axes[..nd - 1], walk.inner());
    let rows: usize = outer.iter().map(|a| a.n).product();
    let mut idx: SmallVec<[usize; 4]> = SmallVec::from_elem(0, outer.len());
    let (mut pin, mut pout) = (walk.base_in, walk.base_out);
    for _ in 0..rows {
        fold_row(f, data, pin, pout, inner, acc);
        let mut d = outer.len();
        while d > 0 {
            d -= 1;
            idx[d] += 1;
            pin += outer[d].is;
            pout += outer[d].os;
            if idx[d] < outer[d].n {
                break;
            }
            pin -= outer[d].n as isize * outer[d].is;
            pout -= outer[d].n as isize * outer[d].os;
            idx[d] = 0;
        }
    }
}

/// Folds `vals`, the elements at C-order positions `[pos, pos + len)` of
/// `walk` (a walk over a C-contiguous layout, so its inner step is 1),
/// into `acc`.
#[inline(always)]
fn fold_c_range<F: Fold>(f: F, walk: &Walk, pos: usize, vals: &[F::In], acc: &mut [F::Acc]) {
    let nd = walk.axes.len();
    let (outer, inner) = (&walk.axes[..nd - 1], walk.inner());
    let n_in = inner.n;
    let end = pos + vals.len();
    let mut p = pos;
    while p < end {
        let (row, col) = (p / n_in, p % n_in);
        let len = (n_in - col).min(end - p);
        let mut o = walk.base_out;
        let mut r = row;
        for ax in outer.iter().rev() {
            o += (r % ax.n) as isize * ax.os;
            r /= ax.n;
        }
        let seg = &vals[p - pos..p - pos + len];
        let part = Axis {
            n: len,
            is: 1,
            os: inner.os,
        };
        fold_row(f, seg, 0, o + col as isize * inner.os, part, acc);
        p += len;
    }
}

/// The instruction sets of this CPU, detected once.
fn arch() -> pulp::Arch {
    static ARCH: std::sync::OnceLock<pulp::Arch> = std::sync::OnceLock::new();
    *ARCH.get_or_init(pulp::Arch::new)
}

/// [`reduce_slice`] compiled for the widest instruction set the CPU has.
/// Each row is its own call: inlined into a larger loop nest, LLVM no longer
/// keeps the lanes in vector registers.
struct RowJob<'a, F: Fold> {
    f: F,
    row: &'a [F::In],
}

impl<F: Fold> pulp::WithSimd for RowJob<'_, F> {
    type Output = F::Acc;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> F::Acc {
        reduce_slice(self.f, self.row)
    }
}

/// `acc[i] ⊕= row[i]`, compiled for the widest instruction set the CPU has.
struct KeptJob<'a, F: Fold> {
    f: F,
    row: &'a [F::In],
    acc: &'a mut [F::Acc],
}

impl<F: Fold> pulp::WithSimd for KeptJob<'_, F> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let f = self.f;
        for (a, &v) in self.acc.iter_mut().zip(self.row) {
            *a = f.step(*a, v);
        }
    }
}

/// The blocks each thread's share of a reduction into partial accumulators
/// is cut into, when a block's partial costs little beside its work: a
/// block folds into accumulators of its own, merged in block order, so
/// more blocks let a core slowed by another process hand over more of its
/// share, and cost one merge of `out_size` accumulators each.
const PARTIAL_BLOCKS_PER_THREAD: usize = 4;

/// The items per block of a thread's `per` items (`unit` items a step, each
/// item `item_size` elements): [`PARTIAL_BLOCKS_PER_THREAD`] blocks while a
/// block folds at least 64 elements per accumulator it merges, else one.
fn partial_grain(per: usize, unit: usize, out_size: usize, item_size: usize) -> usize {
    let grain = per.div_ceil(PARTIAL_BLOCKS_PER_THREAD).div_ceil(unit) * unit;
    if grain * item_size >= 64 * out_size {
        grain
    } else {
        per
    }
}

/// Folds items `0..len` into partial accumulators over the pool
/// ([`crate::work_split::combine_in_block_order`], one range of `per`
/// items per thread, blocks of `grain`): `fold(items, part)` folds a block
/// into `out_size` accumulators of its own. Returns each range's total, its
/// blocks' partials merged in block order, in range order: the same values
/// whichever thread ran which block.
fn fold_blocks<F, B>(
    f: F,
    len: usize,
    per: usize,
    grain: usize,
    out_size: usize,
    fold: B,
) -> Result<Vec<Vec<F::Acc>>>
where
    F: Fold,
    B: Fn(std::ops::Range<usize>, &mut [F::Acc]) -> Result<()> + Sync,
{
    let first = |items: std::ops::Range<usize>| -> Result<Vec<F::Acc>> {
        let mut part = vec![f.identity(); out_size];
        fold(items, &mut part)?;
        Ok(part)
    };
    let combine =
        |total: &mut Result<Vec<F::Acc>>, part: Result<Vec<F::Acc>>| match (total.as_mut(), part) {
            (Ok(total), Ok(part)) => merge_into(f, total, part),
            (Ok(_), Err(e)) => *total = Err(e),
            (Err(_), _) => {}
        };
    let then = |total: &mut Result<Vec<F::Acc>>, items| {
        if total.is_ok() {
            combine(total, first(items));
        }
    };
    crate::work_split::combine_in_block_order(len, per, grain, first, then, combine)
        .into_iter()
        .collect()
}

/// `acc[i] = acc[i] ⊕ part[i]`.
fn merge_into<F: Fold>(f: F, acc: &mut [F::Acc], part: Vec<F::Acc>) {
    for (a, b) in acc.iter_mut().zip(part) {
        *a = f.merge(*a, b);
    }
}

/// Merges the ranges' totals into `acc` in range order.
fn merge_parts<F: Fold>(f: F, acc: &mut [F::Acc], parts: Vec<Vec<F::Acc>>) {
    for part in parts {
        merge_into(f, acc, part);
    }
}

/// The accumulators of `walk` over `data`, `out_size` of them.
pub fn fold_walk<F: Fold>(f: F, data: &[F::In], walk: &Walk, out_size: usize) -> Vec<F::Acc> {
    let mut acc = vec![f.identity(); out_size];
    let run = |w: &Walk, acc: &mut [F::Acc]| run_walk(f, data, w, acc);
    match walk.split(out_size) {
        Split::Serial => run(walk, &mut acc),
        Split::Rows(per) => {
            let a0 = walk.axes[0];
            acc.par_chunks_mut(per * a0.os as usize)
                .enumerate()
                .for_each(|(c, part)| {
                    let start = c * per;
                    let mut w = walk.outer_part(start, per.min(a0.n - start));
                    // The part's accumulators start at its first row.
                    w.base_out -= start as isize * a0.os;
                    run(&w, part);
                });
        }
        Split::Partials(parts) => {
            let a0 = walk.axes[0];
            let per = a0.n.div_ceil(parts);
            let grain = partial_grain(per, 1, out_size, walk.size() / a0.n);
            let parts = fold_blocks(
                f,
                a0.n,
                per,
                grain,
                out_size,
                |rows: std::ops::Range<usize>, part: &mut [F::Acc]| {
                    run(&walk.outer_part(rows.start, rows.len()), part);
                    Ok(())
                },
            );
            // The fold of a walk cannot fail.
            merge_parts(f, &mut acc, parts.unwrap_or_default());
        }
    }
    acc
}

/// The accumulators of a reduction over a C-contiguous layout whose values
/// `eval(start, bytes)` computes for C-order positions `[start, start + n)`
/// (as `In`'s bytes), block by block into a small scratch buffer.
pub fn fold_ranges<F: Fold>(
    f: F,
    walk: &Walk,
    out_size: usize,
    eval: &(dyn Fn(usize, &mut [u8]) -> Result<()> + Sync),
) -> Result<Vec<F::Acc>> {
    let total = walk.size();
    let size = std::mem::size_of::<F::In>();
    let mut acc = vec![f.identity(); out_size];
    // Values `[start, end)` of the layout, folded with `w` (positions relative
    // to `base`) into `acc`.
    let run = |w: &Walk, base: usize, start: usize, end: usize, acc: &mut [F::Acc]| -> Result<()> {
        let mut buf = vec![0u64; (FUSED_BLOCK * size).div_ceil(8)];
        let mut p = start;
        while p < end {
            let len = FUSED_BLOCK.min(end - p);
            let bytes = &mut words_as_bytes_mut(&mut buf)[..len * size];
            eval(p, bytes)?;
            let vals = &bytes_as::<F::In>(words_as_bytes(&buf))[..len];
            fold_c_range(f, w, p - base, vals, acc);
            p += len;
        }
        Ok(())
    };
    match walk.split(out_size) {
        Split::Serial => run(walk, 0, 0, total, &mut acc)?,
        Split::Rows(per) => {
            let a0 = walk.axes[0];
            let row_len = total / a0.n;
            acc.par_chunks_mut(per * a0.os as usize)
                .enumerate()
                .try_for_each(|(c, part)| {
                    let start = c * per;
                    let rows = per.min(a0.n - start);
                    let mut w = walk.outer_part(start, rows);
                    w.base_out -= start as isize * a0.os;
                    let from = start * row_len;
                    run(&w, from, from, from + rows * row_len, part)
                })?;
        }
        Split::Partials(parts) => {
            let per = total.div_ceil(parts).div_ceil(FUSED_BLOCK) * FUSED_BLOCK;
            let grain = partial_grain(per, FUSED_BLOCK, out_size, 1);
            let parts = fold_blocks(
                f,
                total,
                per,
                grain,
                out_size,
                |items: std::ops::Range<usize>, part: &mut [F::Acc]| {
                    run(walk, 0, items.start, items.end, part)
                },
            )?;
            merge_parts(f, &mut acc, parts);
        }
    }
    Ok(acc)
}

// ---------------------------------------------------------------------------
// entry points
// ---------------------------------------------------------------------------

/// Runs `$body` with `$T` the element type the kernels read for `$dtype`
/// (bool as u8); float16 and complex are refused by [`supported`] first.
macro_rules! with_num {
    ($dtype:expr, $T:ident => $body:expr) => {
        $crate::with_real_dtype!($dtype, $T => $body, _ => return Ok(None))
    };
}

/// Where a reduction's values come from.
pub enum Source<'a> {
    /// A tensor, read in place (its storage must be aligned for its dtype).
    Tensor(&'a Tensor),
    /// A C-contiguous layout of this shape, computed block by block.
    Ranges {
        shape: &'a [usize],
        eval: &'a (dyn Fn(usize, &mut [u8]) -> Result<()> + Sync),
    },
}

/// Whether the kernels read `dtype` (all but float16 and complex).
pub fn supported(dtype: DType) -> bool {
    !matches!(dtype, DType::Float16 | DType::Complex64 | DType::Complex128)
}

/// Accumulators as a tensor of `out_dtype`.
fn finish<A: Element>(
    acc: Vec<A>,
    acc_dtype: DType,
    shape: &[usize],
    out: DType,
) -> Result<Tensor> {
    let t = Tensor::from_slice(acc_dtype, shape, &acc)?;
    cast_tensor(&t, out)
}

/// The reduction `kind` of `src` (elements of `dtype`) over the axes marked
/// in `reduced`: a tensor of `out_shape` and `out_dtype` (Theano's), or
/// `None` when the kernels do not read `dtype`. The caller checks that Max
/// and Min have something to reduce.
pub fn reduce(
    kind: ReduceKind,
    src: Source<'_>,
    dtype: DType,
    reduced: &[bool],
    out_shape: &[usize],
    out_dtype: DType,
) -> Result<Option<Tensor>> {
    if !supported(dtype) {
        return Ok(None);
    }
    let out_size: usize = out_shape.iter().product();
    let count: usize = match &src {
        Source::Tensor(t) => reduced_count(&t.shape, reduced),
        Source::Ranges { shape, .. } => reduced_count(shape, reduced),
    };
    macro_rules! go {
        ($f:expr, $acc:expr) => {{
            let acc = accumulate($f, &src, reduced, out_size)?;
            finish(acc, $acc, out_shape, out_dtype)?
        }};
    }
    let out = with_num!(dtype, T => {
        let float = dtype.is_float();
        let signed = dtype.is_signed_int() || dtype == DType::Bool;
        match kind {
            ReduceKind::Sum if float => go!(SumF::<T>::default(), DType::Float64),
            ReduceKind::Sum if signed => go!(SumI::<T>::default(), DType::Int64),
            ReduceKind::Sum => go!(SumU::<T>::default(), DType::UInt64),
            ReduceKind::Prod if float => go!(ProdF::<T>::default(), DType::Float64),
            ReduceKind::Prod if signed => go!(ProdI::<T>::default(), DType::Int64),
            ReduceKind::Prod => go!(ProdU::<T>::default(), DType::UInt64),
            ReduceKind::Mean => {
                let mut acc = accumulate(SumF::<T>::default(), &src, reduced, out_size)?;
                let n = count as f64;
                for a in acc.iter_mut() {
                    *a /= n;
                }
                finish(acc, DType::Float64, out_shape, out_dtype)?
            }
            ReduceKind::Max => go!(MaxOf::<T>::default(), dtype),
            ReduceKind::Min => go!(MinOf::<T>::default(), dtype),
            ReduceKind::All => go!(AllOf::<T>::default(), DType::Bool),
            ReduceKind::Any => go!(AnyOf::<T>::default(), DType::Bool),
        }
    });
    Ok(Some(out))
}

fn reduced_count(shape: &[usize], reduced: &[bool]) -> usize {
    shape
        .iter()
        .zip(reduced)
        .filter(|(_, r)| **r)
        .map(|(n, _)| *n)
        .product()
}

/// The accumulators of `f` over `src`.
fn accumulate<F: Fold>(
    f: F,
    src: &Source<'_>,
    reduced: &[bool],
    out_size: usize,
) -> Result<Vec<F::Acc>> {
    match src {
        Source::Tensor(t) => {
            if t.size() == 0 {
                return Ok(vec![f.identity(); out_size]);
            }
            let (data, strides, offset) = t.elements::<F::In>()?;
            let walk = Walk::new(&t.shape, &strides, offset as isize, reduced);
            Ok(fold_walk(f, data, &walk, out_size))
        }
        Source::Ranges { shape, eval } => {
            if shape.contains(&0) {
                return Ok(vec![f.identity(); out_size]);
            }
            let strides = c_strides(shape, 1);
            let walk = Walk::new(shape, &strides, 0, reduced);
            fold_ranges(f, &walk, out_size, *eval)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::for_each_offset;

    /// The reduction done one element at a time in C order.
    fn naive(x: &Tensor, reduced: &[bool], f: impl Fold<In = f64, Acc = f64>) -> Vec<f64> {
        let kept: Vec<usize> = (0..x.ndim())
            .filter(|&d| !reduced[d])
            .map(|d| x.shape[d])
            .collect();
        let ostr = c_strides(&kept, 1);
        let mut map = vec![0isize; x.ndim()];
        let mut k = 0;
        for d in 0..x.ndim() {
            if !reduced[d] {
                map[d] = ostr[k];
                k += 1;
            }
        }
        let mut acc = vec![f.identity(); kept.iter().product()];
        let (data, strides, offset) = x.elements::<f64>().unwrap();
        let mut offsets = Vec::new();
        for_each_offset(&x.shape, &strides, offset as isize, |o| offsets.push(o));
        let mut i = 0;
        for_each_offset(&x.shape, &map, 0, |o| {
            let a = &mut acc[o as usize];
            *a = f.step(*a, data[offsets[i] as usize]);
            i += 1;
        });
        acc
    }

    fn check(x: &Tensor, reduced: &[bool]) {
        let (data, strides, offset) = x.elements::<f64>().unwrap();
        let walk = Walk::new(&x.shape, &strides, offset as isize, reduced);
        let out_size: usize = (0..x.ndim())
            .filter(|&d| !reduced[d])
            .map(|d| x.shape[d])
            .product();
        let got = fold_walk(SumF::<f64>::default(), data, &walk, out_size);
        let want = naive(x, reduced, SumF::<f64>::default());
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                "{walk:?}: {g} vs {w}"
            );
        }
        let got = fold_walk(MaxOf::<f64>::default(), data, &walk, out_size);
        assert_eq!(got, naive(x, reduced, MaxOf::<f64>::default()), "{walk:?}");
    }

    fn all_masks(nd: usize) -> Vec<Vec<bool>> {
        (0..1usize << nd)
            .map(|m| (0..nd).map(|d| m >> d & 1 == 1).collect())
            .collect()
    }

    #[test]
    fn walks_over_transposed_sliced_and_reversed_views_match_an_element_by_element_sum() {
        for shape in [vec![7usize, 5, 3], vec![64, 1, 1100], vec![300, 260]] {
            let n: usize = shape.iter().product();
            let vals: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1013) as f64 - 500.0).collect();
            let x = Tensor::from_slice(DType::Float64, &shape, &vals).unwrap();
            let nd = shape.len();
            // C order, all axes reversed, transposed, every other element of the last axis.
            let rev_strides: crate::memory::Strides = x.strides.iter().map(|&s| -s).collect();
            let last_offset: usize = shape
                .iter()
                .zip(&x.strides)
                .map(|(&n, &s)| (n - 1) * s as usize)
                .sum();
            let reversed = x.view(x.shape.clone(), rev_strides, last_offset).unwrap();
            let transposed = x
                .view(
                    x.shape.iter().rev().copied().collect(),
                    x.strides.iter().rev().copied().collect(),
                    0,
                )
                .unwrap();
            let mut half_shape = x.shape.clone();
            half_shape[nd - 1] = shape[nd - 1].div_ceil(2);
            let mut half_strides = x.strides.clone();
            half_strides[nd - 1] *= 2;
            let sliced = x.view(half_shape, half_strides, 0).unwrap();
            for t in [&x, &reversed, &transposed, &sliced] {
                for mask in all_masks(nd) {
                    check(t, &mask);
                }
            }
        }
    }

    #[test]
    fn a_sum_into_partials_gives_the_same_bits_whichever_thread_folds_which_block() {
        // A float sum whose rounding depends on the grouping: on two threads
        // (either may take blocks from the other's range) and on one, which
        // folds the first range and then every block of the second from its
        // back, the ranges' totals are the same bits.
        let vals: Vec<f64> = (0..400_000)
            .map(|i| ((i as f64) * 0.37).sin() * 1e3 + 1e-7 * i as f64)
            .collect();
        let f = SumF::<f64>::default();
        let fold = |items: std::ops::Range<usize>, part: &mut [f64]| {
            for &v in &vals[items] {
                part[0] = f.step(part[0], v);
            }
            Ok(())
        };
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| fold_blocks(f, vals.len(), 200_000, 50_000, 1, fold).unwrap())
        };
        let one = run(1);
        assert_eq!(one.len(), 2);
        for _ in 0..20 {
            let two = run(2);
            let bits = |p: &[Vec<f64>]| p.iter().map(|t| t[0].to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&two),
                bits(&one),
                "the sum depends on which thread folded which block"
            );
        }
        let total: f64 = one.iter().map(|t| t[0]).sum();
        let want: f64 = vals.iter().sum();
        assert!((total - want).abs() < 1e-9 * want.abs().max(1.0));
    }

    #[test]
    fn contiguous_axes_merge_into_one_row() {
        let strides = c_strides(&[4, 5, 6], 1);
        let w = Walk::new(&[4, 5, 6], &strides, 0, &[false, true, true]);
        assert_eq!(
            &w.axes[..],
            &[
                Axis {
                    n: 4,
                    is: 30,
                    os: 1
                },
                Axis {
                    n: 30,
                    is: 1,
                    os: 0
                }
            ]
        );
        let w = Walk::new(&[4, 5, 6], &strides, 0, &[true, true, true]);
        assert_eq!(
            &w.axes[..],
            &[Axis {
                n: 120,
                is: 1,
                os: 0
            }]
        );
    }

    #[test]
    fn max_and_min_let_a_nan_win_and_sums_accumulate_in_float64() {
        let mut v: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        v[517] = f32::NAN;
        let got = reduce_slice(MaxOf::<f32>::default(), &v);
        assert!(got.is_nan());
        assert!(reduce_slice(MinOf::<f32>::default(), &v).is_nan());
        let big = vec![16_777_216f32, 1.0, 1.0, 1.0];
        assert_eq!(reduce_slice(SumF::<f32>::default(), &big), 16_777_219.0);
    }
}
