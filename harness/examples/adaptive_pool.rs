//! A service-shaped use of `AdaptivePool`: requests that parse JSON (CPU) and then wait on a
//! backend (I/O), submitted in waves; the pool sizes itself from what it measures.
//!
//!     cargo run --release -p gilbench --example adaptive_pool
use std::time::{Duration, Instant};

use gilbench::controller::{AdaptivePool, ControllerSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let spec = ControllerSpec::default_for("adaptive").ok_or("no such controller")?;
    let pool = AdaptivePool::new(&spec)?;
    let t0 = Instant::now();
    for wave in 0..5 {
        let handles: Vec<_> = (0..2000)
            .map(|_| {
                pool.submit(|| {
                    let n = workloads::kernels::json_round_trip(); // ~4 us of CPU
                    std::thread::sleep(Duration::from_millis(20)); // the backend
                    n
                })
            })
            .collect();
        let bytes: u64 = handles.into_iter().map(|h| h.join().unwrap_or(0)).sum();
        println!(
            "wave {wave}: {} requests done, {bytes} bytes out, pool at {} threads, {:.1} s",
            pool.completed(),
            pool.threads(),
            t0.elapsed().as_secs_f64()
        );
    }
    pool.shutdown();
    Ok(())
}
