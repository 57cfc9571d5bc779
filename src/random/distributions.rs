//! Samplers of the discrete and continuous distributions, on top of the
//! Philox words of one element's stream. Written from the published
//! algorithms: Box–Muller (1958) for normals, inversion (BINV) and Hörmann's
//! transformed rejection with decomposition (BTRD, 1993) for binomials,
//! multiplication and Hörmann's PTRS (1993) for Poisson variates.

use crate::random::stream::ElementStream;

const TWO_PI: f64 = std::f64::consts::TAU;
const HALF_LN_TWO_PI: f64 = 0.918_938_533_204_672_8;

/// Two independent standard normals from `u1` in (0, 1] and `u2` in [0, 1).
#[inline]
pub fn box_muller(u1: f64, u2: f64) -> (f64, f64) {
    let r = (-2.0 * u1.ln()).sqrt();
    let (s, c) = (TWO_PI * u2).sin_cos();
    (r * c, r * s)
}

/// A standard normal truncated to [-2, 2] (resampled outside).
pub fn truncated_normal(st: &mut ElementStream) -> f64 {
    loop {
        let (z0, z1) = box_muller(st.uniform_open(), st.uniform());
        if z0.abs() <= 2.0 {
            return z0;
        }
        if z1.abs() <= 2.0 {
            return z1;
        }
    }
}

/// `ln(k!) - [(k + 1/2) ln(k + 1) - (k + 1) + ln(2π)/2]`, the error of
/// Stirling's formula at `k + 1`.
pub fn stirling_correction(k: f64) -> f64 {
    if k < 10.0 {
        let exact: f64 = (2..=k as u64).map(|i| (i as f64).ln()).sum();
        return exact - ((k + 0.5) * (k + 1.0).ln() - (k + 1.0) + HALF_LN_TWO_PI);
    }
    let kp1 = k + 1.0;
    let k2 = kp1 * kp1;
    (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / 1260.0 / k2) / k2) / kp1
}

/// `ln(k!)`.
pub fn ln_factorial(k: f64) -> f64 {
    if k < 10.0 {
        return (2..=k as u64).map(|i| (i as f64).ln()).sum();
    }
    (k + 0.5) * (k + 1.0).ln() - (k + 1.0) + HALF_LN_TWO_PI + stirling_correction(k)
}

/// A Binomial(n, p) variate; `p` in [0, 1].
pub fn binomial(st: &mut ElementStream, n: u64, p: f64) -> u64 {
    if n == 0 || p <= 0.0 {
        return 0;
    }
    if p >= 1.0 {
        return n;
    }
    if p > 0.5 {
        return n - binomial(st, n, 1.0 - p);
    }
    if (n as f64) * p < 10.0 {
        binomial_inversion(st, n, p)
    } else {
        binomial_btrd(st, n, p)
    }
}

/// BINV: walks the cumulative distribution from 0 (for n·p < 10).
fn binomial_inversion(st: &mut ElementStream, n: u64, p: f64) -> u64 {
    let q = 1.0 - p;
    let s = p / q;
    let a = (n as f64 + 1.0) * s;
    let r0 = (n as f64 * q.ln()).exp();
    loop {
        let mut u = st.uniform();
        let mut r = r0;
        let mut x = 0u64;
        loop {
            if u < r {
                return x;
            }
            u -= r;
            x += 1;
            if x > n {
                break; // rounding ate the tail: draw again
            }
            r *= a / x as f64 - s;
        }
    }
}

/// BTRD (Hörmann 1993) for n·p ≥ 10 and p ≤ 1/2.
fn binomial_btrd(st: &mut ElementStream, n: u64, p: f64) -> u64 {
    let nf = n as f64;
    let q = 1.0 - p;
    let m = ((nf + 1.0) * p).floor();
    let r = p / q;
    let nr = (nf + 1.0) * r;
    let npq = nf * p * q;
    let sqrt_npq = npq.sqrt();
    let b = 1.15 + 2.53 * sqrt_npq;
    let a = -0.0873 + 0.0248 * b + 0.01 * p;
    let c = nf * p + 0.5;
    let alpha = (2.83 + 5.1 / b) * sqrt_npq;
    let v_r = 0.92 - 4.2 / b;
    let u_rv_r = 0.86 * v_r;
    loop {
        // Step 1: the triangle in the centre, accepted at once.
        let mut v = st.uniform();
        if v <= u_rv_r {
            let u = v / v_r - 0.43;
            return ((2.0 * a / (0.5 - u.abs()) + b) * u + c).floor() as u64;
        }
        // Step 2: a point of the region of the hat outside the triangle.
        let u;
        if v >= v_r {
            u = st.uniform() - 0.5;
        } else {
            let w = v / v_r - 0.93;
            u = 0.5f64.copysign(w) - w;
            v = st.uniform() * v_r;
        }
        // Step 3.0.
        let us = 0.5 - u.abs();
        let kf = ((2.0 * a / us + b) * u + c).floor();
        if kf < 0.0 || kf > nf {
            continue;
        }
        v = v * alpha / (a / (us * us) + b);
        let km = (kf - m).abs();
        if km <= 15.0 {
            // Step 3.1: the ratio f(k)/f(m), computed recursively.
            let mut f = 1.0;
            let (k, mm) = (kf as u64, m as u64);
            if mm < k {
                for i in mm + 1..=k {
                    f *= nr / i as f64 - r;
                }
            } else if mm > k {
                for i in k + 1..=mm {
                    v *= nr / i as f64 - r;
                }
            }
            if v <= f {
                return k;
            }
            continue;
        }
        // Step 3.2: squeeze on the logarithm.
        let lv = v.ln();
        let rho = (km / npq) * (((km / 3.0 + 0.625) * km + 1.0 / 6.0) / npq + 0.5);
        let t = -km * km / (2.0 * npq);
        if lv < t - rho {
            return kf as u64;
        }
        if lv > t + rho {
            continue;
        }
        // Steps 3.3 and 3.4: the exact test, with Stirling corrections.
        let nm = nf - m + 1.0;
        let h = (m + 0.5) * ((m + 1.0) / (r * nm)).ln()
            + stirling_correction(m)
            + stirling_correction(nf - m);
        let nk = nf - kf + 1.0;
        let bound = h + (nf + 1.0) * (nm / nk).ln() + (kf + 0.5) * (nk * r / (kf + 1.0)).ln()
            - stirling_correction(kf)
            - stirling_correction(nf - kf);
        if lv <= bound {
            return kf as u64;
        }
    }
}

/// A Poisson(lam) variate; `lam` finite and non-negative.
pub fn poisson(st: &mut ElementStream, lam: f64) -> u64 {
    if lam <= 0.0 {
        return 0;
    }
    if lam < 10.0 {
        // Multiply uniforms until the product falls below e^-lam.
        let limit = (-lam).exp();
        let mut prod = st.uniform();
        let mut k = 0u64;
        while prod > limit {
            k += 1;
            prod *= st.uniform();
        }
        return k;
    }
    // PTRS: transformed rejection with squeeze.
    let slam = lam.sqrt();
    let loglam = lam.ln();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let invalpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u = st.uniform() - 0.5;
        let v = st.uniform();
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + lam + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k as u64;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        if v.ln() + invalpha.ln() - (a / (us * us) + b).ln() <= -lam + k * loglam - ln_factorial(k)
        {
            return k as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::stream::{DOMAIN_RANDOM_STREAMS, PhiloxState};

    fn streams(seed: u64) -> impl Iterator<Item = ElementStream> {
        let s = PhiloxState::seeded(seed, 0, DOMAIN_RANDOM_STREAMS);
        (0u32..).map(move |e| s.element_stream(e))
    }

    /// Pearson's statistic of `counts` against `pmf` (cells with expectation
    /// below 5 pooled into one).
    fn chi_square(counts: &[u64], pmf: &[f64], total: u64) -> (f64, usize) {
        let mut stat = 0.0;
        let mut cells = 0;
        let (mut pooled_obs, mut pooled_exp) = (0.0, 0.0);
        for (k, &c) in counts.iter().enumerate() {
            let e = pmf.get(k).copied().unwrap_or(0.0) * total as f64;
            if e < 5.0 {
                pooled_obs += c as f64;
                pooled_exp += e;
                continue;
            }
            stat += (c as f64 - e).powi(2) / e;
            cells += 1;
        }
        let tail: f64 = 1.0 - pmf.iter().sum::<f64>();
        pooled_exp += tail.max(0.0) * total as f64;
        if pooled_exp > 0.0 {
            stat += (pooled_obs - pooled_exp).powi(2) / pooled_exp;
            cells += 1;
        }
        (stat, cells - 1)
    }

    /// A generous upper bound of the chi-square quantile at 1 - 1e-6.
    fn chi_square_bound(dof: usize) -> f64 {
        let d = dof as f64;
        d + 7.0 * (2.0 * d).sqrt() + 20.0
    }

    fn binomial_pmf(n: u64, p: f64) -> Vec<f64> {
        (0..=n)
            .map(|k| {
                let kf = k as f64;
                let nf = n as f64;
                (ln_factorial(nf) - ln_factorial(kf) - ln_factorial(nf - kf)
                    + kf * p.ln()
                    + (nf - kf) * (1.0 - p).ln())
                .exp()
            })
            .collect()
    }

    fn check_binomial(n: u64, p: f64) {
        let draws = 200_000u64;
        let mut counts = vec![0u64; n as usize + 1];
        for mut st in streams(n * 1000 + (p * 100.0) as u64).take(draws as usize) {
            let x = binomial(&mut st, n, p);
            assert!(x <= n);
            counts[x as usize] += 1;
        }
        let (stat, dof) = chi_square(&counts, &binomial_pmf(n, p), draws);
        assert!(
            stat < chi_square_bound(dof),
            "Binomial({n}, {p}): chi2 {stat} with {dof} dof"
        );
    }

    #[test]
    fn ln_factorial_matches_the_exact_sum() {
        for k in [0u64, 1, 5, 9, 10, 11, 30, 170] {
            let exact: f64 = (2..=k).map(|i| (i as f64).ln()).sum();
            assert!(
                (ln_factorial(k as f64) - exact).abs() < 1e-10 * exact.max(1.0),
                "k={k}"
            );
        }
    }

    #[test]
    fn binomial_follows_its_pmf_by_inversion_and_by_btrd() {
        check_binomial(5, 0.3); // inversion
        check_binomial(20, 0.45); // inversion (n·p = 9)
        check_binomial(20, 0.9); // symmetry, then inversion
        check_binomial(100, 0.3); // BTRD, |k - m| <= 15 path
        check_binomial(2000, 0.4); // BTRD, squeeze and exact test
    }

    #[test]
    fn binomial_edges_are_exact() {
        let mut st = streams(1).next().unwrap();
        assert_eq!(binomial(&mut st, 0, 0.5), 0);
        assert_eq!(binomial(&mut st, 7, 0.0), 0);
        assert_eq!(binomial(&mut st, 7, 1.0), 7);
        let big = binomial(&mut st, 1 << 40, 0.5) as f64;
        let mean = (1u64 << 39) as f64;
        assert!((big - mean).abs() < 6.0 * (mean / 2.0).sqrt());
    }

    fn check_poisson(lam: f64) {
        let draws = 200_000u64;
        let top = (lam + 12.0 * lam.sqrt() + 20.0) as usize;
        let mut counts = vec![0u64; top + 1];
        for mut st in streams(lam as u64 + 77).take(draws as usize) {
            let x = poisson(&mut st, lam) as usize;
            counts[x.min(top)] += 1;
        }
        let pmf: Vec<f64> = (0..=top)
            .map(|k| (k as f64 * lam.ln() - lam - ln_factorial(k as f64)).exp())
            .collect();
        let (stat, dof) = chi_square(&counts, &pmf, draws);
        assert!(
            stat < chi_square_bound(dof),
            "Poisson({lam}): chi2 {stat} with {dof} dof"
        );
    }

    #[test]
    fn poisson_follows_its_pmf_by_multiplication_and_by_ptrs() {
        check_poisson(0.5);
        check_poisson(4.0);
        check_poisson(10.0);
        check_poisson(150.0);
    }

    #[test]
    fn box_muller_gives_standard_normal_moments() {
        let mut st = streams(3).next().unwrap();
        let n = 200_000;
        let (mut s1, mut s2, mut s4) = (0.0, 0.0, 0.0);
        for _ in 0..n / 2 {
            let (a, b) = box_muller(st.uniform_open(), st.uniform());
            for z in [a, b] {
                s1 += z;
                s2 += z * z;
                s4 += z.powi(4);
            }
        }
        let nf = n as f64;
        assert!((s1 / nf).abs() < 5.0 / nf.sqrt());
        assert!((s2 / nf - 1.0).abs() < 5.0 * 2f64.sqrt() / nf.sqrt());
        assert!((s4 / nf - 3.0).abs() < 5.0 * 96f64.sqrt() / nf.sqrt());
    }

    #[test]
    fn truncated_normal_stays_within_two() {
        let mut st = streams(4).next().unwrap();
        let xs: Vec<f64> = (0..50_000).map(|_| truncated_normal(&mut st)).collect();
        assert!(xs.iter().all(|x| x.abs() <= 2.0));
        let var = xs.iter().map(|x| x * x).sum::<f64>() / xs.len() as f64;
        // Variance of N(0,1) truncated to [-2, 2]: 0.7737413.
        assert!((var - 0.773_741_3).abs() < 0.01, "{var}");
    }
}
