//! `softmax-topk`: the head of an image classifier. One unit = a numerically stable softmax
//! over 1000 logits (ImageNet classes) and the top 5 classes, for one of 4 standard logit
//! vectors (cycled). A whole job (one image) is one unit.

use std::hint::black_box;
use std::sync::OnceLock;

use super::ShapeError;
use crate::rng::Rng;

pub const CLASSES: usize = 1000;
pub const K: usize = 5;
/// Units in one whole job (one image).
pub const UNITS_PER_JOB: u64 = 1;
const VECTORS: usize = 4;

/// Softmax of `logits` into `out` (same length): `exp(x - max) / sum`, so large logits do
/// not overflow. If some logits are +inf they share the mass; if all are -inf the result is
/// uniform. NaN logits give NaN probabilities (all of them, unless a logit is +inf).
pub fn softmax_into(logits: &[f32], out: &mut [f32]) -> Result<(), ShapeError> {
    if logits.len() != out.len() {
        return Err(ShapeError::Len { what: "softmax output", expected: logits.len(), got: out.len() });
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max.is_infinite() {
        // The limit of the finite case: mass shared among the maxima.
        let is_top = |x: f32| x == max || max == f32::NEG_INFINITY;
        let n = logits.iter().filter(|&&x| is_top(x)).count() as f32;
        for (o, &x) in out.iter_mut().zip(logits) {
            *o = if is_top(x) { 1.0 / n } else { 0.0 };
        }
        return Ok(());
    }
    let mut sum = 0f32;
    for (o, &x) in out.iter_mut().zip(logits) {
        *o = (x - max).exp();
        sum += *o;
    }
    // sum >= 1: the maximum contributes exp(0).
    let inv = 1.0 / sum;
    out.iter_mut().for_each(|o| *o *= inv);
    Ok(())
}

pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let mut out = vec![0f32; logits.len()];
    // Cannot fail: the lengths match.
    let _ = softmax_into(logits, &mut out);
    out
}

/// The `k` largest values as `(index, value)`, largest first; equal values in index order.
/// NaNs are skipped; fewer than `k` entries if `values` has fewer.
pub fn top_k(values: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut best: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
    for (i, &v) in values.iter().enumerate() {
        if v.is_nan() || k == 0 || (best.len() == k && best.last().is_some_and(|&(_, w)| v <= w)) {
            continue;
        }
        let pos = best.iter().position(|&(_, w)| w < v).unwrap_or(best.len());
        best.insert(pos, (i, v));
        best.truncate(k);
    }
    best
}

/// Four classifier outputs: N(0, 2) logits with one to three confident classes.
pub fn standard_logits() -> &'static [Vec<f32>; VECTORS] {
    static L: OnceLock<[Vec<f32>; VECTORS]> = OnceLock::new();
    L.get_or_init(|| {
        let mut rng = Rng::new(1000);
        std::array::from_fn(|v| {
            let mut l: Vec<f32> = (0..CLASSES).map(|_| 2.0 * rng.standard_normal() as f32).collect();
            for j in 0..=v % 3 {
                l[(rng.next_u64() % CLASSES as u64) as usize] += 9.0 - 2.0 * j as f32;
            }
            l
        })
    })
}

/// `units` softmax + top-5 over the standard logits, cycling; returns a hash of the results.
pub fn run(units: u64) -> u64 {
    let logits = black_box(standard_logits());
    let mut probs = vec![0f32; CLASSES];
    let mut acc = 0u64;
    for i in 0..units {
        // Cannot fail: every standard vector has CLASSES logits.
        let _ = softmax_into(&logits[(i % VECTORS as u64) as usize], &mut probs);
        for (idx, p) in top_k(&probs, K) {
            acc = acc.wrapping_mul(31).wrapping_add(idx as u64 ^ u64::from(p.to_bits()));
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(p: &[f32]) -> f32 {
        p.iter().sum()
    }

    #[test]
    fn uniform_logits_give_uniform_probabilities() {
        let p = softmax(&[3.0; 4]);
        assert_eq!(p, vec![0.25; 4]);
        assert_eq!(top_k(&p, 2), vec![(0, 0.25), (1, 0.25)], "ties in index order");
    }

    #[test]
    fn known_values_and_a_dominant_logit() {
        let p = softmax(&[1.0, 2.0, 3.0]);
        let e = [1f32.exp(), 2f32.exp(), 3f32.exp()];
        for (a, b) in p.iter().zip(e) {
            assert!((a - b / (e[0] + e[1] + e[2])).abs() < 1e-6);
        }
        let mut l = vec![0f32; CLASSES];
        l[417] = 30.0;
        let p = softmax(&l);
        assert!(p[417] > 0.999_999);
        assert_eq!(top_k(&p, 1)[0].0, 417);
    }

    #[test]
    fn large_logits_do_not_overflow() {
        let p = softmax(&[1000.0, 999.0, -1000.0]);
        assert!(p.iter().all(|x| x.is_finite()));
        assert!((p[0] - 1.0 / (1.0 + (-1f32).exp())).abs() < 1e-6);
        assert_eq!(softmax(&[f32::INFINITY, 0.0, f32::INFINITY]), vec![0.5, 0.0, 0.5]);
        assert_eq!(softmax(&[f32::NEG_INFINITY; 2]), vec![0.5, 0.5]);
        assert!(softmax(&[]).is_empty());
        assert!(softmax_into(&[1.0, 2.0], &mut [0.0; 3]).is_err());
    }

    #[test]
    fn standard_vectors_sum_to_one_and_top5_is_sorted() {
        for l in standard_logits() {
            let p = softmax(l);
            assert!((sum(&p) - 1.0).abs() < 1e-4, "sum {}", sum(&p));
            let top = top_k(&p, K);
            assert_eq!(top.len(), K);
            assert!(top.windows(2).all(|w| w[0].1 >= w[1].1));
            // Same answer as a full sort.
            let mut all: Vec<(usize, f32)> = p.iter().copied().enumerate().collect();
            all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            assert_eq!(top, all[..K]);
        }
    }

    #[test]
    fn top_k_edge_cases() {
        let v = [0.1, f32::NAN, 0.7, 0.7, 0.2];
        assert_eq!(top_k(&v, 3), vec![(2, 0.7), (3, 0.7), (4, 0.2)]);
        assert_eq!(top_k(&v, 0), vec![]);
        assert_eq!(top_k(&v, 10).len(), 4);
        assert!(top_k(&[], 5).is_empty());
    }
}
