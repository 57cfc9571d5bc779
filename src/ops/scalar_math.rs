//! The transcendental and rounding functions of the elementwise ops, for the
//! two float types kernels compute in (float16 values are computed in f32).
//! Plain functions (`std`, the `libm` crate for the special functions), so
//! that a kernel calls them inside a tight, typed loop.

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
}

macro_rules! float_impl {
    ($t:ty, $erf:path, $erfc:path, $tgamma:path, $lgamma:path) => {
        impl Float for $t {
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn exp2(self) -> Self {
                <$t>::exp2(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
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
                <$t>::tanh(self)
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
                1.0 / (1.0 + <$t>::exp(-self))
            }
            #[inline(always)]
            fn softplus(self) -> Self {
                // max(x, 0) + log1p(exp(-|x|)); NaN stays NaN.
                let pos = if self > 0.0 { self } else { 0.0 };
                pos + <$t>::ln_1p(<$t>::exp(-<$t>::abs(self)))
            }
        }
    };
}

float_impl!(f32, libm::erff, libm::erfcf, libm::tgammaf, libm::lgammaf);
float_impl!(f64, libm::erf, libm::erfc, libm::tgamma, libm::lgamma);

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
    fn softplus_is_stable_at_both_ends() {
        assert_eq!(Float::softplus(1000.0f64), 1000.0);
        assert!(Float::softplus(-1000.0f64) >= 0.0);
        let x = -40.0f64;
        assert!((Float::softplus(x) - x.exp()).abs() <= 1e-30);
        assert!((Float::softplus(0.0f64) - std::f64::consts::LN_2).abs() < 1e-16);
    }

    #[test]
    fn rounding_modes_differ_at_halves() {
        assert_eq!(Float::round_half_to_even(2.5f64), 2.0);
        assert_eq!(Float::round_half_away_from_zero(2.5f64), 3.0);
        assert_eq!(Float::round_half_to_even(-0.5f32), -0.0);
        assert_eq!(Float::round_half_away_from_zero(-0.5f32), -1.0);
    }
}
