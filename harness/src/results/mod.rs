//! Results: tidy CSV rows appended as points finish, a JSON manifest, resumable.

mod manifest;
mod row;
mod store;

pub use manifest::{utc_now, Manifest};
pub use row::{Ending, Row, Status};
pub use store::{columns, read_rows, timeline_path, write_timeline, Store, POINTS_CSV};
