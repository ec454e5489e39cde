//! Real ONNX Runtime inference of MobileNetV2 1.0/224 through the `ort` crate.
//!
//! ONNX Runtime is not linked at build time: [`init`] loads `libonnxruntime.so` at run time
//! from the venv that `scripts/setup` makes (onnxruntime 1.32 from PyPI, ONNX Runtime API 31),
//! or from `ORT_DYLIB_PATH`. The model is `models/mobilenetv2.onnx`, built by the same script
//! with seeded random weights (or `GILBENCH_MODEL`).
//!
//! One [`MobileNet`] is meant to be shared by all the threads of a strategy (`Arc<MobileNet>`):
//! [`MobileNet::infer`] takes `&self` and calls ONNX Runtime's `Run` on the shared session
//! concurrently, as Python's `InferenceSession.run` does once it has released the GIL. See the
//! safety note in [`MobileNet::infer_into`] for why this is sound for the CPU execution provider
//! even though `ort`'s own `Session::run` takes `&mut self`.

use std::ffi::{CString, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::ptr;
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, TensorRefMut};
use ort::AsPointer;

use crate::locate::{describe_roots, search_roots, upward};

/// Shape of the model input, NCHW.
pub const INPUT_SHAPE: [usize; 4] = [1, 3, 224, 224];
/// Number of `f32` values of one input image (3 x 224 x 224).
pub const INPUT_LEN: usize = 3 * 224 * 224;
/// Shape of the model output.
pub const OUTPUT_SHAPE: [usize; 2] = [1, 1000];
/// Number of logits of one output.
pub const OUTPUT_LEN: usize = 1000;
/// Environment variable naming the ONNX Runtime shared library; wins over the search.
pub const DYLIB_ENV: &str = "ORT_DYLIB_PATH";
/// Environment variable naming the model file; wins over the search.
pub const MODEL_ENV: &str = "GILBENCH_MODEL";
/// Where `scripts/setup` writes the model, relative to the repository root.
pub const MODEL_RELATIVE_PATH: &str = "models/mobilenetv2.onnx";
/// Where `scripts/setup` installs the library, relative to the repository root (a glob).
pub const DYLIB_RELATIVE_GLOB: &str =
    ".venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*";

/// Errors of this module. Each message says how to fix the problem.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    #[error(
        "libonnxruntime.so not found (looked for {DYLIB_RELATIVE_GLOB} in every directory upward \
         from {looked}): run scripts/setup, or set ORT_DYLIB_PATH to the library"
    )]
    DylibNotFound { looked: String },

    #[error(
        "ORT_DYLIB_PATH is set to {}, which is not a file: fix or unset it \
         (scripts/setup installs the library under .venv/)", path.display()
    )]
    DylibEnvMissing { path: PathBuf },

    #[error(
        "cannot load ONNX Runtime from {}: {message}; run scripts/setup (it installs onnxruntime \
         1.32; ort 2.0.0-rc.15 needs >= 1.31), or set ORT_DYLIB_PATH to a compatible \
         libonnxruntime.so", path.display()
    )]
    DylibLoad { path: PathBuf, message: String },

    #[error(
        "model {MODEL_RELATIVE_PATH} not found (looked in every directory upward from {looked}): \
         run scripts/setup, or set GILBENCH_MODEL to an .onnx file"
    )]
    ModelNotFound { looked: String },

    #[error(
        "model file {} not found: run scripts/setup to build it, or set GILBENCH_MODEL to an \
         existing .onnx file", path.display()
    )]
    ModelMissing { path: PathBuf },

    #[error("cannot read model {}: {source}", path.display())]
    ModelRead { path: PathBuf, source: io::Error },

    #[error(
        "model {} is not a valid ONNX file ({detail}): rebuild it with scripts/setup --force",
        path.display()
    )]
    ModelInvalid { path: PathBuf, detail: String },

    #[error(
        "input has {actual} values, expected {INPUT_LEN} (float32 NCHW 1x3x224x224); output \
         buffer needs {OUTPUT_LEN}"
    )]
    BadLength { actual: usize },

    #[error("ONNX Runtime failed while {context}: {message}")]
    Runtime { context: &'static str, message: String },
}

fn runtime_error<E: std::fmt::Display>(context: &'static str) -> impl FnOnce(E) -> OnnxError {
    move |e| OnnxError::Runtime { context, message: e.to_string() }
}

// ---- loading ONNX Runtime ------------------------------------------------------------------

static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Loads ONNX Runtime (the library [`find_dylib`] finds) and creates the process-wide
/// environment. Idempotent and thread-safe; after a failure a later call tries again.
pub fn init() -> Result<(), OnnxError> {
    environment().map(|_| ())
}

fn environment() -> Result<&'static Environment, OnnxError> {
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    // The lock only serialises the first initialisation; a poisoned lock guards no data.
    let _guard = INIT_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(env) = ENVIRONMENT.get() {
        return Ok(env);
    }
    let dylib = find_dylib()?;
    let load_error = |message: String| OnnxError::DylibLoad { path: dylib.clone(), message };
    let builder = ort::init_from(&dylib).map_err(|e| load_error(e.to_string()))?;
    let env = builder
        .with_name("gilbench")
        .build()
        .map_err(|e| load_error(format!("creating the environment: {e}")))?;
    Ok(ENVIRONMENT.get_or_init(|| env))
}

/// The ONNX Runtime shared library: `ORT_DYLIB_PATH` when set (and non-empty), else the first
/// `.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*` found in a directory
/// upward from the running executable, then upward from the current directory.
pub fn find_dylib() -> Result<PathBuf, OnnxError> {
    find_dylib_from(std::env::var_os(DYLIB_ENV), &search_roots())
}

/// The model: `GILBENCH_MODEL` when set (and non-empty), else `models/mobilenetv2.onnx` in a
/// directory upward from the running executable, then upward from the current directory.
pub fn find_model() -> Result<PathBuf, OnnxError> {
    find_model_from(std::env::var_os(MODEL_ENV), &search_roots())
}

fn find_dylib_from(env: Option<OsString>, roots: &[PathBuf]) -> Result<PathBuf, OnnxError> {
    if let Some(path) = env.filter(|v| !v.is_empty()).map(PathBuf::from) {
        return if path.is_file() { Ok(path) } else { Err(OnnxError::DylibEnvMissing { path }) };
    }
    upward(roots)
        .into_iter()
        .find_map(|dir| dylib_in_venv(&dir.join(".venv")))
        .ok_or_else(|| OnnxError::DylibNotFound { looked: describe_roots(roots) })
}

/// `venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*`, the first in name order.
fn dylib_in_venv(venv: &Path) -> Option<PathBuf> {
    let sorted_entries = |dir: &Path, prefix: &str| -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .map(|e| e.path())
            .collect();
        found.sort();
        found
    };
    sorted_entries(&venv.join("lib"), "python3").into_iter().find_map(|python| {
        let capi = python.join("site-packages").join("onnxruntime").join("capi");
        sorted_entries(&capi, "libonnxruntime.so").into_iter().find(|p| p.is_file())
    })
}

fn find_model_from(env: Option<OsString>, roots: &[PathBuf]) -> Result<PathBuf, OnnxError> {
    if let Some(path) = env.filter(|v| !v.is_empty()).map(PathBuf::from) {
        return if path.is_file() { Ok(path) } else { Err(OnnxError::ModelMissing { path }) };
    }
    upward(roots)
        .into_iter()
        .map(|dir| dir.join(MODEL_RELATIVE_PATH))
        .find(|p| p.is_file())
        .ok_or_else(|| OnnxError::ModelNotFound { looked: describe_roots(roots) })
}

// ---- the model -------------------------------------------------------------------------------

/// A MobileNetV2 ONNX Runtime session, shareable by any number of threads (`Send + Sync`).
#[derive(Debug)]
pub struct MobileNet {
    session: Session,
    input_name: CString,
    output_name: CString,
    intra_op_threads: usize,
}

impl MobileNet {
    /// Loads `model` into a CPU session whose operators use `intra_op_threads` threads
    /// (0 = ONNX Runtime's default, one per physical core). Calls [`init`] first.
    pub fn load(model: &Path, intra_op_threads: usize) -> Result<MobileNet, OnnxError> {
        if !model.is_file() {
            return Err(OnnxError::ModelMissing { path: model.to_path_buf() });
        }
        let env = environment()?;
        let session = Session::builder(env)
            .map_err(runtime_error("creating session options"))?
            .with_intra_threads(intra_op_threads)
            .map_err(runtime_error("setting the intra-op thread count"))?
            .commit_from_file(model)
            .map_err(|e| OnnxError::ModelInvalid {
                path: model.to_path_buf(),
                detail: format!("ONNX Runtime cannot load it: {e}"),
            })?;

        let invalid = |detail: String| OnnxError::ModelInvalid { path: model.to_path_buf(), detail };
        let (input, output) = match (session.inputs(), session.outputs()) {
            ([input], [output]) => (input, output),
            (inputs, outputs) => {
                return Err(invalid(format!(
                    "expected 1 input and 1 output, found {} and {}",
                    inputs.len(),
                    outputs.len()
                )))
            }
        };
        let expect_f32 = |what: &str, outlet: &ort::value::Outlet, shape: &[usize]| {
            let dtype = outlet.dtype();
            let dims: Option<Vec<i64>> = dtype.tensor_shape().map(|s| s.to_vec());
            let want: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            if dtype.tensor_type() == Some(TensorElementType::Float32) && dims.as_deref() == Some(&want[..]) {
                Ok(())
            } else {
                Err(invalid(format!("{what} `{}` is {dtype}, expected float32 {want:?}", outlet.name())))
            }
        };
        expect_f32("input", input, &INPUT_SHAPE)?;
        expect_f32("output", output, &OUTPUT_SHAPE)?;
        let c_name = |name: &str| CString::new(name).map_err(|_| invalid(format!("name {name:?} contains NUL")));
        let input_name = c_name(input.name())?;
        let output_name = c_name(output.name())?;
        Ok(MobileNet { session, input_name, output_name, intra_op_threads })
    }

    /// Runs one inference: `input` is one float32 NCHW image of [`INPUT_LEN`] values; returns
    /// the [`OUTPUT_LEN`] logits.
    pub fn infer(&self, input: &[f32]) -> Result<Vec<f32>, OnnxError> {
        let mut logits = vec![0.0_f32; OUTPUT_LEN];
        self.infer_into(input, &mut logits)?;
        Ok(logits)
    }

    /// Like [`MobileNet::infer`], writing the logits into `logits` (ONNX Runtime writes there
    /// directly; no allocation besides ONNX Runtime's own).
    pub fn infer_into(&self, input: &[f32], logits: &mut [f32]) -> Result<(), OnnxError> {
        if input.len() != INPUT_LEN {
            return Err(OnnxError::BadLength { actual: input.len() });
        }
        if logits.len() != OUTPUT_LEN {
            return Err(OnnxError::BadLength { actual: logits.len() });
        }
        let input_tensor =
            TensorRef::from_array_view((INPUT_SHAPE, input)).map_err(runtime_error("wrapping the input"))?;
        let output_tensor = TensorRefMut::from_array_view_mut((OUTPUT_SHAPE, logits))
            .map_err(runtime_error("wrapping the output buffer"))?;

        let input_names = [self.input_name.as_ptr()];
        let output_names = [self.output_name.as_ptr()];
        let inputs = [input_tensor.ptr()];
        // `TensorRefMut` holds the exclusive borrow of `logits` that ONNX Runtime writes through.
        let preallocated = output_tensor.ptr().cast_mut();
        let mut outputs = [preallocated];

        // SAFETY: all pointers are valid for the call: the session lives as long as `self`, the
        // names are NUL-terminated CStrings owned by `self`, and the two OrtValues wrap `input`
        // and `logits`, which outlive the call and have the shapes checked above. ONNX Runtime
        // writes into a pre-allocated output of the right shape and does not replace it.
        //
        // Concurrency: `ort` makes `Session::run` take `&mut self` because some execution
        // providers (CUDA and others) and allocator statistics are not thread-safe. This session
        // only ever has the default CPU execution provider, for which ONNX Runtime documents that
        // several threads may call `Run` on one session at the same time ("Multiple threads can
        // invoke the Run() method on the same inference session object"), and Python's
        // `InferenceSession.run` does exactly this with the GIL released, which is the behaviour
        // the benchmark measures. No other method of the session is called after `load`. The
        // test `shared_session_concurrent_runs_match_sequential` checks it on this model.
        let status = unsafe {
            (ort::api().Run)(
                self.session.ptr().cast_mut(),
                ptr::null(),
                input_names.as_ptr(),
                inputs.as_ptr(),
                inputs.len(),
                output_names.as_ptr(),
                output_names.len(),
                outputs.as_mut_ptr(),
            )
        };
        // SAFETY: `status` was just returned by ONNX Runtime and is released by this call.
        unsafe { ort::Error::result_from_status(status) }.map_err(runtime_error("running inference"))?;
        if outputs[0] != preallocated {
            // Not expected with a pre-allocated output of the right shape; release what ONNX
            // Runtime allocated instead of leaking it, and report.
            // SAFETY: a value returned by Run that we own and do not use afterwards.
            unsafe { (ort::api().ReleaseValue)(outputs[0]) };
            return Err(OnnxError::Runtime {
                context: "running inference",
                message: "ONNX Runtime did not write into the pre-allocated output".into(),
            });
        }
        Ok(())
    }

    /// The intra-op thread count this session was created with (0 = ONNX Runtime's default).
    pub fn intra_op_threads(&self) -> usize {
        self.intra_op_threads
    }

    /// Number of learnable parameters of `model`: the elements of all its initializers of rank
    /// one or more (scalar initializers such as ReLU6's Clip bounds are constants, not
    /// parameters).
    /// Reads the ONNX protobuf directly; ONNX Runtime does not expose initializers.
    pub fn parameter_count(model: &Path) -> Result<u64, OnnxError> {
        let bytes = std::fs::read(model).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => OnnxError::ModelMissing { path: model.to_path_buf() },
            _ => OnnxError::ModelRead { path: model.to_path_buf(), source },
        })?;
        proto::parameter_count(&bytes)
            .map_err(|detail| OnnxError::ModelInvalid { path: model.to_path_buf(), detail })
    }
}

/// Just enough of the protobuf wire format to count the elements of an ONNX model's
/// initializers: ModelProto.graph (7) -> GraphProto.initializer (5) -> TensorProto.dims (1).
mod proto {
    const MODEL_GRAPH: u64 = 7;
    const GRAPH_INITIALIZER: u64 = 5;
    const TENSOR_DIMS: u64 = 1;

    enum Field<'a> {
        Varint(u64),
        Bytes(&'a [u8]),
        Fixed,
    }

    fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *buf.get(*pos).ok_or("truncated varint")?;
            *pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    /// Calls `f(field_number, field)` for every field of the message `buf`.
    fn for_each_field<'a>(
        buf: &'a [u8],
        mut f: impl FnMut(u64, Field<'a>) -> Result<(), String>,
    ) -> Result<(), String> {
        let mut pos = 0;
        while pos < buf.len() {
            let key = varint(buf, &mut pos)?;
            let (number, wire_type) = (key >> 3, key & 7);
            let field = match wire_type {
                0 => Field::Varint(varint(buf, &mut pos)?),
                1 | 5 => {
                    let width = if wire_type == 1 { 8 } else { 4 };
                    pos = pos.checked_add(width).filter(|&end| end <= buf.len()).ok_or("truncated fixed field")?;
                    Field::Fixed
                }
                2 => {
                    let len = usize::try_from(varint(buf, &mut pos)?).map_err(|_| "length overflow")?;
                    let end = pos.checked_add(len).filter(|&end| end <= buf.len()).ok_or("truncated field")?;
                    let bytes = &buf[pos..end];
                    pos = end;
                    Field::Bytes(bytes)
                }
                other => return Err(format!("unsupported wire type {other} in field {number}")),
            };
            f(number, field)?;
        }
        Ok(())
    }

    /// Elements of one TensorProto, or None for a scalar (no dims).
    fn tensor_elements(tensor: &[u8]) -> Result<Option<u64>, String> {
        let mut dims: Vec<u64> = Vec::new();
        let mut push = |d: u64| -> Result<(), String> {
            // dims are int64; a negative one arrives as a huge two's-complement varint.
            if d > i64::MAX as u64 {
                return Err("negative initializer dimension".into());
            }
            dims.push(d);
            Ok(())
        };
        for_each_field(tensor, |number, field| match (number, field) {
            (TENSOR_DIMS, Field::Varint(d)) => push(d),
            (TENSOR_DIMS, Field::Bytes(packed)) => {
                let mut pos = 0;
                while pos < packed.len() {
                    push(varint(packed, &mut pos)?)?;
                }
                Ok(())
            }
            _ => Ok(()),
        })?;
        if dims.is_empty() {
            return Ok(None);
        }
        dims.iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .map(Some)
            .ok_or_else(|| "initializer size overflows u64".into())
    }

    pub(super) fn parameter_count(model: &[u8]) -> Result<u64, String> {
        let mut graphs = 0usize;
        let mut total = 0u64;
        for_each_field(model, |number, field| {
            if let (MODEL_GRAPH, Field::Bytes(graph)) = (number, field) {
                graphs += 1;
                for_each_field(graph, |number, field| {
                    if let (GRAPH_INITIALIZER, Field::Bytes(tensor)) = (number, field) {
                        let n = tensor_elements(tensor)?.unwrap_or(0);
                        total = total.checked_add(n).ok_or("parameter count overflows u64")?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
        match graphs {
            0 => Err("no graph in the file".into()),
            _ => Ok(total),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn key(number: u64, wire: u64) -> u8 {
            u8::try_from((number << 3) | wire).expect("small field number")
        }
        fn len_field(number: u64, body: &[u8]) -> Vec<u8> {
            assert!(body.len() < 128);
            let mut v = vec![key(number, 2), body.len() as u8];
            v.extend_from_slice(body);
            v
        }

        #[test]
        fn counts_packed_and_unpacked_dims_and_skips_scalars() {
            // tensor A: dims 2, 3 unpacked (+ a name field); tensor B: dims 4, 5 packed; C: scalar.
            let mut a = vec![key(1, 0), 2, key(1, 0), 3];
            a.extend(len_field(8, b"w"));
            let b = len_field(1, &[4, 5]);
            let c = len_field(8, b"scalar");
            let mut graph = len_field(5, &a);
            graph.extend(len_field(5, &b));
            graph.extend(len_field(5, &c));
            graph.extend(len_field(1, b"node"));
            let mut model = vec![key(1, 0), 8]; // ir_version
            model.extend(len_field(7, &graph));
            assert_eq!(parameter_count(&model), Ok(2 * 3 + 4 * 5));
        }

        #[test]
        fn rejects_truncated_and_graphless_input() {
            assert!(parameter_count(&[key(7, 2), 10, 1]).is_err());
            assert!(parameter_count(&[key(1, 0), 8]).is_err());
            assert!(parameter_count(b"not a protobuf at all").is_err());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Parameters of MobileNetV2 1.0/224 with BatchNorm folded into conv biases: torchvision's
    /// 3 504 872 minus one of BN's two parameters per channel (17 056 channels). The same
    /// number `scripts/build_mobilenetv2.py` prints.
    const EXPECTED_PARAMETERS: u64 = 3_487_816;

    /// The real model and runtime; absent ones fail with the message naming scripts/setup.
    fn model_path() -> PathBuf {
        find_model().unwrap_or_else(|e| panic!("{e}"))
    }

    fn load(threads: usize) -> MobileNet {
        MobileNet::load(&model_path(), threads).unwrap_or_else(|e| panic!("{e}"))
    }

    fn image(seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..INPUT_LEN)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn mobilenet_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<MobileNet>();
    }

    #[test]
    fn output_has_1000_finite_logits() {
        let net = load(1);
        let logits = net.infer(&image(1)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(logits.len(), OUTPUT_LEN);
        assert!(logits.iter().all(|v| v.is_finite()), "non-finite logits");
        assert!(logits.iter().any(|&v| v != 0.0), "all logits are zero");
    }

    #[test]
    fn same_input_gives_same_output() {
        for threads in [1, 2] {
            let net = load(threads);
            let input = image(2);
            let first = net.infer(&input).unwrap_or_else(|e| panic!("{e}"));
            let second = net.infer(&input).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(first, second, "intra_op_threads={threads}");
            let other = net.infer(&image(3)).unwrap_or_else(|e| panic!("{e}"));
            assert_ne!(first, other, "different inputs gave the same logits");
        }
    }

    #[test]
    fn shared_session_concurrent_runs_match_sequential() {
        for threads in [1, 2] {
            concurrent_runs_match_sequential(threads);
        }
    }

    fn concurrent_runs_match_sequential(intra_op_threads: usize) {
        let net = Arc::new(load(intra_op_threads));
        let inputs: Vec<Vec<f32>> = (10..14).map(image).collect();
        let expected: Vec<Vec<f32>> =
            inputs.iter().map(|x| net.infer(x).unwrap_or_else(|e| panic!("{e}"))).collect();
        let inputs = Arc::new(inputs);
        let workers: Vec<_> = (0..4)
            .map(|t| {
                let (net, inputs) = (Arc::clone(&net), Arc::clone(&inputs));
                std::thread::spawn(move || {
                    (0..6)
                        .map(|i| {
                            let k = (t + i) % inputs.len();
                            (k, net.infer(&inputs[k]).unwrap_or_else(|e| panic!("{e}")))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for worker in workers {
            for (k, logits) in worker.join().expect("worker thread panicked") {
                assert_eq!(logits, expected[k], "input {k}, intra_op_threads={intra_op_threads}");
            }
        }
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let net = load(1);
        let err = net.infer(&[0.0; 10]).expect_err("short input accepted");
        assert!(matches!(err, OnnxError::BadLength { actual: 10 }), "{err}");
        let mut small = [0.0_f32; 3];
        let err = net.infer_into(&image(4), &mut small).expect_err("short output accepted");
        assert!(matches!(err, OnnxError::BadLength { actual: 3 }), "{err}");
    }

    #[test]
    fn parameter_count_of_built_model() {
        let path = model_path();
        let count = MobileNet::parameter_count(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!((3_400_000..3_600_000).contains(&count), "{count}");
        assert_eq!(count, EXPECTED_PARAMETERS);
        // The builder's sidecar, when present, must agree.
        if let Ok(json) = std::fs::read_to_string(path.with_extension("json")) {
            let needle = format!("\"parameter_count\": {EXPECTED_PARAMETERS}");
            assert!(json.contains(&needle), "sidecar disagrees: {json}");
        }
    }

    #[test]
    fn missing_files_name_the_setup_script() {
        let nowhere = vec![PathBuf::from("/nonexistent-gilbench-root/a/b")];
        for err in [
            find_dylib_from(None, &nowhere).expect_err("found a dylib in nowhere"),
            find_model_from(None, &nowhere).expect_err("found a model in nowhere"),
            MobileNet::load(Path::new("/nonexistent-gilbench-root/m.onnx"), 1).expect_err("loaded nothing"),
            MobileNet::parameter_count(Path::new("/nonexistent-gilbench-root/m.onnx")).expect_err("read nothing"),
        ] {
            let msg = err.to_string();
            assert!(msg.contains("scripts/setup"), "{msg}");
        }
        let err = find_dylib_from(Some("/nonexistent-gilbench-root/lib.so".into()), &nowhere)
            .expect_err("missing ORT_DYLIB_PATH accepted");
        assert!(err.to_string().contains("ORT_DYLIB_PATH"), "{err}");
        let err = find_model_from(Some("/nonexistent-gilbench-root/m.onnx".into()), &nowhere)
            .expect_err("missing GILBENCH_MODEL accepted");
        assert!(err.to_string().contains("GILBENCH_MODEL"), "{err}");
    }

    #[test]
    fn search_goes_upward_and_env_wins() {
        let root = std::env::temp_dir().join(format!("gilbench-onnx-search-{}", std::process::id()));
        let capi = root.join(".venv/lib/python3.11/site-packages/onnxruntime/capi");
        let deep = root.join("target/release/deps");
        std::fs::create_dir_all(&capi).expect("mkdir capi");
        std::fs::create_dir_all(root.join("models")).expect("mkdir models");
        std::fs::create_dir_all(&deep).expect("mkdir deep");
        std::fs::write(capi.join("libonnxruntime.so.1.32.0"), b"").expect("touch dylib");
        std::fs::write(capi.join("libonnxruntime_providers_shared.so"), b"").expect("touch other");
        std::fs::write(root.join(MODEL_RELATIVE_PATH), b"").expect("touch model");
        let roots = vec![deep.clone()];
        assert_eq!(find_dylib_from(None, &roots).ok(), Some(capi.join("libonnxruntime.so.1.32.0")));
        assert_eq!(find_model_from(None, &roots).ok(), Some(root.join(MODEL_RELATIVE_PATH)));
        let other = root.join("models/other.onnx");
        std::fs::write(&other, b"").expect("touch other model");
        assert_eq!(find_model_from(Some(other.clone().into()), &roots).ok(), Some(other));
        assert_eq!(find_dylib_from(Some("".into()), &roots).ok(), Some(capi.join("libonnxruntime.so.1.32.0")));
        std::fs::remove_dir_all(&root).expect("cleanup");
    }
}
