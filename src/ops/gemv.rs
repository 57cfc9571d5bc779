//! Small matrix-vector products (BLAS's `gemv`) in plain loops: a vector
//! result `dst = beta·z + alpha·(M · v)` of a few hundred elements, as a
//! recurrent layer computes at every step of its loop. The `gemm` crate packs
//! its operands for every call, which for a 100×100 product costs more than
//! the product; here the loops read the operands where they lie and are
//! compiled for the widest instruction set the CPU has (`pulp` dispatch).

use num_traits::Float;

use crate::memory::{GemmFloat, MatRef};

use super::elemwise_kernels::arch;

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
pub fn small_gemv<T: GemmFloat + Float>(
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

/// Result elements summed at once in registers (four AVX-512 registers of
/// float32).
const BLOCK: usize = 64;

/// `dst[l] += scale · Σ_p M[l, p] · v[p]`, through `pulp`'s dispatch.
struct Accumulate<'a, T> {
    dst: &'a mut [T],
    rows: Rows<'a, T>,
    scale: T,
}

impl<T: GemmFloat + Float> pulp::WithSimd for Accumulate<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Accumulate {
            dst,
            rows: r,
            scale,
        } = self;
        if r.sl == 1 {
            // Columns of M are contiguous: scaled columns summed (loops
            // without a reduction, which the compiler vectorizes), a block
            // of the result at a time so that its sums stay in registers.
            let mut l0 = 0;
            while l0 < r.len {
                let width = BLOCK.min(r.len - l0);
                let mut acc = [T::ZERO; BLOCK];
                for p in 0..r.inner {
                    let s = r.v[r.v_offset + p * r.sv];
                    let start = r.offset + p * r.sp + l0;
                    let column = &r.data[start..start + width];
                    match <&[T; BLOCK]>::try_from(column) {
                        Ok(full) => {
                            for i in 0..BLOCK {
                                acc[i] = acc[i] + s * full[i];
                            }
                        }
                        Err(_) => {
                            for (a, &x) in acc.iter_mut().zip(column) {
                                *a = *a + s * x;
                            }
                        }
                    }
                }
                for (d, &a) in dst[l0..l0 + width].iter_mut().zip(&acc) {
                    *d = *d + scale * a;
                }
                l0 += width;
            }
        } else if r.sp == 1 && r.sv == 1 {
            // Rows of M and v contiguous: one dot product per row, summed
            // in independent lanes so that the loop vectorizes.
            let v = &r.v[r.v_offset..r.v_offset + r.inner];
            for (l, d) in dst.iter_mut().enumerate() {
                let start = r.offset + l * r.sl;
                *d = *d + scale * lane_dot(&r.data[start..start + r.inner], v);
            }
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

/// `Σ a[p]·b[p]` with 16 independent partial sums.
#[inline(always)]
fn lane_dot<T: GemmFloat + Float>(a: &[T], b: &[T]) -> T {
    const LANES: usize = 16;
    let mut acc = [T::ZERO; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: T = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .fold(T::ZERO, |s, (&x, &y)| s + x * y);
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            acc[i] = acc[i] + x[i] * y[i];
        }
    }
    acc.iter().fold(tail, |s, &x| s + x)
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
        let (len, k) = (37, 23);
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
