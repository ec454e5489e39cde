//! Reports from result folders: the end-of-run summary table, and `gilbench report` /
//! `gilbench compare` (statistics, figures, report.md, index.html, means.csv). Statistics (stats.rs)
//! and aggregation (aggregate.rs) are pure; figures/ draws; markdown.rs and html.rs render.

pub mod aggregate;
pub mod build;
pub mod compare;
pub mod controllers;
pub mod cpu_cost;
pub mod figures;
pub mod hindsight;
pub mod html;
pub mod load;
pub mod markdown;
pub mod means;
pub mod stats;
pub mod summary;
pub mod tables;

pub use build::{write, Options, Report};
pub use summary::{summarise, table};
