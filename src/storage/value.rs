//! The values stored under keys, and their Redis-visible type and encoding names.
//! Each data type is a variant; compact and full encodings of one type are
//! separate variants so that OBJECT ENCODING reports what Redis would.

use super::sstr::SStr;
use super::{hash::Hash, list::List, set::Set, stream::Stream, zset::ZSet};

/// Redis's limit for the `embstr` encoding.
pub const EMBSTR_MAX: usize = 44;

pub enum Value {
    /// A string that is a 64-bit integer in canonical form (encoding `int`).
    Int(i64),
    /// A string whose encoding follows its length (`embstr` up to 44 bytes, else `raw`).
    Str(SStr),
    /// A string modified in place (APPEND, SETRANGE, SETBIT): always `raw`, as in
    /// Redis, with room to grow so that repeated APPENDs are amortized O(1).
    RawStr(Box<Vec<u8>>),
    /// A list is boxed (its handle is 16 bytes, its nodes' headers leave no
    /// room for a one-word handle).
    List(Box<List>),
    /// The other collections are one-word handles (a compact buffer or a
    /// boxed large structure), so they sit in the keyspace entry without an
    /// extra allocation.
    Hash(Hash),
    Set(Set),
    ZSet(ZSet),
    Stream(Box<Stream>),
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
        Value::Str(SStr::new(b))
    }

    /// A `raw` string holding `v`.
    pub fn raw(v: Vec<u8>) -> Value {
        Value::RawStr(Box::new(v))
    }

    /// The bytes of a string held as bytes (None for `int` strings and other types).
    pub fn str_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s.as_slice()),
            Value::RawStr(v) => Some(v.as_slice()),
            _ => None,
        }
    }

    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) | Value::Str(_) | Value::RawStr(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
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
            Value::Stream(_) => "stream",
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Str(_) | Value::RawStr(_))
    }

    /// The work of freeing the value, in allocations (Redis's free effort:
    /// nodes of a list, elements of a hashtable-encoded collection, 1 for a
    /// string or a compact encoding). Above 64 it is freed in the background
    /// when lazy freeing applies.
    pub fn free_effort(&self) -> usize {
        match self {
            Value::Int(_) | Value::Str(_) | Value::RawStr(_) => 1,
            Value::List(l) => l.node_count(),
            Value::Hash(h) if h.encoding() == "hashtable" => h.len(),
            Value::Set(x) if x.encoding() == "hashtable" => x.len(),
            Value::ZSet(z) if z.encoding() == "skiplist" => z.len(),
            _ => 1,
        }
    }

    /// Approximate heap bytes owned by the value (for MEMORY USAGE and lazy-free decisions).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Int(_) => 0,
            Value::Str(s) => s.heap_size(),
            Value::RawStr(v) => v.capacity() + std::mem::size_of::<Vec<u8>>(),
            Value::List(l) => std::mem::size_of::<List>() + l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(x) => x.heap_size(),
            Value::ZSet(z) => z.heap_size(),
            Value::Stream(s) => s.heap_size(),
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
            Value::Stream(s) => Value::Stream(s.clone()),
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
    /// The epoch of the last snapshot that holds this entry (see
    /// `storage::snapshot`); a cell so that a snapshot's scan can mark the
    /// entries it reads.
    pub saved: std::cell::Cell<u16>,
}

impl Entry {
    pub fn new(value: Value, lru: u32) -> Self {
        Entry { value, lru, has_expire: false, saved: std::cell::Cell::new(0) }
    }
}

impl From<List> for Value {
    fn from(l: List) -> Value {
        Value::List(Box::new(l))
    }
}

impl From<Hash> for Value {
    fn from(h: Hash) -> Value {
        Value::Hash(h)
    }
}

impl From<Set> for Value {
    fn from(s: Set) -> Value {
        Value::Set(s)
    }
}

impl From<Stream> for Value {
    fn from(s: Stream) -> Value {
        Value::Stream(Box::new(s))
    }
}

impl From<ZSet> for Value {
    fn from(z: ZSet) -> Value {
        Value::ZSet(z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A keyspace node (link, entry, key) is 32 bytes plus the key only while
    /// these hold: every variant's payload is one word, or `SStr`'s 15 bytes
    /// of alignment 1 after the tag byte.
    #[test]
    fn compact_layout() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
        assert_eq!(std::mem::size_of::<Entry>(), 24);
    }
}
