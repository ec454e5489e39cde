//! gilbench: how a Python-style runtime behaves under too many threads on a small device,
//! and what an adaptive pool can win back. See README.md and DESIGN.md.
//!
//! The modules follow the data's way through a run: `scenario` (TOML -> plan), `limits`
//! (device profile -> cgroup), `runtime` (interpreter models), `strategy` (tasks meet
//! threads), `measure`, `results` (CSV + manifest), `report`; `runner` drives the sweep.

pub mod controller;
pub mod limits;
pub mod measure;
pub mod report;
pub mod results;
pub mod runner;
pub mod runtime;
pub mod scenario;
pub mod strategy;
