//! Prints how long one argon2id password hash (OWASP parameters, as sign-up and sign-in use)
//! takes on this machine, and so the most sign-ins per second its cores can verify.
//! `cargo bench --bench argon2`; scripts/bench reads the `hash_ms` line.

use std::time::Instant;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let hash = gatehouse_core::crypto::hash_password("warm up the allocator".into())
            .await
            .unwrap();
        let rounds = 20;
        let start = Instant::now();
        for _ in 0..rounds {
            assert!(gatehouse_core::crypto::verify_password(
                "warm up the allocator".into(),
                hash.clone()
            )
            .await
            .unwrap());
        }
        let per_hash = start.elapsed().as_secs_f64() * 1000.0 / rounds as f64;
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        println!("hash_ms {per_hash:.2}");
        println!("cores {cores}");
        println!(
            "argon2id limit: {:.1} sign-ins/s ({cores} cores / {per_hash:.2} ms per hash)",
            cores as f64 * 1000.0 / per_hash
        );
    });
}
