//! MobileNetV2 inference through ONNX Runtime (see `crate::onnx`). One unit = one inference of
//! the standard camera frame (640x480, resized and normalised by the `preprocess` kernel's
//! functions) on the session this process shares among all its threads. Native code: used in
//! `native` phases it runs with the interpreter lock released, as onnxruntime's binding does.

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use super::preprocess::{normalize_nchw, resize_bilinear, standard_frame, DST, IMAGENET_MEAN, IMAGENET_STD, SRC_H, SRC_W};
use crate::onnx::{find_model, MobileNet, OnnxError, INPUT_LEN, OUTPUT_LEN};

static SESSION: OnceLock<MobileNet> = OnceLock::new();

/// Loads this process's shared session once, from `model` or from the model `scripts/setup`
/// builds. Later calls keep the first session (one point per process).
pub fn prepare(model: Option<&Path>, intra_op_threads: usize) -> Result<(), OnnxError> {
    // Serialise loads so that two threads do not both pay for one.
    static LOADING: Mutex<()> = Mutex::new(());
    let _guard = LOADING.lock().unwrap_or_else(|e| e.into_inner());
    if SESSION.get().is_none() {
        let path = match model {
            Some(p) => p.to_path_buf(),
            None => find_model()?,
        };
        let _ = SESSION.set(MobileNet::load(&path, intra_op_threads)?);
    }
    Ok(())
}

/// The standard frame as the network's input tensor, built once.
pub fn standard_input() -> &'static [f32] {
    static T: OnceLock<Vec<f32>> = OnceLock::new();
    T.get_or_init(|| {
        // Invariant: the standard sizes are valid, so neither call can fail.
        resize_bilinear(standard_frame(), SRC_W, SRC_H, DST, DST)
            .and_then(|rgb| normalize_nchw(&rgb, DST, DST, IMAGENET_MEAN, IMAGENET_STD))
            .unwrap_or_else(|_| vec![0.0; INPUT_LEN])
    })
}

/// `units` inferences; returns the sum of the top-1 class indices.
///
/// # Panics
/// When no session can be loaded: callers that run points call [`prepare`] first and report
/// its error; the panic message names the set-up command.
pub fn run(units: u64) -> u64 {
    if SESSION.get().is_none() {
        if let Err(e) = prepare(None, 1) {
            panic!("mobilenetv2 kernel: {e}");
        }
    }
    let Some(net) = SESSION.get() else { return 0 };
    let input = standard_input();
    let mut logits = vec![0f32; OUTPUT_LEN];
    let mut acc = 0u64;
    for _ in 0..units {
        if let Err(e) = net.infer_into(input, &mut logits) {
            panic!("mobilenetv2 kernel: inference failed: {e}");
        }
        acc += argmax(&logits) as u64;
    }
    acc
}

fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_input_is_a_normalised_frame() {
        let t = standard_input();
        assert_eq!(t.len(), INPUT_LEN);
        assert!(t.iter().all(|v| v.is_finite() && v.abs() < 3.0));
    }

    #[test]
    fn inference_is_repeatable() {
        prepare(None, 1).expect("model and ONNX Runtime present (run scripts/setup)");
        assert_eq!(run(1), run(1));
        assert_eq!(run(2), 2 * run(1));
    }

    #[test]
    fn argmax_picks_the_largest() {
        assert_eq!(argmax(&[0.1, 3.0, -1.0, 2.9]), 1);
    }
}
