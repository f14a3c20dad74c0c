//! The data engine: keyspace tables, stored values and their encodings.
//! Nothing here knows about sockets or the protocol.

pub mod db;
pub mod dict;
pub mod glob;
pub mod hash;
pub mod lazyfree;
pub mod list;
pub mod listpack;
pub mod lru;
pub mod pool;
pub mod sbytes;
pub mod set;
pub mod snapshot;
pub mod sstr;
pub mod stream;
pub mod thin;
pub mod value;
pub mod varint;
pub mod zset;

pub use db::Db;
pub use sbytes::SBytes;
pub use value::{Entry, Value};
