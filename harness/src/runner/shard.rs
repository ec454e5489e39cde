//! `--shard i/n`: run every n-th point of the selected plan, starting at the i-th, so that n
//! machines (a Slurm job array, GNU parallel over ssh, CI matrix jobs) share one sweep.
//! Round-robin over the plan order spreads every device, workload and N over the shards;
//! `gilbench merge` puts the folders back together.

use anyhow::{anyhow, bail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Whether the point at `position` in the selected plan belongs to this shard.
    pub fn has(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl std::str::FromStr for Shard {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Shard> {
        let bad = || anyhow!("--shard {s:?}: expected i/n with 1 <= i <= n, e.g. 2/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            bail!(bad());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!("2/4".parse::<Shard>().unwrap(), Shard { index: 2, count: 4 });
        for bad in ["0/4", "5/4", "1/0", "2", "a/b", "1/-2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_position_in_exactly_one_shard() {
        for n in 1..6 {
            for pos in 0..50 {
                let owners = (1..=n).filter(|&i| Shard { index: i, count: n }.has(pos)).count();
                assert_eq!(owners, 1);
            }
        }
    }
}
