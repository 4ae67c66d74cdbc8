//! For `make bench`: what this machine's cores can do with bcrypt, the bound the service's
//! password work is compared with.
//!
//!   bcrypt_capacity [cost] [seconds]   hashes per second at `cost`, one thread per core (like the
//!                                      hashing pool); prints one number
//!   bcrypt_capacity verify [cost] [n]  seconds for ONE verification at `cost` (median of n, on one
//!                                      thread); the login bound is cores ÷ this

use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("verify") {
        args.next();
        let cost: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
        let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(9);
        println!("{:.6}", one_verification(cost, n.max(1)));
        return;
    }
    let cost: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(12);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    println!("{:.2}", hashes_per_second(cost, seconds));
}

fn hashes_per_second(cost: u32, seconds: u64) -> f64 {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            std::thread::spawn(move || {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    bcrypt::hash(PASSWORD, cost).expect("hash");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    total as f64 / started.elapsed().as_secs_f64()
}

/// The median rather than the mean: one verification preempted by another process on a busy
/// machine should not move the bound.
fn one_verification(cost: u32, n: usize) -> f64 {
    let hash = bcrypt::hash(PASSWORD, cost).expect("hash");
    let mut times: Vec<f64> = (0..n)
        .map(|_| {
            let started = Instant::now();
            assert!(bcrypt::verify(PASSWORD, &hash).expect("verify"));
            started.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[n / 2]
}
