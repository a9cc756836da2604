//! No library: this package holds the tests (`tests/`) and benchmarks
//! (`benches/`) of the whole system, wallets with the sync engine talking to
//! fio-inbox relays and the fio-devnet chain over HTTP. They live at the
//! workspace level because they span its crates.
//!
//! `src/bin/sync-once.rs` is one sync in a process of its own, spawned by
//! the cross-process tests.
