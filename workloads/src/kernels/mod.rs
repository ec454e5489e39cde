//! Compute kernels: real work with a checkable result, run in units so that a holder of the
//! emulated interpreter lock can check for a drop request between slices. One unit takes a
//! few microseconds; each kernel's file says what a unit is and what it stands for.
//!
//! Adding a kernel: a file here, a variant below, and one arm in each `match`.

use serde::{Deserialize, Serialize};
use std::hint::black_box;

pub mod arith;
pub mod audio;
pub mod json;
pub mod matmul;
pub mod mobilenet;
pub mod preprocess;
pub mod softmax;
pub mod tokenize;

pub use arith::{arith, arith_iterations};
pub use json::json_round_trip;
pub use matmul::{matmul, matmul_block};

/// A kernel's input does not have the shape its arguments announce.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("{what}: expected {expected} elements, got {got}")]
    Len { what: &'static str, expected: usize, got: usize },
    #[error("{what}: {reason}")]
    Invalid { what: &'static str, reason: &'static str },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kernel {
    /// Like the paper's pure-Python loop: dependent integer arithmetic, one unit = 64 iterations.
    Arith,
    /// Parse and serialise an agent/API JSON payload (serde_json), one unit = one round trip.
    Json,
    /// Dense f32 matmul of 32x32 blocks, one unit = one block product.
    Matmul,
    /// BPE tokenizer on a RAG passage, one unit = one sentence of 10-20 words.
    Tokenize,
    /// Camera frame to NCHW tensor, one unit = one output row of 224 (resize + normalise).
    Preprocess,
    /// Classifier head, one unit = softmax over 1000 logits + top-5.
    SoftmaxTopk,
    /// Speech front end, one unit = one 25 ms frame to 40 log-mel energies.
    AudioFeatures,
    /// MobileNetV2 through ONNX Runtime, one unit = one inference (milliseconds: native
    /// phases only in practice, where no lock checks happen mid-call).
    Mobilenetv2,
}

impl Kernel {
    pub const ALL: [Kernel; 8] = [
        Kernel::Arith,
        Kernel::Json,
        Kernel::Matmul,
        Kernel::Tokenize,
        Kernel::Preprocess,
        Kernel::SoftmaxTopk,
        Kernel::AudioFeatures,
        Kernel::Mobilenetv2,
    ];

    /// The name used in scenario files (same as the serde name).
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Arith => "arith",
            Kernel::Json => "json",
            Kernel::Matmul => "matmul",
            Kernel::Tokenize => "tokenize",
            Kernel::Preprocess => "preprocess",
            Kernel::SoftmaxTopk => "softmax-topk",
            Kernel::AudioFeatures => "audio-features",
            Kernel::Mobilenetv2 => "mobilenetv2",
        }
    }

    /// What one unit of work is, in one line.
    pub fn unit_description(self) -> &'static str {
        match self {
            Kernel::Arith => "64 iterations of dependent integer arithmetic",
            Kernel::Json => "parse + serialise one 700-byte chat-request JSON",
            Kernel::Matmul => "one 32x32 f32 matrix product",
            Kernel::Tokenize => "BPE-encode one 10-20 word sentence of a RAG passage",
            Kernel::Preprocess => "one 224-pixel row: bilinear resize from 640x480 RGB + ImageNet normalisation",
            Kernel::SoftmaxTopk => "softmax over 1000 logits + top-5",
            Kernel::AudioFeatures => "one 400-sample frame: Hann, 512-point FFT, power, 40 log-mel bands",
            Kernel::Mobilenetv2 => "one MobileNetV2 inference (1x3x224x224 -> 1000) in ONNX Runtime",
        }
    }

    /// Runs `units` units of work and returns a checksum. Kernels with a standard input
    /// cover its pieces `0..units`, cycling, the same way on every call.
    pub fn run(self, units: u64) -> u64 {
        // black_box on the result: the work is done even if the caller drops the checksum.
        black_box(match self {
            Kernel::Arith => arith(units),
            Kernel::Json => (0..units).fold(0, |acc, _| acc ^ json_round_trip()),
            Kernel::Matmul => (0..units).fold(0, |acc, _| acc ^ matmul_block()),
            Kernel::Tokenize => tokenize::run(units),
            Kernel::Preprocess => preprocess::run(units),
            Kernel::SoftmaxTopk => softmax::run(units),
            Kernel::AudioFeatures => audio::run(units),
            Kernel::Mobilenetv2 => mobilenet::run(units),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_are_deterministic() {
        for k in Kernel::ALL {
            assert_eq!(k.run(3), k.run(3), "{}", k.name());
        }
    }

    #[test]
    fn serde_names_are_the_names() {
        for k in Kernel::ALL {
            let s = serde_json::to_string(&k).unwrap();
            assert_eq!(s, format!("\"{}\"", k.name()));
            assert_eq!(serde_json::from_str::<Kernel>(&s).unwrap(), k);
            assert!(!k.unit_description().is_empty() && !k.unit_description().contains('\n'));
        }
    }

    #[test]
    fn zero_units_and_wrap_around_do_not_panic() {
        for k in Kernel::ALL {
            let _ = k.run(0);
            // More units than the standard input has pieces: cycles. (An inference is
            // milliseconds; it has no pieces to cycle through.)
            let _ = k.run(if k == Kernel::Mobilenetv2 { 2 } else { 300 });
        }
    }
}
