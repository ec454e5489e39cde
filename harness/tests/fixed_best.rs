//! `fixed-best` re-measures the best fixed pool of its cell and repetition: the runner picks
//! N from the rows before it, also those of an earlier, resumed run.
mod common;
use common::*;

use gilbench::results::{Row, Status};

const SWEEP: &str = r#"
[sweep]
devices = ["one"]
runtimes = ["gil"]
workloads = ["w"]
strategies = ["fixed", "fixed-best"]
threads = [1, 2, 8]
"#;

/// The N of the fixed row with the highest TPS (the smaller N on a tie).
fn best_n(rows: &[Row]) -> u32 {
    let fixed = rows.iter().filter(|r| r.strategy == "fixed" && r.status == Status::Ok);
    let best = fixed.max_by(|a, b| a.tps.unwrap().total_cmp(&b.tps.unwrap()).then(b.threads.cmp(&a.threads)));
    best.expect("fixed rows").threads
}

fn fixed_best(rows: &[Row]) -> &Row {
    rows.iter().find(|r| r.strategy == "fixed-best").expect("a fixed-best row")
}

#[test]
fn fixed_best_runs_the_best_fixed_n_so_far_and_resumes() {
    let _one_at_a_time = serial();
    require_cgroups();
    let (dir, file) = scenario(&format!("{ONE_CORE_W}{SWEEP}"));
    let f = file.to_str().unwrap();

    let rows = run(&file, &dir.path().join("all"));
    assert_eq!(rows.len(), 4, "3 fixed pools and fixed-best");
    let fb = fixed_best(&rows);
    assert_eq!((fb.status, fb.threads), (Status::Ok, 0), "{}", fb.message);
    assert_eq!(fb.final_threads, Some(best_n(&rows)));
    assert!(fb.tps.is_some_and(|t| t > 0.0));

    // Alone in a new folder, it has nothing to measure again: an error row that says why,
    // and the run goes on to its end.
    let alone = dir.path().join("alone");
    let o = gilbench(&["run", f, "--out", alone.to_str().unwrap(), "--only", "strategy=fixed-best"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = common::rows(&alone);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, Status::Error);
    assert!(rows[0].message.contains("no fixed pool"), "{}", rows[0].message);

    // Fixed pools first, fixed-best in a resumed run: N from the rows already on disk.
    let split = dir.path().join("split");
    let o = gilbench(&["run", f, "--out", split.to_str().unwrap(), "--only", "strategy=fixed"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = gilbench(&["run", f, "--resume", split.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = common::rows(&split);
    assert_eq!(rows.len(), 4);
    assert_eq!(fixed_best(&rows).final_threads, Some(best_n(&rows)));
    // Complete: resuming again runs nothing (its key is the plan's, threads = 0).
    let o = gilbench(&["run", f, "--resume", split.to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!(common::rows(&split).len(), 4);
    assert_no_leftover_cgroups();
}
