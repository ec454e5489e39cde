//! Compute kernels: real work with a checkable result, run in units so that a holder of the
//! emulated interpreter lock can check for a drop request between slices.

use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kernel {
    /// Like the paper's pure-Python loop: dependent integer arithmetic, one unit = 64 iterations.
    Arith,
    /// Parse and serialise an agent/API JSON payload (serde_json), one unit = one round trip.
    Json,
    /// Dense f32 matmul of 32x32 blocks, one unit = one block product.
    Matmul,
}

impl Kernel {
    pub const ALL: [Kernel; 3] = [Kernel::Arith, Kernel::Json, Kernel::Matmul];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Arith => "arith",
            Kernel::Json => "json",
            Kernel::Matmul => "matmul",
        }
    }

    /// Runs `units` units of work and returns a checksum (so the work cannot be elided).
    pub fn run(self, units: u64) -> u64 {
        match self {
            Kernel::Arith => arith(units),
            Kernel::Json => (0..units).fold(0, |acc, _| acc ^ json_round_trip()),
            Kernel::Matmul => (0..units).fold(0, |acc, _| acc ^ matmul_block()),
        }
    }
}

/// Integer arithmetic with a loop-carried dependency, like `for i in range(n): x = ...`
/// in Python: `x = rotl(x, 5) ^ i*i`. It stays in registers (no per-iteration black_box
/// through the stack, whose speed varied by 35 % between processes) and the compiler can
/// neither vectorise it nor replace it by a closed form. One unit = 64 iterations.
pub fn arith(units: u64) -> u64 {
    arith_iterations(black_box(units) * 64)
}

pub fn arith_iterations(n: u64) -> u64 {
    let mut x: u64 = 0;
    for i in 0..n {
        x = x.rotate_left(5) ^ i.wrapping_mul(i);
    }
    x
}

const PAYLOAD: &str = r#"{"id":"req-7f3a","model":"edge-llm-1b","stream":false,
"messages":[{"role":"system","content":"You are an assistant on an edge gateway. Answer briefly."},
{"role":"user","content":"Summarise the last ten sensor readings and flag anomalies."}],
"tools":[{"type":"function","function":{"name":"read_sensor","parameters":{"type":"object",
"properties":{"sensor_id":{"type":"string"},"window_s":{"type":"integer"}},"required":["sensor_id"]}}}],
"context":{"readings":[21.4,21.5,21.7,22.0,35.9,22.1,21.9,21.8,21.6,21.5],"unit":"C","site":"dock-3"},
"temperature":0.2,"max_tokens":256}"#;

/// Parse the payload, touch it as a prompt builder would, serialise it again.
/// Returns the length of the output.
pub fn json_round_trip() -> u64 {
    let mut v: serde_json::Value = serde_json::from_str(black_box(PAYLOAD)).expect("payload is valid JSON");
    if let Some(m) = v.get_mut("max_tokens") {
        *m = serde_json::Value::from(512);
    }
    serde_json::to_string(&v).map(|s| s.len() as u64).unwrap_or(0)
}

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
    fn arith_known_answers() {
        // x: 0 -> rotl(0,5)^0 = 0 -> rotl(0,5)^1 = 1 -> rotl(1,5)^4 = 36 -> rotl(36,5)^9 = 1161
        assert_eq!(arith_iterations(3), 36);
        assert_eq!(arith_iterations(4), 36 * 32 ^ 9);
        assert_eq!(arith(2), arith_iterations(128));
    }

    #[test]
    fn json_round_trip_keeps_the_payload() {
        let v: serde_json::Value = serde_json::from_str(PAYLOAD).unwrap();
        assert_eq!(v["context"]["readings"].as_array().unwrap().len(), 10);
        assert!(json_round_trip() > 500);
    }

    #[test]
    fn matmul_small_known_answer() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [5.0, 6.0, 7.0, 8.0];
        assert_eq!(matmul(&a, &b, 2), vec![19.0, 22.0, 43.0, 50.0]);
    }

    #[test]
    fn kernels_are_deterministic() {
        for k in Kernel::ALL {
            assert_eq!(k.run(3), k.run(3), "{}", k.name());
        }
    }
}
