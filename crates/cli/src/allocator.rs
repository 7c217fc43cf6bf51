//! The process allocator of the `leadledger` binary, and of the bench binaries, which
//! include this file (`#[path]`) so that they measure leadledger's code on the allocator
//! production runs (docs/BENCHMARKS.md, "Allocator": glibc's malloc was faster for the
//! projector alone, jemalloc for the mixed load).

/// jemalloc instead of glibc's malloc. Under a steady load the projector's heap stayed below
/// ~90 MB (heaptrack) while glibc kept its RSS growing towards 400 MB over a 10-minute soak:
/// batches of very different sizes on several threads fragment glibc's arenas, and freed
/// memory was not given back. jemalloc returns dirty pages after a few seconds
/// (docs/BENCHMARKS-soak.md).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read at its start-up: a background thread purges unused pages on
/// time even when the process is idle, and dirty pages go back to the OS after 1 s instead
/// of 10 s (RSS follows the load down instead of keeping its peak). jemalloc reads a C
/// string here: `&u8`, the first byte of a NUL-terminated literal, is that thin pointer.
// `export_name` counts as unsafe code (two libraries could export the symbol): this is the
// one symbol jemalloc documents for its options, and nothing else defines it.
#[allow(non_upper_case_globals, unsafe_code)]
#[export_name = "_rjem_malloc_conf"]
pub static _rjem_malloc_conf: &u8 =
    &b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];
