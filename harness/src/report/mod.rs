//! Reports from result folders. For now the summary table; figures come later.

pub mod summary;

pub use summary::{summarise, table};
