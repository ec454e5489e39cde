//! Scenario files: TOML -> validated [`Scenario`] -> expanded [`Plan`].

mod model;
mod parse;
mod plan;

pub use model::*;
pub use parse::{load, ScenarioError};
pub use plan::{estimate, Estimate};
