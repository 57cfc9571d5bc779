//! The SIMD register of a float dtype, for kernels written with explicit
//! vector operations: `pulp`'s `f32s` / `f64s` of the instruction set the
//! dispatch chose (16 or 8 lanes with AVX-512, 8 or 4 with AVX2, 1 on the
//! scalar fallback). Kernels generic over `float32` and `float64` use these
//! instead of loops the compiler may or may not keep in registers, so that
//! their accumulators stay in registers and multiply-adds are fused.

use num_traits::Float;
use pulp::Simd;

use crate::memory::GemmFloat;

/// A float type with its SIMD register under the instruction set `S`.
pub(crate) trait SimdFloat: GemmFloat + Float {
    type V<S: Simd>: Copy;

    /// Elements in one register.
    fn lanes<S: Simd>() -> usize;
    fn splat<S: Simd>(simd: S, x: Self) -> Self::V<S>;
    /// The first `lanes` elements of `x` (which holds at least that many).
    fn load<S: Simd>(x: &[Self]) -> Self::V<S>;
    /// The elements of `x` (at most `lanes`), zeros after them.
    fn load_part<S: Simd>(simd: S, x: &[Self]) -> Self::V<S>;
    /// Writes the first `x.len()` (at most `lanes`) elements of `v` into `x`.
    fn store_part<S: Simd>(simd: S, x: &mut [Self], v: Self::V<S>);
    /// `a·b + c`, fused where the instruction set has it.
    fn fma<S: Simd>(simd: S, a: Self::V<S>, b: Self::V<S>, c: Self::V<S>) -> Self::V<S>;
    fn vadd<S: Simd>(simd: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S>;
    /// The sum of the lanes.
    fn hsum<S: Simd>(simd: S, a: Self::V<S>) -> Self;
}

macro_rules! simd_float {
    ($t:ty, $v:ident, $lanes:ident, $splat:ident, $as_simd:ident, $load:ident, $store:ident, $fma:ident, $add:ident, $sum:ident) => {
        impl SimdFloat for $t {
            type V<S: Simd> = S::$v;

            #[inline(always)]
            fn lanes<S: Simd>() -> usize {
                S::$lanes
            }
            #[inline(always)]
            fn splat<S: Simd>(simd: S, x: Self) -> Self::V<S> {
                simd.$splat(x)
            }
            #[inline(always)]
            fn load<S: Simd>(x: &[Self]) -> Self::V<S> {
                S::$as_simd(&x[..S::$lanes]).0[0]
            }
            #[inline(always)]
            fn load_part<S: Simd>(simd: S, x: &[Self]) -> Self::V<S> {
                simd.$load(x)
            }
            #[inline(always)]
            fn store_part<S: Simd>(simd: S, x: &mut [Self], v: Self::V<S>) {
                simd.$store(x, v)
            }
            #[inline(always)]
            fn fma<S: Simd>(simd: S, a: Self::V<S>, b: Self::V<S>, c: Self::V<S>) -> Self::V<S> {
                simd.$fma(a, b, c)
            }
            #[inline(always)]
            fn vadd<S: Simd>(simd: S, a: Self::V<S>, b: Self::V<S>) -> Self::V<S> {
                simd.$add(a, b)
            }
            #[inline(always)]
            fn hsum<S: Simd>(simd: S, a: Self::V<S>) -> Self {
                simd.$sum(a)
            }
        }
    };
}

simd_float!(
    f32,
    f32s,
    F32_LANES,
    splat_f32s,
    as_simd_f32s,
    partial_load_f32s,
    partial_store_f32s,
    mul_add_e_f32s,
    add_f32s,
    reduce_sum_f32s
);
simd_float!(
    f64,
    f64s,
    F64_LANES,
    splat_f64s,
    as_simd_f64s,
    partial_load_f64s,
    partial_store_f64s,
    mul_add_e_f64s,
    add_f64s,
    reduce_sum_f64s
);
