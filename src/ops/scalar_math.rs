//! The transcendental and rounding functions of the elementwise ops, for the
//! two float types kernels compute in (float16 values are computed in f32).
//! Plain functions (`std`, the `libm` crate for the special functions), so
//! that a kernel calls them inside a tight, typed loop.

// The polynomial and splitting constants keep the decimal digits of their
// published definitions; they round to the intended f64 values.
#![allow(clippy::excessive_precision)]

use crate::ops::scalar::Prim;

/// A float type the elementwise kernels compute in.
pub trait Float: Prim {
    fn exp(self) -> Self;
    fn exp2(self) -> Self;
    fn ln(self) -> Self;
    fn log2(self) -> Self;
    fn log10(self) -> Self;
    fn ln_1p(self) -> Self;
    fn exp_m1(self) -> Self;
    fn sqrt(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tan(self) -> Self;
    fn asin(self) -> Self;
    fn acos(self) -> Self;
    fn atan(self) -> Self;
    fn atan2(self, x: Self) -> Self;
    fn sinh(self) -> Self;
    fn cosh(self) -> Self;
    fn tanh(self) -> Self;
    fn asinh(self) -> Self;
    fn acosh(self) -> Self;
    fn atanh(self) -> Self;
    fn erf(self) -> Self;
    fn erfc(self) -> Self;
    fn erfinv(self) -> Self;
    fn gamma(self) -> Self;
    fn gammaln(self) -> Self;
    /// The digamma function (computed in f64).
    fn psi(self) -> Self;
    /// The trigamma function (computed in f64).
    fn tri_gamma(self) -> Self;
    /// The tetragamma function `polygamma(2, x)` (computed in f64).
    fn tetra_gamma(self) -> Self;
    fn floor(self) -> Self;
    fn ceil(self) -> Self;
    fn trunc(self) -> Self;
    /// NumPy's `round`: halves go to the even neighbour.
    fn round_half_to_even(self) -> Self;
    /// C's `round`: halves go away from zero.
    fn round_half_away_from_zero(self) -> Self;
    fn to_radians(self) -> Self;
    fn to_degrees(self) -> Self;
    fn is_infinite(self) -> bool;
    /// `1 / (1 + exp(-x))`.
    fn sigmoid(self) -> Self;
    /// `log(1 + exp(x))` without overflow or cancellation.
    fn softplus(self) -> Self;
    /// Arguments beyond which `sin_bulk`/`cos_bulk` are not accurate; the
    /// kernels recompute those elements with `sin`/`cos`.
    const TRIG_BULK_LIMIT: f64;
    /// `sin` for |x| <= TRIG_BULK_LIMIT, in a form the compiler vectorizes.
    fn sin_bulk(self) -> Self;
    /// `cos` for |x| <= TRIG_BULK_LIMIT, in a form the compiler vectorizes.
    fn cos_bulk(self) -> Self;
}

macro_rules! float_impl {
    ($t:ty, $erf:path, $erfc:path, $tgamma:path, $lgamma:path, $exp:path, $ln:path, $tanh:path,
     $sigmoid:path, $softplus:path, $sin_bulk:path, $cos_bulk:path, $limit:expr) => {
        impl Float for $t {
            const TRIG_BULK_LIMIT: f64 = $limit;
            #[inline(always)]
            fn sin_bulk(self) -> Self {
                $sin_bulk(self)
            }
            #[inline(always)]
            fn cos_bulk(self) -> Self {
                $cos_bulk(self)
            }
            #[inline(always)]
            fn exp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn exp2(self) -> Self {
                <$t>::exp2(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                $ln(self)
            }
            #[inline(always)]
            fn log2(self) -> Self {
                <$t>::log2(self)
            }
            #[inline(always)]
            fn log10(self) -> Self {
                <$t>::log10(self)
            }
            #[inline(always)]
            fn ln_1p(self) -> Self {
                <$t>::ln_1p(self)
            }
            #[inline(always)]
            fn exp_m1(self) -> Self {
                <$t>::exp_m1(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn sin(self) -> Self {
                <$t>::sin(self)
            }
            #[inline(always)]
            fn cos(self) -> Self {
                <$t>::cos(self)
            }
            #[inline(always)]
            fn tan(self) -> Self {
                <$t>::tan(self)
            }
            #[inline(always)]
            fn asin(self) -> Self {
                <$t>::asin(self)
            }
            #[inline(always)]
            fn acos(self) -> Self {
                <$t>::acos(self)
            }
            #[inline(always)]
            fn atan(self) -> Self {
                <$t>::atan(self)
            }
            #[inline(always)]
            fn atan2(self, x: Self) -> Self {
                <$t>::atan2(self, x)
            }
            #[inline(always)]
            fn sinh(self) -> Self {
                <$t>::sinh(self)
            }
            #[inline(always)]
            fn cosh(self) -> Self {
                <$t>::cosh(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                $tanh(self)
            }
            #[inline(always)]
            fn asinh(self) -> Self {
                <$t>::asinh(self)
            }
            #[inline(always)]
            fn acosh(self) -> Self {
                <$t>::acosh(self)
            }
            #[inline(always)]
            fn atanh(self) -> Self {
                <$t>::atanh(self)
            }
            #[inline(always)]
            fn erf(self) -> Self {
                $erf(self)
            }
            #[inline(always)]
            fn erfc(self) -> Self {
                $erfc(self)
            }
            fn erfinv(self) -> Self {
                erfinv_f64(self as f64) as $t
            }
            #[inline(always)]
            fn gamma(self) -> Self {
                $tgamma(self)
            }
            #[inline(always)]
            fn gammaln(self) -> Self {
                $lgamma(self)
            }
            fn psi(self) -> Self {
                digamma_f64(self as f64) as $t
            }
            fn tri_gamma(self) -> Self {
                trigamma_f64(self as f64) as $t
            }
            fn tetra_gamma(self) -> Self {
                tetragamma_f64(self as f64) as $t
            }
            #[inline(always)]
            fn floor(self) -> Self {
                <$t>::floor(self)
            }
            #[inline(always)]
            fn ceil(self) -> Self {
                <$t>::ceil(self)
            }
            #[inline(always)]
            fn trunc(self) -> Self {
                <$t>::trunc(self)
            }
            #[inline(always)]
            fn round_half_to_even(self) -> Self {
                <$t>::round_ties_even(self)
            }
            #[inline(always)]
            fn round_half_away_from_zero(self) -> Self {
                <$t>::round(self)
            }
            #[inline(always)]
            fn to_radians(self) -> Self {
                self * (std::f64::consts::PI / 180.0) as $t
            }
            #[inline(always)]
            fn to_degrees(self) -> Self {
                self * (180.0 / std::f64::consts::PI) as $t
            }
            #[inline(always)]
            fn is_infinite(self) -> bool {
                <$t>::is_infinite(self)
            }
            #[inline(always)]
            fn sigmoid(self) -> Self {
                $sigmoid(self)
            }
            #[inline(always)]
            fn softplus(self) -> Self {
                $softplus(self)
            }
        }
    };
}

float_impl!(
    f32,
    libm::erff,
    libm::erfcf,
    libm::tgammaf,
    libm::lgammaf,
    f32x::exp,
    f32x::ln,
    f32x::tanh,
    f32x::sigmoid,
    f32x::softplus,
    f32x::sin,
    f32x::cos,
    65536.0
);
float_impl!(
    f64,
    libm::erf,
    libm::erfc,
    libm::tgamma,
    libm::lgamma,
    f64::exp,
    f64::ln,
    f64::tanh,
    sigmoid_f64,
    softplus_f64,
    f64::sin,
    f64::cos,
    f64::INFINITY
);

/// The digamma function: the reflection formula below zero, the recurrence
/// psi(x) = psi(x + 1) - 1/x up to x >= 10, then the asymptotic series
/// (truncation error below 1e-16 there).
fn digamma_f64(x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY {
        return f64::NAN;
    }
    if x <= 0.0 && x == x.floor() {
        // Poles at 0, -1, -2, ... (NumPy/SciPy give NaN or -inf; NaN here).
        return f64::NAN;
    }
    if x < 0.0 {
        let pi = std::f64::consts::PI;
        return digamma_f64(1.0 - x) - pi / (pi * x).tan();
    }
    let mut x = x;
    let mut shift = 0.0;
    while x < 10.0 {
        shift -= 1.0 / x;
        x += 1.0;
    }
    let r = 1.0 / (x * x);
    let series = r
        * (1.0 / 12.0
            - r * (1.0 / 120.0
                - r * (1.0 / 252.0
                    - r * (1.0 / 240.0 - r * (1.0 / 132.0 - r * (691.0 / 32760.0))))));
    shift + x.ln() - 0.5 / x - series
}

/// The trigamma function `psi'(x) = sum over k >= 0 of 1 / (x + k)²`.
///
/// Below zero the reflection formula `psi'(x) = pi² / sin²(pi x) -
/// psi'(1 - x)`, with `sin(pi x)` taken at `x`'s exact distance to the
/// nearest integer; +inf at the poles 0, -1, -2, ... and at -inf. Above zero the
/// recurrence `psi'(x) = psi'(x + 1) + 1 / x²` up to `x + n >= 12`, then
/// the asymptotic series `1/z + 1/(2z²) + sum B_2k / z^(2k+1)` through
/// `B_14` (truncation error below 1e-16 relative there); the recurrence
/// terms are added to the series from the smallest up.
fn trigamma_f64(x: f64) -> f64 {
    use std::f64::consts::PI;
    if x.is_nan() {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    if x <= 0.0 && x == x.floor() {
        // The poles 0, -1, -2, ... and -inf, as SciPy's polygamma(1, x).
        return f64::INFINITY;
    }
    if x < 0.0 {
        let s = (PI * (x - x.round())).sin();
        return PI * PI / (s * s) - trigamma_f64(1.0 - x);
    }
    let mut n = 0usize;
    let mut z = x;
    while z < 12.0 {
        n += 1;
        z = x + n as f64;
    }
    let r = 1.0 / z;
    let r2 = r * r;
    let tail = 1.0 / 6.0
        - r2 * (1.0 / 30.0
            - r2 * (1.0 / 42.0
                - r2 * (1.0 / 30.0
                    - r2 * (5.0 / 66.0 - r2 * (691.0 / 2730.0 - r2 * (7.0 / 6.0))))));
    let mut acc = r + 0.5 * r2 + r * r2 * tail;
    for k in (0..n).rev() {
        let t = x + k as f64;
        acc += 1.0 / (t * t);
    }
    acc
}

/// The tetragamma function `psi''(x) = -2 sum over k >= 0 of 1 / (x + k)³`
/// (SciPy's `polygamma(2, x)`).
///
/// Below zero the reflection formula `psi''(x) = psi''(1 - x) - 2 pi³
/// cos(pi x) / sin³(pi x)` (differentiate `psi(1 - x) - psi(x) = pi cot(pi
/// x)` twice), with the sine and cosine taken at `x`'s exact distance `d` to
/// the nearest integer (`cos(pi x) / sin³(pi x) = cos(pi d) / sin³(pi d)`,
/// the cosine as `sin(pi (1/2 - |d|))`);
/// -inf at the poles 0, -1, -2, ... and at -inf, as SciPy. Above zero the
/// recurrence `psi''(x) = psi''(x + 1) - 2 / x³` up to `x + n >= 12`, then
/// the derivative of trigamma's asymptotic series, `-1/z² - 1/z³ - sum
/// (2k + 1) B_2k / z^(2k+2)` through `B_14`; the recurrence terms are added
/// to the series from the smallest up.
fn tetragamma_f64(x: f64) -> f64 {
    use std::f64::consts::PI;
    if x.is_nan() {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return -0.0;
    }
    if x <= 0.0 && x == x.floor() {
        // The poles 0, -1, -2, ... and -inf, as SciPy's polygamma(2, x).
        return f64::NEG_INFINITY;
    }
    if x < 0.0 {
        // d in [-1/2, 1/2] and 1/2 - |d| are exact; cos(pi d) is taken as
        // sin(pi (1/2 - |d|)) so that it keeps its relative accuracy near
        // d = +-1/2, where psi''(x) crosses zero.
        let d = x - x.round();
        let s = (PI * d).sin();
        let c = (PI * (0.5 - d.abs())).sin();
        return tetragamma_f64(1.0 - x) - 2.0 * PI * PI * PI * c / (s * s * s);
    }
    let mut n = 0usize;
    let mut z = x;
    while z < 12.0 {
        n += 1;
        z = x + n as f64;
    }
    let r = 1.0 / z;
    let r2 = r * r;
    let tail = 0.5
        - r2 * (1.0 / 6.0
            - r2 * (1.0 / 6.0
                - r2 * (3.0 / 10.0 - r2 * (5.0 / 6.0 - r2 * (691.0 / 210.0 - r2 * (35.0 / 2.0))))));
    let mut acc = -r2 - r * r2 - r2 * r2 * tail;
    for k in (0..n).rev() {
        let t = x + k as f64;
        acc -= 2.0 / (t * t * t);
    }
    acc
}

#[inline(always)]
fn sigmoid_f64(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// max(x, 0) + log1p(exp(-|x|)); NaN stays NaN.
#[inline(always)]
fn softplus_f64(x: f64) -> f64 {
    let pos = if x > 0.0 { x } else { 0.0 };
    pos + (-x.abs()).exp().ln_1p()
}

/// float32 functions in straight-line code (no calls, no branches but
/// selects), so loops over them vectorize. `log`, `sin`, `cos` and
/// `softplus` compute in float64, whose intermediate keeps the error far
/// below float32's rounding (the correctly rounded value or its neighbour);
/// `exp`, `tanh` and `sigmoid`, the activations of every network, compute
/// in float32 alone, twice the lanes and no conversions, within two or
/// three ulps (as NumPy's own float32 loops).
pub mod f32x {
    /// Adding then subtracting this rounds an f64 to an integer, which the
    /// low bits of the sum then hold.
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const PIO2_HI: f64 = 1.570_796_326_734_125_6;
    const PIO2_LO: f64 = 6.077_100_506_506_192e-11;

    /// The integer `t - MAGIC` where `t = v + MAGIC`.
    #[inline(always)]
    fn magic_int(t: f64) -> i64 {
        (t.to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64)
    }

    /// e^x for x in [-110, 110] (relative error < 1e-11).
    #[inline(always)]
    pub fn exp_f64(x: f64) -> f64 {
        let t = x * std::f64::consts::LOG2_E + MAGIC;
        let n = t - MAGIC;
        let r = (x - n * LN2_HI) - n * LN2_LO;
        // Taylor series of e^r, |r| <= 0.35, to r^9, in Estrin's form
        // (short dependency chains).
        let r2 = r * r;
        let r4 = r2 * r2;
        let p01 = 1.0 + r;
        let p23 = 0.5 + r * (1.0 / 6.0);
        let p45 = (1.0 / 24.0) + r * (1.0 / 120.0);
        let p67 = (1.0 / 720.0) + r * (1.0 / 5040.0);
        let p89 = (1.0 / 40320.0) + r * (1.0 / 362_880.0);
        let p03 = p01 + r2 * p23;
        let p47 = p45 + r2 * p67;
        let p = (p03 + r4 * p47) + (r4 * r4) * p89;
        let scale = f64::from_bits(((magic_int(t) + 1023) as u64) << 52);
        p * scale
    }

    /// log(1 + y) for y >= 0 as 2 atanh(y / (2 + y)) (no cancellation).
    #[inline(always)]
    fn ln_1p_pos(y: f64) -> f64 {
        let s = y / (2.0 + y);
        let z = s * s;
        let mut p = 1.0 / 25.0;
        p = p * z + 1.0 / 23.0;
        p = p * z + 1.0 / 21.0;
        p = p * z + 1.0 / 19.0;
        p = p * z + 1.0 / 17.0;
        p = p * z + 1.0 / 15.0;
        p = p * z + 1.0 / 13.0;
        p = p * z + 1.0 / 11.0;
        p = p * z + 1.0 / 9.0;
        p = p * z + 1.0 / 7.0;
        p = p * z + 1.0 / 5.0;
        p = p * z + 1.0 / 3.0;
        p = p * z + 1.0;
        2.0 * s * p
    }

    /// 1.5 · 2^23: adding then subtracting it rounds an f32 to an integer.
    const MAGIC32: f32 = 12_582_912.0;
    /// ln 2 in two parts; the high part has 15 significant bits, so its
    /// product with the exponent (at most 8 bits) is exact.
    const LN2_HI32: f32 = 0.693_145_75;
    const LN2_LO32: f32 = 1.428_606_8e-6;

    /// e^x in float32 arithmetic alone (16 lanes per AVX-512 register):
    /// x = n ln 2 + r, |r| <= ln 2 / 2, Taylor series of e^r to r^7 in
    /// Estrin's form, times 2^n as two factors (so that 2^n below the
    /// normal range still scales exactly down to a subnormal). Within two
    /// ulps; inf above 88.72, 0 below -103.97, NaN stays NaN.
    ///
    /// Products and sums are fused (`mul_add`): one instruction in the
    /// elementwise kernels, which `pulp` dispatches to an instruction set
    /// with FMA, and one rounding on every path, so all give the same bits.
    /// This took a fifth off an LSTM cell (two sigmoids and a tanh).
    #[inline(always)]
    pub fn exp32(x: f32) -> f32 {
        let x = x.clamp(-104.0, 89.0);
        let t = x.mul_add(std::f32::consts::LOG2_E, MAGIC32);
        let n = t - MAGIC32;
        let r = (-n).mul_add(LN2_LO32, (-n).mul_add(LN2_HI32, x));
        let r2 = r * r;
        let r4 = r2 * r2;
        let p01 = 1.0 + r;
        let p23 = r.mul_add(1.0 / 6.0, 0.5);
        let p45 = r.mul_add(1.0 / 120.0, 1.0 / 24.0);
        let p67 = r.mul_add(1.0 / 5040.0, 1.0 / 720.0);
        let p = r4.mul_add(r2.mul_add(p67, p45), r2.mul_add(p23, p01));
        let k = (t.to_bits() as i32).wrapping_sub(MAGIC32.to_bits() as i32);
        let k1 = k >> 1;
        let s1 = f32::from_bits(((k1 + 127) as u32) << 23);
        let s2 = f32::from_bits(((k - k1 + 127) as u32) << 23);
        p * s1 * s2
    }

    #[inline(always)]
    pub fn exp(x: f32) -> f32 {
        exp32(x)
    }

    #[inline(always)]
    pub fn ln(x: f32) -> f32 {
        // x = m 2^e with m in [1, 2), subnormals scaled up first.
        let sub = x < f32::MIN_POSITIVE;
        let xs = if sub { x * 16_777_216.0 } else { x };
        let bits = xs.to_bits();
        let e = ((bits >> 23) & 0xff) as i32 - 127 - if sub { 24 } else { 0 };
        let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000) as f64;
        // m in [sqrt(1/2), sqrt(2))
        let high = m > std::f64::consts::SQRT_2;
        let m = if high { m * 0.5 } else { m };
        let e = (e + high as i32) as f64;
        let s = (m - 1.0) / (m + 1.0);
        // 2 atanh(s) = 2 (s + s^3/3 + ... + s^15/15), |s| <= 0.172
        let z = s * s;
        let z2 = z * z;
        let z4 = z2 * z2;
        let p = ((1.0 + z * (1.0 / 3.0)) + z2 * ((1.0 / 5.0) + z * (1.0 / 7.0)))
            + z4 * (((1.0 / 9.0) + z * (1.0 / 11.0)) + z2 * ((1.0 / 13.0) + z * (1.0 / 15.0)));
        let v = (e * std::f64::consts::LN_2 + 2.0 * s * p) as f32;
        if x > 0.0 && x < f32::INFINITY {
            v
        } else if x == 0.0 {
            f32::NEG_INFINITY
        } else if x == f32::INFINITY {
            x
        } else {
            f32::NAN
        }
    }

    /// tanh in float32 arithmetic: `1 - 2 / (e^(2|x|) + 1)` from |x| = 0.55
    /// (where tanh passes 1/2, so the subtraction loses little), the Taylor
    /// series to x^17 below (Horner's rule, fused as in [`exp32`]); the sign
    /// put back last (tanh(-0) = -0). Within two ulps.
    #[inline(always)]
    pub fn tanh(x: f32) -> f32 {
        let a = x.abs().min(10.0);
        let big = 1.0 - 2.0 / (exp32(2.0 * a) + 1.0);
        let z = a * a;
        let mut p: f32 = 6_404_582.0 / 10_854_718_875.0;
        p = p.mul_add(z, -929_569.0 / 638_512_875.0);
        p = p.mul_add(z, 21_844.0 / 6_081_075.0);
        p = p.mul_add(z, -1_382.0 / 155_925.0);
        p = p.mul_add(z, 62.0 / 2_835.0);
        p = p.mul_add(z, -17.0 / 315.0);
        p = p.mul_add(z, 2.0 / 15.0);
        p = p.mul_add(z, -1.0 / 3.0);
        let small = (a * z).mul_add(p, a);
        let v = (if a < 0.55 { small } else { big }).copysign(x);
        if x.is_nan() { x } else { v }
    }

    /// 1 / (1 + e^-x) in float32 arithmetic, as `e^x / (1 + e^x)` below zero
    /// (so that results down to the subnormals keep their digits); within
    /// three ulps.
    #[inline(always)]
    pub fn sigmoid(x: f32) -> f32 {
        let e = exp32(-x.abs());
        let num = if x < 0.0 { e } else { 1.0 };
        num / (1.0 + e)
    }

    #[inline(always)]
    pub fn softplus(x: f32) -> f32 {
        let xd = x as f64;
        let pos = if xd > 0.0 { xd } else { 0.0 };
        let y = exp_f64(-xd.abs().min(110.0));
        let v = (pos + ln_1p_pos(y)) as f32;
        if x.is_nan() { x } else { v }
    }

    /// sin (`cosine` false) or cos of x for |x| <= 65536: quadrant from
    /// x 2/pi, reduction with pi/2 in two parts, Taylor series on [-pi/4, pi/4].
    #[inline(always)]
    fn sin_cos(x: f32, cosine: bool) -> f32 {
        let xd = x as f64;
        let t = xd * std::f64::consts::FRAC_2_PI + MAGIC;
        let j = t - MAGIC;
        let q = magic_int(t) + cosine as i64;
        let r = (xd - j * PIO2_HI) - j * PIO2_LO;
        // Taylor series on |r| <= pi/4: sin to r^13, cos to r^14.
        let z = r * r;
        let z2 = z * z;
        let z4 = z2 * z2;
        let s = ((-1.0 / 6.0) + z * (1.0 / 120.0))
            + z2 * ((-1.0 / 5040.0) + z * (1.0 / 362_880.0))
            + z4 * ((-1.0 / 39_916_800.0) + z * (1.0 / 6_227_020_800.0));
        let sin_r = r + r * z * s;
        let c = ((1.0 / 24.0) - z * (1.0 / 720.0))
            + z2 * ((1.0 / 40320.0) - z * (1.0 / 3_628_800.0))
            + z4 * ((1.0 / 479_001_600.0) - z * (1.0 / 87_178_291_200.0));
        let cos_r = (1.0 - 0.5 * z) + z2 * c;
        let v = if q & 1 == 0 { sin_r } else { cos_r };
        let v = if q & 2 == 0 { v } else { -v };
        v as f32
    }

    #[inline(always)]
    pub fn sin(x: f32) -> f32 {
        sin_cos(x, false)
    }

    #[inline(always)]
    pub fn cos(x: f32) -> f32 {
        sin_cos(x, true)
    }
}
/// The inverse error function: Giles' single-precision approximation as a
/// start, then Newton steps on `erf` (or on `erfc` near ±1, where `erf`
/// saturates), which bring it to double precision.
pub fn erfinv_f64(y: f64) -> f64 {
    if y.is_nan() || !(-1.0..=1.0).contains(&y) {
        return f64::NAN;
    }
    if y == 1.0 {
        return f64::INFINITY;
    }
    if y == -1.0 {
        return f64::NEG_INFINITY;
    }
    if y == 0.0 {
        return y;
    }
    let w = -((1.0 - y) * (1.0 + y)).ln();
    let mut x = if w < 5.0 {
        let w = w - 2.5;
        let mut p = 2.810_226_36e-08;
        p = 3.432_739_39e-07 + p * w;
        p = -3.523_387_7e-06 + p * w;
        p = -4.391_506_54e-06 + p * w;
        p = 0.000_218_580_87 + p * w;
        p = -0.001_253_725_03 + p * w;
        p = -0.004_177_681_64 + p * w;
        p = 0.246_640_727 + p * w;
        p = 1.501_409_41 + p * w;
        p * y
    } else {
        let w = w.sqrt() - 3.0;
        let mut p = -0.000_200_214_257;
        p = 0.000_100_950_558 + p * w;
        p = 0.001_349_343_22 + p * w;
        p = -0.003_673_428_44 + p * w;
        p = 0.005_739_507_73 + p * w;
        p = -0.007_622_461_3 + p * w;
        p = 0.009_438_870_47 + p * w;
        p = 1.001_674_06 + p * w;
        p = 2.832_976_82 + p * w;
        p * y
    };
    // d/dx erf(x) = 2/sqrt(pi) exp(-x^2)
    let two_over_sqrt_pi = std::f64::consts::FRAC_2_SQRT_PI;
    let a = y.abs();
    for _ in 0..3 {
        let slope = two_over_sqrt_pi * (-x * x).exp();
        if slope == 0.0 || !x.is_finite() {
            break;
        }
        let step = if a > 0.5 {
            // erfc(|x|) = 1 - |y| is exact here, and keeps the tail's precision.
            let ax = x.abs();
            let r = (libm::erfc(ax) - (1.0 - a)) / slope;
            if x < 0.0 { -r } else { r }
        } else {
            -(libm::erf(x) - y) / slope
        };
        x += step;
        if step.abs() <= 1e-17 * x.abs() {
            break;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfinv_inverts_erf() {
        // Within |x| <= 3 the rounding of erf(x) moves x by at most ~1e-12.
        for &x in &[-3.0, -1.2, -0.3, -1e-8, 1e-300, 0.01, 0.7, 1.9, 2.9] {
            let back = erfinv_f64(libm::erf(x));
            assert!(
                (back - x).abs() <= 1e-11 * x.abs(),
                "erfinv(erf({x})) = {back}"
            );
        }
        // Near +-1, erf(erfinv(y)) gives y back.
        for &y in &[0.999, -0.99999, 1.0 - 1e-12] {
            let back = libm::erf(erfinv_f64(y));
            assert!((back - y).abs() <= 2e-16, "erf(erfinv({y})) = {back}");
        }
        assert_eq!(erfinv_f64(1.0), f64::INFINITY);
        assert!(erfinv_f64(1.5).is_nan());
    }

    #[test]
    fn trigamma_has_its_closed_forms_and_poles() {
        use std::f64::consts::PI;
        let close = |a: f64, b: f64| (a - b).abs() <= 4.0 * f64::EPSILON * b.abs();
        // psi'(1) = pi²/6, psi'(1/2) = pi²/2, psi'(n + 1) = psi'(n) - 1/n².
        assert!(close(trigamma_f64(1.0), PI * PI / 6.0));
        assert!(close(trigamma_f64(0.5), PI * PI / 2.0));
        assert!(close(trigamma_f64(3.0), PI * PI / 6.0 - 1.0 - 0.25));
        // psi'(-1/2) = pi² - psi'(3/2) = pi²/2 + 4.
        assert!(close(trigamma_f64(-0.5), PI * PI / 2.0 + 4.0));
        for x in [0.0, -1.0, -7.0, f64::NEG_INFINITY] {
            assert_eq!(trigamma_f64(x), f64::INFINITY);
        }
        assert_eq!(trigamma_f64(f64::INFINITY), 0.0);
        assert!(trigamma_f64(f64::NAN).is_nan());
        // Large x: 1/x + 1/(2x²).
        assert!(close(trigamma_f64(1e10), 1e-10 + 0.5e-20));
    }

    #[test]
    fn tetragamma_has_its_closed_forms_and_poles() {
        use std::f64::consts::PI;
        // Apery's constant zeta(3).
        let zeta3 = 1.202_056_903_159_594_3;
        let close = |a: f64, b: f64| (a - b).abs() <= 4.0 * f64::EPSILON * b.abs();
        // psi''(1) = -2 zeta(3), psi''(1/2) = -14 zeta(3),
        // psi''(n + 1) = psi''(n) + 2/n³.
        assert!(close(tetragamma_f64(1.0), -2.0 * zeta3));
        assert!(close(tetragamma_f64(0.5), -14.0 * zeta3));
        assert!(close(tetragamma_f64(3.0), -2.0 * zeta3 + 2.0 + 0.25));
        // psi''(-1/2) = psi''(3/2) (cos(-pi/2) = 0) = -14 zeta(3) + 16.
        assert!(close(tetragamma_f64(-0.5), -14.0 * zeta3 + 16.0));
        // psi''(1/4) = -2 pi³ - 56 zeta(3).
        assert!(close(
            tetragamma_f64(0.25),
            -2.0 * PI * PI * PI - 56.0 * zeta3
        ));
        for x in [0.0, -1.0, -7.0, f64::NEG_INFINITY] {
            assert_eq!(tetragamma_f64(x), f64::NEG_INFINITY);
        }
        assert_eq!(tetragamma_f64(f64::INFINITY), 0.0);
        assert!(tetragamma_f64(f64::NAN).is_nan());
        // Large x: -1/x² - 1/x³ - 1/(2x⁴) (the next term is below 1e-30).
        assert!(close(tetragamma_f64(1e5), -1e-10 - 1e-15 - 0.5e-20));
    }

    #[test]
    fn softplus_is_stable_at_both_ends() {
        assert_eq!(Float::softplus(1000.0f64), 1000.0);
        assert!(Float::softplus(-1000.0f64) >= 0.0);
        let x = -40.0f64;
        assert!((Float::softplus(x) - x.exp()).abs() <= 1e-30);
        assert!((Float::softplus(0.0f64) - std::f64::consts::LN_2).abs() < 1e-16);
    }

    /// Largest error in units of the last place of the float32 result,
    /// against the float64 function rounded to float32.
    fn max_ulps(f: impl Fn(f32) -> f32, g: impl Fn(f64) -> f64, xs: &[f32]) -> f64 {
        let mut worst: f64 = 0.0;
        for &x in xs {
            let want = g(x as f64);
            let got = f(x) as f64;
            if want.is_nan() {
                assert!(got.is_nan(), "f({x}) = {got}, want NaN");
                continue;
            }
            if want.is_infinite() || got.is_infinite() {
                assert_eq!(got, (want as f32) as f64, "f({x})");
                continue;
            }
            let w32 = want as f32;
            let ulp = (f32::from_bits(w32.abs().to_bits() + 1) - w32.abs()) as f64;
            worst = worst.max((got - want).abs() / ulp.max(f32::from_bits(1) as f64));
        }
        worst
    }

    fn samples(lo: f32, hi: f32, n: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..=n)
            .map(|i| lo + (hi - lo) * (i as f32 / n as f32))
            .collect();
        v.extend([
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            1e-8,
            -1e-8,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ]);
        v
    }

    #[test]
    fn the_vectorizable_float32_functions_are_within_one_ulp() {
        let wide = samples(-120.0, 120.0, 200_000);
        assert!(max_ulps(f32x::softplus, softplus_f64, &wide) <= 1.0);
        let trig = samples(-65536.0, 65536.0, 400_000);
        assert!(max_ulps(f32x::sin, f64::sin, &trig) <= 1.0);
        assert!(max_ulps(f32x::cos, f64::cos, &trig) <= 1.0);
        assert!(max_ulps(f32x::sin, f64::sin, &samples(-4.0, 4.0, 100_000)) <= 1.0);
        let mut pos = samples(0.0, 100.0, 100_000);
        pos.extend((0..2000).map(|i| f32::from_bits(1 + i * 1_000_000)));
        assert!(max_ulps(f32x::ln, f64::ln, &pos) <= 1.0);
        assert!(max_ulps(f32x::ln, f64::ln, &samples(-5.0, 5.0, 1000)) <= 1.0);
    }

    #[test]
    fn exp_tanh_and_sigmoid_in_float32_arithmetic_are_within_a_few_ulps() {
        // Computed in float32 alone, for speed (16 lanes), as NumPy's own
        // float32 loops are: exp and tanh within two ulps, sigmoid (a
        // division of exp) within three.
        let wide = samples(-120.0, 120.0, 400_000);
        let near_zero = samples(-1.0, 1.0, 400_000);
        let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
        for xs in [&wide, &near_zero] {
            assert!(max_ulps(f32x::exp, f64::exp, xs) <= 2.0);
            assert!(max_ulps(f32x::tanh, f64::tanh, xs) <= 2.0);
            assert!(max_ulps(f32x::sigmoid, sigmoid, xs) <= 3.0);
        }
        // Subnormal results, overflow, signed zeros and the limits.
        assert_eq!(f32x::exp(-103.0), f32::from_bits(1));
        assert_eq!(f32x::exp(-105.0), 0.0);
        assert_eq!(f32x::exp(89.0), f32::INFINITY);
        assert_eq!(f32x::exp(f32::NEG_INFINITY), 0.0);
        assert!(f32x::exp(f32::NAN).is_nan());
        assert_eq!(f32x::tanh(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f32x::tanh(f32::INFINITY), 1.0);
        assert_eq!(f32x::tanh(-20.0), -1.0);
        assert_eq!(f32x::sigmoid(-200.0), 0.0);
        assert_eq!(f32x::sigmoid(200.0), 1.0);
    }

    #[test]
    fn rounding_modes_differ_at_halves() {
        assert_eq!(Float::round_half_to_even(2.5f64), 2.0);
        assert_eq!(Float::round_half_away_from_zero(2.5f64), 3.0);
        assert_eq!(Float::round_half_to_even(-0.5f32), -0.0);
        assert_eq!(Float::round_half_away_from_zero(-0.5f32), -1.0);
    }
}
