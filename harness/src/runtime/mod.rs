//! The interpreter models: what a phase does to the interpreter lock.

mod gil;
mod task;

pub use gil::Gil;
pub use task::{cpu_holding_lock, touched, Program, Step, TaskTimes};

use std::time::Duration;

use crate::scenario::RuntimeSpec;

/// One interpreter shared by the threads of a point.
#[derive(Debug)]
pub enum Interpreter {
    /// Emulated GIL.
    Gil(Gil),
    /// Free-threaded: no lock.
    Free,
}

impl Interpreter {
    pub fn new(spec: &RuntimeSpec) -> Self {
        match spec {
            RuntimeSpec::Gil { switch_interval_us } => {
                Interpreter::Gil(Gil::new(Duration::from_micros(*switch_interval_us)))
            }
            RuntimeSpec::FreeThreaded => Interpreter::Free,
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
