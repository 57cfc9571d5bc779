//! Small matrix-vector products (BLAS's `gemv`) in plain loops: a vector
//! result `dst = beta·z + alpha·(M · v)` of a few hundred elements, as a
//! recurrent layer computes at every step of its loop. The `gemm` crate packs
//! its operands for every call, which for a 100×100 product costs more than
//! the product; here the loops read the operands where they lie and are
//! compiled for the widest instruction set the CPU has (`pulp` dispatch).

use pulp::Simd;

use crate::memory::MatRef;

use super::elemwise_kernels::arch;
use super::simd::SimdFloat;

/// A matrix seen as `len` rows of `inner` elements: element `(l, p)` at
/// `data[offset + l·sl + p·sp]`; the vector's element `p` at
/// `v[v_offset + p·sv]`.
#[derive(Clone, Copy)]
struct Rows<'a, T> {
    data: &'a [T],
    offset: usize,
    len: usize,
    inner: usize,
    sl: usize,
    sp: usize,
    v: &'a [T],
    v_offset: usize,
    sv: usize,
}

/// `dst = dst_scale·(addend or dst) + scale·(lhs · rhs)` when the product is
/// a vector (`lhs` one row, or `rhs` one column) and `dst` is contiguous;
/// `false`, with nothing written, for any other shape. The caller has
/// checked that every view lies inside its slice and that `dst` holds the
/// result.
pub(crate) fn small_gemv<T: SimdFloat>(
    dst: &mut [T],
    addend: Option<MatRef<'_, T>>,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    dst_scale: Option<T>,
    scale: T,
) -> bool {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    let rows = if n == 1 {
        // dst[i] = Σ_p lhs[i, p] · rhs[p, 0]
        Rows {
            data: lhs.data,
            offset: lhs.offset,
            len: m,
            inner: k,
            sl: lhs.rs,
            sp: lhs.cs,
            v: rhs.data,
            v_offset: rhs.offset,
            sv: rhs.rs,
        }
    } else if m == 1 {
        // dst[j] = Σ_p lhs[0, p] · rhs[p, j]
        Rows {
            data: rhs.data,
            offset: rhs.offset,
            len: n,
            inner: k,
            sl: rhs.cs,
            sp: rhs.rs,
            v: lhs.data,
            v_offset: lhs.offset,
            sv: lhs.cs,
        }
    } else {
        return false;
    };
    if dst.len() < rows.len {
        return false;
    }
    let dst = &mut dst[..rows.len];
    // The starting values: beta·z, beta·dst, or zero.
    match (dst_scale, addend) {
        (None, _) => dst.fill(T::ZERO),
        (Some(beta), Some(z)) => {
            let (zs, zo) = if n == 1 {
                (z.rs, z.offset)
            } else {
                (z.cs, z.offset)
            };
            for (l, d) in dst.iter_mut().enumerate() {
                *d = beta * z.data[zo + l * zs];
            }
        }
        (Some(beta), None) => {
            if beta != T::ONE {
                dst.iter_mut().for_each(|d| *d = beta * *d);
            }
        }
    }
    arch().dispatch(Accumulate { dst, rows, scale });
    true
}

/// Result registers summed at once in the column form: eight independent
/// chains of multiply-adds, enough to hide their latency, and few enough
/// to stay in registers with AVX2's sixteen.
const BLOCK_REGS: usize = 8;

/// Rows of `M` summed at once in the row form (each read against the same
/// registers of `v`).
const ROW_BLOCK: usize = 8;

/// `dst[l] += scale · Σ_p M[l, p] · v[p]`, through `pulp`'s dispatch.
struct Accumulate<'a, T> {
    dst: &'a mut [T],
    rows: Rows<'a, T>,
    scale: T,
}

impl<T: SimdFloat> pulp::WithSimd for Accumulate<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Accumulate {
            dst,
            rows: r,
            scale,
        } = self;
        if r.sl == 1 {
            columns(simd, dst, &r, scale);
        } else if r.sp == 1 && r.sv == 1 {
            dot_rows(simd, dst, &r, scale);
        } else {
            for (l, d) in dst.iter_mut().enumerate() {
                let mut acc = T::ZERO;
                for p in 0..r.inner {
                    acc = acc + r.data[r.offset + l * r.sl + p * r.sp] * r.v[r.v_offset + p * r.sv];
                }
                *d = *d + scale * acc;
            }
        }
    }
}

/// Columns of `M` contiguous (`M[l, p]` and `M[l + 1, p]` side by side):
/// `v[p]` times column `p`, summed over `p`, a block of the result at a
/// time so that its sums stay in registers.
#[inline(always)]
fn columns<S: Simd, T: SimdFloat>(simd: S, dst: &mut [T], r: &Rows<'_, T>, scale: T) {
    let lanes = T::lanes::<S>();
    let block = BLOCK_REGS * lanes;
    let mut l0 = 0;
    while r.len - l0 >= block {
        column_block::<S, T, BLOCK_REGS, true>(simd, dst, r, l0, block, scale);
        l0 += block;
    }
    let rest = r.len - l0;
    // (direct calls: a function pointer would lose the dispatch's target features)
    match rest.div_ceil(lanes) {
        0 => {}
        1 => column_block::<S, T, 1, false>(simd, dst, r, l0, rest, scale),
        2 => column_block::<S, T, 2, false>(simd, dst, r, l0, rest, scale),
        3 => column_block::<S, T, 3, false>(simd, dst, r, l0, rest, scale),
        4 => column_block::<S, T, 4, false>(simd, dst, r, l0, rest, scale),
        5 => column_block::<S, T, 5, false>(simd, dst, r, l0, rest, scale),
        6 => column_block::<S, T, 6, false>(simd, dst, r, l0, rest, scale),
        _ => column_block::<S, T, 7, false>(simd, dst, r, l0, rest, scale),
    }
}

/// One block of `width` results (`NV` registers, the last one partial
/// unless `FULL`) starting at `l0`.
#[inline(always)]
fn column_block<S: Simd, T: SimdFloat, const NV: usize, const FULL: bool>(
    simd: S,
    dst: &mut [T],
    r: &Rows<'_, T>,
    l0: usize,
    width: usize,
    scale: T,
) {
    let lanes = T::lanes::<S>();
    let zero = T::splat(simd, T::ZERO);
    // Up to four registers, a second set of sums for odd `p` keeps enough
    // chains going.
    let (mut even, mut odd) = ([zero; NV], [zero; NV]);
    let mut p = 0;
    if NV <= 4 {
        while p + 2 <= r.inner {
            column_step::<S, T, NV, FULL>(simd, &mut even, r, p, l0, width);
            column_step::<S, T, NV, FULL>(simd, &mut odd, r, p + 1, l0, width);
            p += 2;
        }
    }
    while p < r.inner {
        column_step::<S, T, NV, FULL>(simd, &mut even, r, p, l0, width);
        p += 1;
    }
    let scale = T::splat(simd, scale);
    let out = &mut dst[l0..l0 + width];
    for j in 0..NV {
        let part = &mut out[j * lanes..(j * lanes + lanes).min(width)];
        let sum = T::vadd(simd, even[j], odd[j]);
        let d = T::fma(simd, scale, sum, T::load_part(simd, part));
        T::store_part(simd, part, d);
    }
}

/// `acc += v[p] · M[l0.., p]` over `width` results. (A function, not a
/// closure: a closure is compiled without the dispatch's target features,
/// and every vector operation in it would become a call.)
#[inline(always)]
fn column_step<S: Simd, T: SimdFloat, const NV: usize, const FULL: bool>(
    simd: S,
    acc: &mut [T::V<S>; NV],
    r: &Rows<'_, T>,
    p: usize,
    l0: usize,
    width: usize,
) {
    let lanes = T::lanes::<S>();
    let s = T::splat(simd, r.v[r.v_offset + p * r.sv]);
    let start = r.offset + p * r.sp + l0;
    let column = &r.data[start..start + width];
    for (j, a) in acc.iter_mut().enumerate() {
        let x = if FULL || j + 1 < NV {
            T::load::<S>(&column[j * lanes..])
        } else {
            T::load_part(simd, &column[j * lanes..])
        };
        *a = T::fma(simd, s, x, *a);
    }
}

/// Rows of `M` and `v` contiguous: one dot product per row, `ROW_BLOCK`
/// rows at a time against the same registers of `v`.
#[inline(always)]
fn dot_rows<S: Simd, T: SimdFloat>(simd: S, dst: &mut [T], r: &Rows<'_, T>, scale: T) {
    let v = &r.v[r.v_offset..r.v_offset + r.inner];
    let mut l = 0;
    while r.len - l >= ROW_BLOCK {
        dot_block::<S, T, ROW_BLOCK>(simd, &mut dst[l..l + ROW_BLOCK], r, l, v, scale);
        l += ROW_BLOCK;
    }
    match r.len - l {
        0 => {}
        1 => dot_block::<S, T, 1>(simd, &mut dst[l..l + 1], r, l, v, scale),
        2 => dot_block::<S, T, 2>(simd, &mut dst[l..l + 2], r, l, v, scale),
        3 => dot_block::<S, T, 3>(simd, &mut dst[l..l + 3], r, l, v, scale),
        4 => dot_block::<S, T, 4>(simd, &mut dst[l..l + 4], r, l, v, scale),
        5 => dot_block::<S, T, 5>(simd, &mut dst[l..l + 5], r, l, v, scale),
        6 => dot_block::<S, T, 6>(simd, &mut dst[l..l + 6], r, l, v, scale),
        _ => dot_block::<S, T, 7>(simd, &mut dst[l..l + 7], r, l, v, scale),
    }
}

/// `dst[i] += scale · M[l0 + i, :] · v` for `i < R`.
#[inline(always)]
fn dot_block<S: Simd, T: SimdFloat, const R: usize>(
    simd: S,
    dst: &mut [T],
    r: &Rows<'_, T>,
    l0: usize,
    v: &[T],
    scale: T,
) {
    let lanes = T::lanes::<S>();
    let n = r.inner;
    let rows: [&[T]; R] = std::array::from_fn(|i| {
        let start = r.offset + (l0 + i) * r.sl;
        &r.data[start..start + n]
    });
    let mut acc = [T::splat(simd, T::ZERO); R];
    let mut p = 0;
    while p + lanes <= n {
        let x = T::load::<S>(&v[p..]);
        for (a, row) in acc.iter_mut().zip(&rows) {
            *a = T::fma(simd, T::load::<S>(&row[p..]), x, *a);
        }
        p += lanes;
    }
    if p < n {
        let x = T::load_part(simd, &v[p..]);
        for (a, row) in acc.iter_mut().zip(&rows) {
            *a = T::fma(simd, T::load_part(simd, &row[p..]), x, *a);
        }
    }
    for (d, a) in dst.iter_mut().zip(acc) {
        *d = *d + scale * T::hsum(simd, a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `0.5·z − 2·(lhs·rhs)` computed naively.
    fn naive(z: &[f64], lhs: MatRef<'_, f64>, rhs: MatRef<'_, f64>) -> Vec<f64> {
        let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
        let at = |x: &MatRef<'_, f64>, i: usize, j: usize| x.data[x.offset + i * x.rs + j * x.cs];
        (0..m * n)
            .map(|q| {
                let (i, j) = (q / n, q % n);
                let dot: f64 = (0..k).map(|p| at(&lhs, i, p) * at(&rhs, p, j)).sum();
                0.5 * z[q] - 2.0 * dot
            })
            .collect()
    }

    #[test]
    fn small_gemv_matches_a_naive_product_for_rows_columns_and_strides() {
        // Lengths around the register blocks: whole blocks, partial last
        // registers, one element, and more than one block.
        for (len, k) in [
            (37, 23),
            (1, 5),
            (8, 3),
            (16, 2),
            (100, 100),
            (129, 17),
            (300, 9),
        ] {
            check_sizes(len, k);
        }
    }

    fn check_sizes(len: usize, k: usize) {
        let mat: Vec<f64> = (0..len * k).map(|i| ((i * 7) % 13) as f64 - 6.0).collect();
        let vec: Vec<f64> = (0..2 * k).map(|i| ((i * 5) % 11) as f64 - 5.0).collect();
        let z: Vec<f64> = (0..len).map(|i| (i % 17) as f64).collect();
        let zcol = MatRef::row_major(&z[..], len, 1);
        let zrow = MatRef::row_major(&z[..], 1, len);
        // M row-major (len×k) and its transpose stored (k×len).
        let m_rows = MatRef::row_major(&mat[..], len, k);
        let m_cols = MatRef::row_major(&mat[..], k, len).t();
        // v contiguous (k) and every other element (stride 2).
        let v_col = MatRef::row_major(&vec[..k], k, 1);
        let v_strided = MatRef {
            data: &vec[..],
            offset: 1,
            rows: k,
            cols: 1,
            rs: 2,
            cs: 1,
        };
        for m in [m_rows, m_cols] {
            for v in [v_col, v_strided] {
                // A column result: M · v.
                let mut dst = vec![f64::NAN; len];
                assert!(small_gemv(&mut dst, Some(zcol), m, v, Some(0.5), -2.0));
                assert_eq!(dst, naive(&z, m, v));
                // A row result: vᵀ · Mᵀ.
                let mut dst = vec![f64::NAN; len];
                assert!(small_gemv(
                    &mut dst,
                    Some(zrow),
                    v.t(),
                    m.t(),
                    Some(0.5),
                    -2.0
                ));
                assert_eq!(dst, naive(&z, v.t(), m.t()));
            }
        }
        // Without an addend the old values are scaled; without a scale they are not read.
        let mut dst = z.clone();
        assert!(small_gemv(&mut dst, None, m_rows, v_col, Some(0.5), -2.0));
        assert_eq!(dst, naive(&z, m_rows, v_col));
        let mut dst = vec![f64::NAN; len];
        assert!(small_gemv(&mut dst, None, m_rows, v_col, None, -2.0));
        assert_eq!(dst, naive(&vec![0.0; len], m_rows, v_col));
        // A matrix result is not a gemv.
        let two = MatRef::row_major(&vec[..2 * k], k, 2);
        assert!(!small_gemv(&mut dst, None, m_rows, two, None, 1.0));
    }
}
