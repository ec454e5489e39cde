//! The command line as a user meets it.
mod common;
use common::*;

#[test]
fn list_prints_the_plan_without_running() {
    let o = gilbench(&["list", concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/quick.toml")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    // 2 devices x 2 runtimes x 3 workloads x 12 thread counts.
    assert!(text.contains("144 points"), "{text}");
}

#[test]
fn malformed_scenario_names_file_line_and_column() {
    let (_dir, file) = scenario("seed = 1\n[devices.a]\ncpus = \"two\"\n");
    let o = gilbench(&["list", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{}:3:8", file.display())), "{err}");
}

#[test]
fn only_filters_the_plan() {
    let o = gilbench(&[
        "list",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/quick.toml"),
        "--only",
        "workload=micro,device=edge-1c,threads=1..64",
    ]);
    assert!(o.status.success());
    // 2 runtimes x 7 thread counts.
    assert!(String::from_utf8_lossy(&o.stdout).contains("14 points"));
}

#[test]
fn bad_only_expression_is_a_clear_error() {
    let o = gilbench(&["list", "x.toml", "--only", "colour=red"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown key `colour`"));
}

#[test]
fn every_shipped_scenario_loads() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let o = gilbench(&["list", path.to_str().unwrap()]);
            assert!(o.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&o.stderr));
            checked += 1;
        }
    }
    assert!(checked >= 2, "found {checked} scenarios in {dir}");
    // The seven workloads x 11 thread counts x 2 devices x 3 repetitions.
    let o = gilbench(&["list", &format!("{dir}/edge.toml")]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("462 points"));
}
