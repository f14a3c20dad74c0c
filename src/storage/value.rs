//! The values stored under keys, and their Redis-visible type and encoding names.
//! Each data type is a variant; compact and full encodings of one type are
//! separate variants so that OBJECT ENCODING reports what Redis would.

use super::sbytes::SBytes;
use super::{hash::Hash, list::List, set::Set, zset::ZSet};

/// Redis's limit for the `embstr` encoding.
pub const EMBSTR_MAX: usize = 44;

pub enum Value {
    /// A string that is a 64-bit integer in canonical form (encoding `int`).
    Int(i64),
    /// A string whose encoding follows its length (`embstr` up to 44 bytes, else `raw`).
    Str(SBytes),
    /// A string modified in place (APPEND, SETRANGE, SETBIT): always `raw`, as in Redis.
    RawStr(SBytes),
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

impl Value {
    /// Builds a string value the way SET does: canonical integers of up to 20
    /// characters become `int`.
    pub fn from_bytes(b: &[u8]) -> Value {
        if b.len() <= 20 && !b.is_empty() {
            if let Some(n) = crate::util::parse_i64(b) {
                return Value::Int(n);
            }
        }
        Value::Str(SBytes::new(b))
    }

    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) | Value::Str(_) | Value::RawStr(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// The name OBJECT ENCODING replies with.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Str(s) if s.len() <= EMBSTR_MAX => "embstr",
            Value::Str(_) | Value::RawStr(_) => "raw",
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(x) => x.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Str(_) | Value::RawStr(_))
    }

    /// Approximate heap bytes owned by the value (for MEMORY USAGE and lazy-free decisions).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Int(_) => 0,
            Value::Str(s) | Value::RawStr(s) => s.heap_size(),
            Value::List(l) => l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(x) => x.heap_size(),
            Value::ZSet(z) => z.heap_size(),
        }
    }
}

impl Clone for Value {
    fn clone(&self) -> Self {
        match self {
            Value::Int(n) => Value::Int(*n),
            Value::Str(s) => Value::Str(s.clone()),
            Value::RawStr(s) => Value::RawStr(s.clone()),
            Value::List(l) => Value::List(l.clone()),
            Value::Hash(h) => Value::Hash(h.clone()),
            Value::Set(x) => Value::Set(x.clone()),
            Value::ZSet(z) => Value::ZSet(z.clone()),
        }
    }
}

/// A keyspace entry: the value plus the per-key metadata Redis keeps in its object header.
pub struct Entry {
    pub value: Value,
    /// LRU clock (seconds, 24-bit wrap as Redis) of the last access.
    pub lru: u32,
    /// True when the key has a TTL in the expires table (avoids a lookup otherwise).
    pub has_expire: bool,
}

impl Entry {
    pub fn new(value: Value, lru: u32) -> Self {
        Entry { value, lru, has_expire: false }
    }
}

impl From<List> for Value {
    fn from(l: List) -> Value {
        Value::List(Box::new(l))
    }
}

impl From<Hash> for Value {
    fn from(h: Hash) -> Value {
        Value::Hash(Box::new(h))
    }
}

impl From<Set> for Value {
    fn from(s: Set) -> Value {
        Value::Set(Box::new(s))
    }
}

impl From<ZSet> for Value {
    fn from(z: ZSet) -> Value {
        Value::ZSet(Box::new(z))
    }
}
