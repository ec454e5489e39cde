//! The interpreter models: what a phase does to the interpreter lock.

pub mod cpython;
mod gil;
mod task;

pub use gil::Gil;
pub use task::{cpu_holding_lock, touched, Program, Step, TaskTimes};

use std::time::Duration;

use crate::scenario::RuntimeSpec;

/// Asked for the emulation of a real interpreter.
#[derive(Debug, thiserror::Error)]
#[error("runtime cpython = {0:?} is a real interpreter: its points run in the Python driver")]
pub struct RealInterpreter(pub String);

/// One interpreter shared by the threads of a point.
#[derive(Debug)]
pub enum Interpreter {
    /// Emulated GIL.
    Gil(Gil),
    /// Free-threaded: no lock.
    Free,
}

impl Interpreter {
    /// The emulated interpreter of a runtime; a real CPython has none here (its points run
    /// in the Python driver, see [`cpython`]).
    pub fn new(spec: &RuntimeSpec) -> Result<Self, RealInterpreter> {
        match spec {
            RuntimeSpec::Gil { switch_interval_us } => Ok(Interpreter::Gil(Gil::new(
                Duration::from_micros(*switch_interval_us),
            ))),
            RuntimeSpec::FreeThreaded => Ok(Interpreter::Free),
            RuntimeSpec::Cpython { interpreter } => Err(RealInterpreter(interpreter.clone())),
        }
    }

    #[inline]
    pub fn take(&self) -> Duration {
        match self {
            Interpreter::Gil(g) => g.take(),
            Interpreter::Free => Duration::ZERO,
        }
    }

    #[inline]
    pub fn drop_lock(&self) {
        if let Interpreter::Gil(g) = self {
            g.drop_lock()
        }
    }

    #[inline]
    pub fn checkpoint(&self) -> Duration {
        match self {
            Interpreter::Gil(g) => g.checkpoint(),
            Interpreter::Free => Duration::ZERO,
        }
    }
}
