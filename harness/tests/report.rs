//! `gilbench report` and `gilbench compare` on small CSV fixtures: the files written, the
//! numbers in report.md, clear errors for bad CSVs, and unmatched points listed.

use std::path::{Path, PathBuf};
use std::process::Command;

use gilbench::report::{self, compare};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/small")
}

fn options(out: &Path) -> report::Options {
    report::Options { out: out.to_path_buf(), criterion: None }
}

#[test]
fn report_writes_figures_tables_and_page() {
    let tmp = tempfile::tempdir().unwrap();
    let r = report::write(&fixture(), &options(tmp.path())).unwrap();
    for name in [
        "cliff-micro",
        "p99-micro",
        "per-thread-micro",
        "strategies",
        "efficiency",
        "memory",
        "heatmap",
        "timeline-edge-1c_gil_micro_adaptive_0_7",
    ] {
        for ext in ["svg", "png"] {
            let f = tmp.path().join(format!("{name}.{ext}"));
            assert!(f.metadata().map(|m| m.len() > 1000).unwrap_or(false), "{} missing or empty", f.display());
        }
    }
    let png = std::fs::read(tmp.path().join("cliff-micro.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let skipped: Vec<&str> = r.skipped.iter().map(|s| s.0).collect();
    assert_eq!(skipped, ["beta-threshold sensitivity", "instrumentation overhead"]);

    let md = std::fs::read_to_string(tmp.path().join("report.md")).unwrap();
    // Peak at N = 4 (mean 3000), mean 1500 at N = 8: -50 %.
    assert!(md.contains("micro on edge-1c, gil, fixed: peak at N = 4 (3000 TPS), -50 % at N = 8: cliff present"), "{md}");
    // The adaptive pool's steady TPS 2800 against the best fixed pool's 3000.
    assert!(md.contains("| 2800 [2552, 3048] | 3000 (4) | 93.3 % |"), "{md}");
    // N = 2: 1900, 2000, 2100 -> 2000 +- 4.303 * 100 / sqrt(3) = [1752, 2248].
    assert!(md.contains("| 2000 [1752, 2248] |"), "{md}");
    assert!(md.contains("beta-threshold sensitivity: the scenario does not sweep beta_thresh"));
    assert!(md.contains("| oom |"), "the oom repetition is reported");

    let html = std::fs::read_to_string(tmp.path().join("index.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), r.figures.len());
    assert!(!html.contains("<?xml") && !html.contains("<script"));
    assert!(html.contains("<td class=\"n\">93.3 %</td>"));

    // means.csv holds the same estimates: N = 2 of the fixed sweep, 2000 [1752, 2248].
    let means = std::fs::read_to_string(tmp.path().join("means.csv")).unwrap();
    assert!(means.starts_with("device,runtime,workload,strategy,threads,cpus,reps,reps_ok,not_ok,tps_mean,"), "{means}");
    let n2 = means.lines().find(|l| l.contains(",micro,fixed,2,")).expect("a row for micro, fixed N = 2");
    let cells: Vec<&str> = n2.split(',').collect();
    let cell = |name: &str| cells[report::means::HEADER.iter().position(|h| *h == name).unwrap()].parse::<f64>().unwrap();
    assert_eq!(cell("tps_mean"), 2000.0, "{n2}");
    let (lo, hi) = (cell("tps_ci_low"), cell("tps_ci_high"));
    assert!((lo - 1752.0).abs() < 1.0 && (hi - 2248.0).abs() < 1.0, "{n2}");
}

fn write_csv(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn fixture_csv() -> String {
    std::fs::read_to_string(fixture().join("points.csv")).unwrap()
}

#[test]
fn garbage_value_names_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = fixture_csv().lines().map(String::from).collect();
    lines[2] = lines[2].replace(",1010,", ",fast,");
    let p = write_csv(tmp.path(), "bad.csv", &(lines.join("\n") + "\n"));
    let e = format!("{:#}", report::write(&p, &options(&tmp.path().join("out"))).unwrap_err());
    assert!(e.contains("bad.csv: line 3, column `tps`"), "{e}");
}

#[test]
fn missing_column_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let text: String = fixture_csv()
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            // Drop the 16th column, tps.
            cells.iter().enumerate().filter(|(i, _)| *i != 15).map(|(_, c)| *c).collect::<Vec<_>>().join(",") + "\n"
        })
        .collect();
    assert!(!text.lines().next().unwrap().contains(",tps,"));
    let p = write_csv(tmp.path(), "nocol.csv", &text);
    let e = format!("{:#}", report::write(&p, &options(&tmp.path().join("out"))).unwrap_err());
    assert!(e.contains("nocol.csv: line 1 (the header) has no column `tps`"), "{e}");
}

/// The built binary with `args`, run to completion.
fn gilbench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gilbench")).args(args).output().unwrap()
}

#[test]
fn compare_lists_points_on_one_side_only() {
    let tmp = tempfile::tempdir().unwrap();
    let all = fixture_csv();
    let mut lines = all.lines();
    let header = lines.next().unwrap();
    let (mut a, mut b) = (vec![header], vec![header]);
    for l in lines {
        // Side a: micro only; side b: pure-io plus micro at N = 4.
        if l.contains(",micro,fixed,") {
            a.push(l);
        }
        if l.contains(",pure-io,") || l.contains(",micro,fixed,4,") {
            b.push(l);
        }
    }
    let pa = write_csv(tmp.path(), "a.csv", &(a.join("\n") + "\n"));
    let pb = write_csv(tmp.path(), "b.csv", &(b.join("\n") + "\n"));
    let sides = compare::sides(&[pa, pb], None).unwrap();
    let c = compare::compare(&sides[0], &sides[1], None);
    assert_eq!(c.matched.len(), 1);
    // N = 16 has only an oom repetition: listed too, not dropped.
    assert_eq!(c.only_reference.iter().map(|g| g.threads).collect::<Vec<_>>(), [1, 2, 8, 16]);
    assert_eq!(c.only_changed.len(), 4);
    let text = compare::text(&c);
    assert!(text.contains("Only in a (4 points, not compared)"), "{text}");
    assert!(text.contains("Only in b (4 points, not compared)"), "{text}");
    assert!(text.contains("| edge-1c | gil | micro | fixed | 4 | 3000 +- 100 | 3000 +- 100 | 1.00 [0.93, 1.08] | not significant (p = 1.000, 1.00x faster) |"), "{text}");
}

#[test]
fn compare_by_runtime_reports_significant_speedups() {
    let tmp = tempfile::tempdir().unwrap();
    let all = fixture_csv();
    // A free-threaded copy of the micro sweep with every TPS doubled.
    let mut text = all.clone();
    for l in all.lines().skip(1).filter(|l| l.contains(",micro,fixed,") && l.contains(",ok,")) {
        let mut cells: Vec<String> = l.split(',').map(String::from).collect();
        cells[2] = "free-threaded".into();
        cells[15] = (cells[15].parse::<f64>().unwrap() * 2.0).to_string();
        text.push_str(&(cells.join(",") + "\n"));
    }
    let p = write_csv(tmp.path(), "two.csv", &text);
    let out = tmp.path().join("cmp");
    let run = gilbench(&["compare", p.to_str().unwrap(), "--by", "runtime", "--out", out.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("### gil (reference) -> free-threaded (changed)"), "{stdout}");
    // Equal relative spread on both sides: the ratio is exactly 2 and clearly significant.
    assert!(stdout.contains("| edge-1c | micro | fixed | 4 | 3000 +- 100 | 6000 +- 200 | 2.00 ["), "{stdout}");
    assert!(stdout.contains("2.00x faster (p = "), "{stdout}");
    assert!(stdout.contains("Only in gil"), "pure-io and adaptive have no free-threaded side: {stdout}");
    assert!(out.join("compare-cliff-micro.png").is_file() && out.join("compare-per-thread-micro.svg").is_file());

    // The other way round: free-threaded as the reference, gil the change (half the TPS).
    let run = gilbench(&["compare", p.to_str().unwrap(), "--by", "runtime", "--reference", "free-threaded"]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("### free-threaded (reference) -> gil (changed)"), "{stdout}");
    assert!(stdout.contains("| edge-1c | micro | fixed | 4 | 6000 +- 200 | 3000 +- 100 | 0.50 ["), "{stdout}");
    // A side that is not there: the error names the ones that are.
    let run = gilbench(&["compare", p.to_str().unwrap(), "--by", "runtime", "--reference", "nogil"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(stderr.contains("--reference nogil: no such side; the sides are gil, free-threaded"), "{stderr}");
}

#[test]
fn steady_tps_is_derived_again_from_a_points_timeline() {
    // The fixture's adaptive repetitions say steady 2700, 2800, 2900 (93.3 % of 3000). Give
    // repetition 0 a timeline of a flat 3000 TPS: the report derives 3000 from it instead.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    std::fs::create_dir_all(dir.join("timelines")).unwrap();
    std::fs::write(dir.join("points.csv"), fixture_csv()).unwrap();
    let mut tl = String::from("t_s,threads,tps,beta,beta_ewma,lock_wait_frac,runq_wait_frac,queue_len,cpu_util,decision,target,vetoes\n");
    for k in 1..=40 {
        tl += &format!("{},8,3000,0.5,0.5,0.1,0.1,10,0.9,hold,8,0\n", 0.25 * f64::from(k));
    }
    std::fs::write(dir.join("timelines/edge-1c_gil_micro_adaptive_0_0.csv"), tl).unwrap();
    report::write(&dir, &options(&tmp.path().join("out"))).unwrap();
    let md = std::fs::read_to_string(tmp.path().join("out/report.md")).unwrap();
    // (3000 + 2800 + 2900) / 3 = 2900 -> 96.7 %.
    assert!(md.contains("96.7 %"), "{md}");
}
