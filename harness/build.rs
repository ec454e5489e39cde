//! Records the git revision and rustc version for manifest.json. A build from a tree with
//! uncommitted changes is marked `-dirty`: its results did not come from that revision.
use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    println!("cargo:rustc-env=GILBENCH_RUSTC_VERSION={}", output(&rustc, &["--version"]));
    let mut rev = output("git", &["rev-parse", "HEAD"]);
    if rev != "unknown" && !output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        rev.push_str("-dirty");
    }
    println!("cargo:rustc-env=GILBENCH_GIT_REVISION={rev}");
    // Commits and checkouts move HEAD, refs or the index; edits move the sources.
    for path in ["../.git/HEAD", "../.git/refs", "../.git/index", "src", "../workloads/src"] {
        println!("cargo:rerun-if-changed={path}");
    }
}
