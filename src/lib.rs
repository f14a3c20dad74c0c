//! ferrokv: a Redis-compatible data store.
//!
//! Layout (see docs/architecture.md): `resp` speaks the protocol, `net` owns the
//! sockets, `commands` holds the command table and one module per command family,
//! `server` the shared state behind the execution lock, `storage` the keyspace and
//! value encodings, `config` the directives, `cron` the background duties
//! (active expiry, client timeouts), `startup` turns a command line into a
//! running server.

pub mod alloc;
pub mod commands;
pub mod config;
pub mod cron;
pub mod log;
pub mod lzf;
pub mod net;
pub mod persist;
pub mod resp;
pub mod scripting;
pub mod server;
pub mod startup;
pub mod storage;
pub mod strtod;
pub mod util;
