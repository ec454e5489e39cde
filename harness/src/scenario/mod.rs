//! Scenario files: TOML -> validated [`Scenario`] -> expanded [`Plan`].

mod glob;
mod model;
mod parse;
mod plan;

pub use glob::glob;
pub use model::*;
pub use parse::{load, ScenarioError};
pub use plan::{estimate, Estimate};
#[cfg(test)]
pub(crate) use plan::tests::point as test_point;
