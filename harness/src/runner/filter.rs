//! `--only EXPR`: keep the points that match every clause of a comma-separated list of
//! `key=value` clauses. Keys: device, runtime, workload, strategy, threads, rep. Values:
//! alternatives separated by `|`, each a name with `*` wildcards, or for threads and rep a
//! number or an inclusive range `a..b`. Example: `workload=micro|pure-io,threads=1..64`.

use anyhow::{anyhow, bail};

use crate::scenario::{glob, PointKey};

#[derive(Debug, Clone)]
pub struct Filter {
    clauses: Vec<(Field, Vec<String>)>,
}

#[derive(Debug, Clone, Copy)]
enum Field {
    Device,
    Runtime,
    Workload,
    Strategy,
    Threads,
    Rep,
}

impl std::str::FromStr for Filter {
    type Err = anyhow::Error;

    fn from_str(expr: &str) -> anyhow::Result<Filter> {
        let mut clauses = Vec::new();
        for clause in expr.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            let (k, v) = clause
                .split_once('=')
                .ok_or_else(|| anyhow!("--only: `{clause}` is not key=value"))?;
            let field = match k.trim() {
                "device" => Field::Device,
                "runtime" => Field::Runtime,
                "workload" => Field::Workload,
                "strategy" => Field::Strategy,
                "threads" => Field::Threads,
                "rep" => Field::Rep,
                other => bail!(
                    "--only: unknown key `{other}`, expected device, runtime, workload, strategy, threads or rep"
                ),
            };
            let alts: Vec<String> = v.split('|').map(|a| a.trim().to_string()).collect();
            if matches!(field, Field::Threads | Field::Rep) {
                for a in &alts {
                    parse_range(a)?;
                }
            }
            clauses.push((field, alts));
        }
        Ok(Filter { clauses })
    }
}

impl Filter {
    pub fn matches(&self, key: &PointKey) -> bool {
        self.clauses.iter().all(|(field, alts)| {
            alts.iter().any(|a| match field {
                Field::Device => glob(a, &key.device),
                Field::Runtime => glob(a, &key.runtime),
                Field::Workload => glob(a, &key.workload),
                Field::Strategy => glob(a, &key.strategy),
                Field::Threads => in_range(a, key.threads),
                Field::Rep => in_range(a, key.rep),
            })
        })
    }
}

fn parse_range(s: &str) -> anyhow::Result<(u32, u32)> {
    let num = |x: &str| {
        x.trim().parse::<u32>().map_err(|_| anyhow!("--only: `{s}` is not a number or a range a..b"))
    };
    match s.split_once("..") {
        Some((a, b)) => Ok((num(a)?, num(b)?)),
        None => num(s).map(|n| (n, n)),
    }
}

fn in_range(s: &str, v: u32) -> bool {
    parse_range(s).is_ok_and(|(a, b)| a <= v && v <= b)
}

/// `*` matches any run of characters.
#[cfg(test)]
mod tests {
    use super::*;

    fn key(workload: &str, threads: u32) -> PointKey {
        PointKey {
            device: "edge-1c".into(),
            runtime: "gil".into(),
            workload: workload.into(),
            strategy: "fixed".into(),
            threads,
            rep: 0,
        }
    }

    #[test]
    fn clauses_and_alternatives() {
        let f: Filter = "workload=micro|pure-*, threads=1..64".parse().unwrap();
        assert!(f.matches(&key("micro", 64)));
        assert!(f.matches(&key("pure-io", 1)));
        assert!(!f.matches(&key("micro", 128)));
        assert!(!f.matches(&key("vision", 4)));
        let f: Filter = "device=*-1c,threads=32".parse().unwrap();
        assert!(f.matches(&key("x", 32)) && !f.matches(&key("x", 16)));
    }

    #[test]
    fn bad_expressions_are_errors() {
        assert!("color=red".parse::<Filter>().is_err());
        assert!("threads=lots".parse::<Filter>().is_err());
        assert!("workload".parse::<Filter>().is_err());
    }
}
