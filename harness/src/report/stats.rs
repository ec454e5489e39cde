//! Statistics behind every number in a report: mean, standard deviation, Student's t
//! quantiles (from the regularized incomplete beta function, not a table), the 95 %
//! t-interval of a mean and Welch's two-sample t-test. No plotting, no I/O.

/// Mean and spread of a small sample (the repetitions of one point).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n - 1 denominator); 0 when n < 2.
    pub sd: f64,
}

impl Summary {
    /// None for an empty sample or one with a non-finite value.
    pub fn of(xs: &[f64]) -> Option<Summary> {
        if xs.is_empty() || xs.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let n = xs.len();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let sd = if n < 2 {
            0.0
        } else {
            (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        };
        Some(Summary { n, mean, sd })
    }

    /// Variance of the mean, s^2 / n.
    fn var_of_mean(&self) -> f64 {
        self.sd * self.sd / self.n as f64
    }

    /// The two-sided t-interval of the mean at `level` (e.g. 0.95); None below two values,
    /// where no interval exists.
    pub fn interval(&self, level: f64) -> Option<(f64, f64)> {
        if self.n < 2 {
            return None;
        }
        let half = t_quantile(0.5 + level / 2.0, (self.n - 1) as f64)? * self.var_of_mean().sqrt();
        Some((self.mean - half, self.mean + half))
    }
}

/// Welch's unequal-variance t-test of two means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

/// None when either side has fewer than two values or both have zero variance (no test
/// can be made; identical constant samples are not "significant").
pub fn welch(a: &Summary, b: &Summary) -> Option<Welch> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    let (va, vb) = (a.var_of_mean(), b.var_of_mean());
    let se2 = va + vb;
    if se2 <= 0.0 {
        return None;
    }
    let t = (a.mean - b.mean) / se2.sqrt();
    let df = se2 * se2 / (va * va / (a.n - 1) as f64 + vb * vb / (b.n - 1) as f64);
    Some(Welch { t, df, p: 2.0 * t_sf(t.abs(), df) })
}

/// A relative variance (the squared coefficient of variation of single values) with the
/// degrees of freedom it was estimated on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelVar {
    pub v: f64,
    pub df: f64,
}

impl RelVar {
    /// A sample's own; None below two values or at a mean <= 0.
    pub fn of(s: &Summary) -> Option<RelVar> {
        (s.n >= 2 && s.mean > 0.0).then(|| RelVar { v: (s.sd / s.mean).powi(2), df: (s.n - 1) as f64 })
    }

    /// Several samples' together, weighted by their degrees of freedom (the pooled variance,
    /// on the relative scale: for points whose noise is alike in proportion to their level).
    /// None without any.
    pub fn pooled(xs: impl IntoIterator<Item = RelVar>) -> Option<RelVar> {
        let (ss, df) = xs.into_iter().fold((0.0, 0.0), |(ss, df), x| (ss + x.v * x.df, df + x.df));
        (df > 0.0).then(|| RelVar { v: ss / df, df })
    }
}

/// The `level` interval of the ratio b / a of two means, by the delta method on the log
/// ratio, with each single value's relative variance as given (a sample's own, or one pooled
/// over like points) and Welch-Satterthwaite degrees of freedom. None when a mean is <= 0 or
/// neither side varies.
pub fn ratio_interval(a: (&Summary, RelVar), b: (&Summary, RelVar), level: f64) -> Option<(f64, f64)> {
    let ((ma, ra), (mb, rb)) = (a, b);
    if ma.mean <= 0.0 || mb.mean <= 0.0 {
        return None;
    }
    let (va, vb) = (ra.v / ma.n as f64, rb.v / mb.n as f64);
    let se2 = va + vb;
    if se2 <= 0.0 {
        return None;
    }
    let df = se2 * se2 / (va * va / ra.df + vb * vb / rb.df);
    let q = t_quantile(0.5 + level / 2.0, df)?;
    let (r, se) = (mb.mean / ma.mean, se2.sqrt());
    Some((r * (-q * se).exp(), r * (q * se).exp()))
}

/// The ratio b / a of two means with its `level` interval over each sample's own spread
/// (`ratio_interval`); the interval is None when a side has one value.
pub fn ratio(a: &Summary, b: &Summary, level: f64) -> Option<(f64, Option<(f64, f64)>)> {
    if a.mean <= 0.0 || b.mean <= 0.0 {
        return None;
    }
    let ci = RelVar::of(a).zip(RelVar::of(b)).and_then(|(ra, rb)| ratio_interval((a, ra), (b, rb), level));
    Some((b.mean / a.mean, ci))
}

/// P(T > t) for Student's t with `df` degrees of freedom (t >= 0).
fn t_sf(t: f64, df: f64) -> f64 {
    0.5 * inc_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// Student's t cumulative distribution function.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    if t >= 0.0 {
        1.0 - t_sf(t, df)
    } else {
        t_sf(-t, df)
    }
}

/// The `p` quantile of Student's t with `df` > 0 degrees of freedom, by bisection on the
/// CDF (monotone, so bisection cannot diverge); None outside 0 < p < 1.
pub fn t_quantile(p: f64, df: f64) -> Option<f64> {
    // Written so that NaN fails the test too.
    if !(p > 0.0 && p < 1.0 && df > 0.0) {
        return None;
    }
    if p < 0.5 {
        return t_quantile(1.0 - p, df).map(|q| -q);
    }
    let mut hi = 1.0;
    while t_cdf(hi, df) < p {
        hi *= 2.0;
        if hi > 1e12 {
            return None;
        }
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-13 * hi.max(1.0) {
            break;
        }
    }
    Some(0.5 * (lo + hi))
}

/// Regularized incomplete beta I_x(a, b), by the continued fraction (Numerical Recipes,
/// `betai`), using the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where it converges faster.
pub fn inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, 1.0 - x) / b
    }
}

/// Lentz's evaluation of the incomplete beta continued fraction.
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        for aa in [m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))] {
            d = 1.0 + aa * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = 1.0 + aa / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        // The last factor of the pair is d * c; near 1 means converged.
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error about 1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let s = G[1..].iter().enumerate().fold(G[0], |s, (i, g)| s + g / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + s.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() <= tol * b.abs().max(1.0), "{a} != {b} (tolerance {tol})");
    }

    // Reference values from scipy 1.17 (stats.t.ppf, stats.t.cdf, stats.beta.cdf,
    // stats.ttest_ind(equal_var=False), math.lgamma), computed independently of this code.
    #[test]
    fn t_quantiles_match_scipy() {
        for (p, df, want) in [
            (0.975, 1.0, 12.706204736174694),
            (0.975, 4.0, 2.7764451051977934),
            (0.975, 9.0, 2.262157162798205),
            (0.995, 30.0, 2.7499956535672254),
            (0.975, 3.7, 2.8675207071911895),
            (0.6, 2.0, 0.2886751345948128),
            (0.025, 4.0, -2.7764451051977943),
        ] {
            close(t_quantile(p, df).unwrap(), want, 1e-9);
        }
        assert_eq!(t_quantile(1.0, 4.0), None);
        assert_eq!(t_quantile(0.5, 0.0), None);
    }

    #[test]
    fn distributions_match_scipy() {
        close(t_cdf(1.5, 7.0), 0.911350756505015, 1e-12);
        close(inc_beta(2.5, 0.5, 0.3), 0.018927124071945658, 1e-12);
        close(ln_gamma(0.3), 1.0957979948180752, 1e-12);
        close(ln_gamma(123.4), 469.3360974421906, 1e-12);
    }

    #[test]
    fn mean_sd_and_t_interval() {
        let s = Summary::of(&[27691.0, 28037.0, 27190.0, 27879.0, 26500.0]).unwrap();
        close(s.mean, 27459.4, 1e-12);
        close(s.sd, 623.7686269763814, 1e-12);
        let (lo, hi) = s.interval(0.95).unwrap();
        close(lo, 26684.888952674435, 1e-10);
        close(hi, 28233.911047325568, 1e-10);
        assert_eq!(Summary::of(&[1.0]).unwrap().interval(0.95), None);
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn welch_matches_scipy() {
        let a = Summary::of(&[27691.0, 28037.0, 27190.0, 27879.0, 26500.0]).unwrap();
        let b = Summary::of(&[28061.0, 28151.0, 28029.0, 27739.0, 28800.0, 28500.0]).unwrap();
        let w = welch(&a, &b).unwrap();
        close(w.t, -2.365710189678533, 1e-10);
        close(w.df, 6.341392977941678, 1e-10);
        close(w.p, 0.05360131902003664, 1e-8);
        let one = Summary::of(&[1.0]).unwrap();
        assert_eq!(welch(&one, &b), None);
    }

    #[test]
    fn ratio_interval_brackets_the_ratio() {
        let a = Summary::of(&[100.0, 102.0, 98.0]).unwrap();
        let b = Summary::of(&[200.0, 190.0, 210.0]).unwrap();
        let (r, ci) = ratio(&a, &b, 0.95).unwrap();
        close(r, 2.0, 1e-12);
        let (lo, hi) = ci.unwrap();
        assert!(lo < 2.0 && 2.0 < hi && lo > 1.5 && hi < 2.5, "{lo} {hi}");
        // Relative variances 4e-4 and 2.5e-3, se^2 = (4e-4 + 2.5e-3) / 3, Welch df 2.62402,
        // t(0.975) 3.456625 and the upper end 2.226917 (mpmath, independently of this code).
        close(hi, 2.226_917, 1e-5);
        assert!(ratio(&a, &Summary::of(&[0.0]).unwrap(), 0.95).is_none());
        assert_eq!(ratio(&a, &Summary::of(&[2.0]).unwrap(), 0.95).map(|r| r.1), Some(None));
    }

    #[test]
    fn pooled_relative_variance_weighs_by_degrees_of_freedom() {
        let a = RelVar { v: 1e-4, df: 1.0 };
        let b = RelVar { v: 4e-4, df: 3.0 };
        let p = RelVar::pooled([a, b]).unwrap();
        close(p.v, 3.25e-4, 1e-15);
        close(p.df, 4.0, 0.0);
        assert_eq!(RelVar::pooled([]), None);
    }
}
