//! For `make bench`: how many bcrypt hashes per second this machine's cores can do at a cost
//! (one thread per core, like the hashing pool). Usage: bcrypt_capacity [cost] [seconds]

use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let cost: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(12);
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
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
                    bcrypt::hash("correct horse battery staple", cost).expect("hash");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    println!("{:.2}", total as f64 / started.elapsed().as_secs_f64());
}
