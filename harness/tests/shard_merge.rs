//! `--shard i/n` splits a plan without losing or repeating a point, and `gilbench merge`
//! puts the shards' folders back together (rows and timelines), keeping a duplicate once.

use std::collections::BTreeSet;
use std::path::Path;

use gilbench::limits::Enforcement;
use gilbench::results::{read_rows, timeline_path, write_timeline, Ending, Row, Status, Store, POINTS_CSV};
use gilbench::runner::{merge, selected, Shard};
use gilbench::scenario::{load, Point, PointKey, Scenario};

fn scenario() -> Scenario {
    load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/strategies.toml"))).expect("strategies.toml loads")
}

fn keys(points: &[Point]) -> Vec<PointKey> {
    points.iter().map(Point::key).collect()
}

#[test]
fn shards_partition_the_plan() {
    let sc = scenario();
    let all = keys(&selected(&sc, None, None));
    assert!(all.len() > 1000, "{} points", all.len());
    for n in [1, 2, 3, 7] {
        let mut union: Vec<PointKey> = Vec::new();
        for i in 1..=n {
            let part = keys(&selected(&sc, None, Some(Shard { index: i, count: n })));
            // Balanced within one point.
            assert!(part.len().abs_diff(all.len() / n) <= 1, "shard {i}/{n}: {}", part.len());
            union.extend(part);
        }
        let set: BTreeSet<String> = union.iter().map(|k| k.to_string()).collect();
        assert_eq!(set.len(), union.len(), "a point in two shards of {n}");
        let everything: BTreeSet<String> = all.iter().map(|k| k.to_string()).collect();
        assert_eq!(set, everything, "shards of {n} miss points");
    }
}

fn row(p: &Point, status: Status) -> Row {
    Row::new(
        p,
        Ending {
            status,
            measurement: None,
            enforcement: Enforcement::Affinity,
            cpus: 1,
            memory_enforced: false,
            cgroup_mem_peak_mb: None,
            point_wall_s: 1.0,
            message: String::new(),
        },
    )
}

#[test]
fn two_shards_merged_equal_the_unsharded_plan() {
    let sc = scenario();
    let only = "device=edge-1c,runtime=gil,workload=micro".parse().unwrap();
    let all = selected(&sc, Some(&only), None);
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, out) = (tmp.path().join("a"), tmp.path().join("b"), tmp.path().join("merged"));
    for (dir, i) in [(&a, 1), (&b, 2)] {
        let mut store = Store::create(dir).unwrap();
        for p in selected(&sc, Some(&only), Some(Shard { index: i, count: 2 })) {
            store.append(&row(&p, Status::Ok)).unwrap();
            if p.strategy.is_elastic() {
                write_timeline(dir, &p.key(), &[]).unwrap();
            }
        }
    }
    // One point also failed on the other machine: the ok row wins, the duplicate is reported.
    let dup = selected(&sc, Some(&only), Some(Shard { index: 2, count: 2 }))[0].clone();
    let mut store = Store::open(&a).unwrap();
    store.append(&row(&dup, Status::Error)).unwrap();

    let m = merge(&out, &[a.clone(), b.clone()]).unwrap();
    assert_eq!(m.duplicates.len(), 1);
    assert_eq!(m.duplicates[0].0, dup.key());
    let rows = read_rows(&out.join(POINTS_CSV)).unwrap();
    let merged: Vec<String> = rows.iter().map(|r| r.key().to_string()).collect();
    let expected: BTreeSet<String> = keys(&all).iter().map(|k| k.to_string()).collect();
    assert_eq!(merged.len(), expected.len(), "duplicated or lost rows");
    assert_eq!(merged.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert!(rows.iter().all(|r| r.status == Status::Ok));
    for p in all.iter().filter(|p| p.strategy.is_elastic()) {
        assert!(out.join(timeline_path(&p.key())).is_file(), "timeline of {} not copied", p.key());
    }
    // Merging into a folder that has rows is refused, not appended to.
    assert!(merge(&out, &[a, b]).is_err());
}

#[test]
fn a_folder_with_another_versions_columns_is_not_appended_to() {
    let sc = scenario();
    let points = selected(&sc, None, None);
    let tmp = tempfile::tempdir().unwrap();
    let mut store = Store::create(tmp.path()).unwrap();
    store.append(&row(&points[0], Status::Ok)).unwrap();
    // Another version wrote this folder: one column fewer in its header.
    let csv = tmp.path().join(POINTS_CSV);
    let mut r = csv::Reader::from_path(&csv).unwrap();
    let header = r.headers().unwrap().clone();
    let drop = header.iter().position(|h| h == "interpreter").unwrap();
    let old = |rec: &csv::StringRecord| -> csv::StringRecord {
        rec.iter().enumerate().filter(|(i, _)| *i != drop).map(|(_, f)| f).collect()
    };
    let records: Vec<csv::StringRecord> = r.records().map(|x| old(&x.unwrap())).collect();
    let mut w = csv::Writer::from_path(&csv).unwrap();
    w.write_record(&old(&header)).unwrap();
    for rec in &records {
        w.write_record(rec).unwrap();
    }
    w.flush().unwrap();
    let mut store = Store::open(tmp.path()).unwrap();
    let err = store.append(&row(&points[1], Status::Ok)).unwrap_err().to_string();
    assert!(err.contains("columns of another gilbench version"), "{err}");
    // Still refused on a second try, and nothing was written.
    assert!(store.append(&row(&points[1], Status::Ok)).is_err());
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 2);
}
