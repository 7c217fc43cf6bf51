//! The process allocator of the bench binaries: jemalloc with the options of the `leadledger`
//! binary (crates/cli/src/main.rs), so that the bench measures leadledger's code as production
//! runs it. With glibc's malloc, `perf` found allocation and free at about a third of the
//! bench process's CPU in the freshness phase (2026-11-24).
//!
//! The raw baselines spend their time in librdkafka (which allocates with the C library's
//! malloc whatever Rust's global allocator is) and in PostgreSQL; their Rust side allocates
//! little, so the allocator barely touches them.

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc reads its options from this C string at start-up (see the `leadledger` binary).
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static _rjem_malloc_conf: &u8 =
    &b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];
