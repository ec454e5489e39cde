//! `matmul`: dense f32 matrix product. One unit = one 32x32 block product (32 768 flops),
//! the inner step of a small dense layer.

use std::hint::black_box;
use std::sync::OnceLock;

const N: usize = 32;

fn matrices() -> &'static (Vec<f32>, Vec<f32>) {
    static M: OnceLock<(Vec<f32>, Vec<f32>)> = OnceLock::new();
    M.get_or_init(|| {
        let a = (0..N * N).map(|i| ((i % 7) as f32 - 3.0) * 0.25).collect();
        let b = (0..N * N).map(|i| ((i % 5) as f32 - 2.0) * 0.5).collect();
        (a, b)
    })
}

/// C = A * B for 32x32 blocks; returns the bits of the trace.
pub fn matmul_block() -> u64 {
    let (a, b) = matrices();
    let c = matmul(black_box(a), black_box(b), N);
    (0..N).map(|i| c[i * N + i]).sum::<f32>().to_bits() as u64
}

/// Naive row-major square matmul (i-k-j order, so the inner loop vectorises).
/// Panics if `a` or `b` holds fewer than `n * n` elements.
pub fn matmul(a: &[f32], b: &[f32], n: usize) -> Vec<f32> {
    let mut c = vec![0f32; n * n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i * n + k];
            for j in 0..n {
                c[i * n + j] += aik * b[k * n + j];
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_small_known_answer() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [5.0, 6.0, 7.0, 8.0];
        assert_eq!(matmul(&a, &b, 2), vec![19.0, 22.0, 43.0, 50.0]);
    }
}
