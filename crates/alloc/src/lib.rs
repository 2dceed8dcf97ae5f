//! The allocator of quarry's binaries, and the one tuning a bulk import makes to it.
//!
//! Input: the process environment (`MIMALLOC_PURGE_DELAY`, when an operator sets it). Outputs: [`Allocator`], for
//! a binary's `#[global_allocator]`, and [`keep_freed_memory`]. Libraries leave the allocator to the program that
//! embeds them; the `quarry` binary uses this crate (the benchmark runners name mimalloc directly).
//!
//! This is the only crate of the workspace with `unsafe` code: two calls into mimalloc's C API for an option the
//! `mimalloc` crate does not wrap. Both touch nothing but mimalloc's option table.
//!
//! # Why
//!
//! An import holds up to two flushes' worth of rows in the memtable (about 0.7 GB per million generated rows) and
//! frees each flush's rows at once. mimalloc hands freed memory back to the kernel after a purge delay (1 s in
//! mimalloc 3), well before the next rows need it, so the kernel zeroes and faults the same amount in again after
//! every flush. Importing 10M generated rows on two cores spent 4.5–10.7 s of system time that way against
//! 2.9–3.7 s with the memory kept (wall 20.0–22.8 s against 18.2–19.4 s; BENCHMARKS.md, "Ingest", session 10).

#![deny(unsafe_code)]

/// The global allocator of quarry's binaries. Ingest allocates many small strings per record; mimalloc handles
/// that markedly better than glibc's malloc.
pub use mimalloc::MiMalloc as Allocator;

/// `mi_option_purge_delay`: its index in mimalloc 3's `mi_option_e` (libmimalloc-sys 0.1.49 declares no constant
/// for it).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc 3's default purge delay, in milliseconds. [`keep_freed_memory`] changes the option only while it holds
/// this value: then index 15 is the option meant (another mimalloc whose enum moved would show another value, and
/// mimalloc 2's default is 10) and no one has set it to anything else.
const DEFAULT_PURGE_DELAY_MS: i64 = 1000;

/// mimalloc's purge delay in milliseconds (`-1`: freed memory is never returned to the kernel).
fn purge_delay_ms() -> i64 {
    #[allow(unsafe_code)]
    // SAFETY: `mi_option_get` reads one entry of mimalloc's option table (initialising it from the environment on
    // first use) and takes any option index below the table's length; 15 is one. The entry is a plain machine
    // word, read by mimalloc itself from any thread; a read racing with [`keep_freed_memory`]'s write is ruled out
    // by that function's precondition.
    let value = unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
    #[allow(clippy::useless_conversion)] // `c_long` is 32 bits on some targets
    i64::from(value)
}

/// Keeps freed memory in the process for reuse instead of returning it to the kernel, for the rest of the
/// process's life: for a bulk import, whose memory is freed and needed again every flush. Returns whether the
/// setting was changed: not when an operator set the option (see [`set_in_environment`]), or when the option does
/// not hold mimalloc 3's default (see [`DEFAULT_PURGE_DELAY_MS`]).
///
/// Call it before the process starts a second thread (in `main`, or in a command's branch before it opens an
/// engine): the option is a plain word that mimalloc reads without synchronisation.
pub fn keep_freed_memory() -> bool {
    if set_in_environment() || purge_delay_ms() != DEFAULT_PURGE_DELAY_MS {
        return false;
    }
    #[allow(unsafe_code)]
    // SAFETY: `mi_option_set` writes one entry of mimalloc's option table (any index below its length; 15 is one),
    // a plain machine word that mimalloc reads each time it considers a purge. The caller runs it before a second
    // thread exists (this function's precondition), so no read races with the write.
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, -1);
    }
    true
}

/// Whether the environment sets the purge delay, under either name mimalloc reads (`MIMALLOC_PURGE_DELAY`, or the
/// old `MIMALLOC_RESET_DELAY`), in any case (as mimalloc matches them).
fn set_in_environment() -> bool {
    std::env::vars_os().any(|(name, _)| {
        name.to_str().is_some_and(|name| {
            name.eq_ignore_ascii_case("MIMALLOC_PURGE_DELAY")
                || name.eq_ignore_ascii_case("MIMALLOC_RESET_DELAY")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_15_is_the_purge_delay_and_can_be_turned_off() {
        if set_in_environment() {
            // The operator's setting must win: nothing is changed.
            let before = purge_delay_ms();
            assert!(!keep_freed_memory());
            assert_eq!(purge_delay_ms(), before);
            return;
        }
        assert_eq!(purge_delay_ms(), DEFAULT_PURGE_DELAY_MS);
        assert!(keep_freed_memory());
        assert_eq!(purge_delay_ms(), -1);
        // Once changed it is no longer the default, so a second call leaves it alone.
        assert!(!keep_freed_memory());
        assert_eq!(purge_delay_ms(), -1);
    }
}
