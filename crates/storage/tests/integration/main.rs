//! Integration tests of quarry-storage: round trips through WAL, memtable and Parquet; crash safety with a real
//! `kill -9`; a full disk; WAL damage; snapshots, compaction and retention.

mod common;
mod crash;
mod disk_full;
mod maintenance;
mod round_trip;
mod wal_damage;
