//! DEBUG DIGEST and DEBUG DIGEST-VALUE: Redis's content hash of the dataset
//! and of single values, computed exactly as Redis 7.0 computes it (SHA1
//! "mix" and "xor" steps over each value's elements in their logical form),
//! so that the digests of the same data in Redis and in ferrokv are equal
//! and tests can compare whole datasets with one command. Ordered types
//! (strings, lists, stream entries) are mixed in order; unordered ones (set
//! members, hash fields, sorted-set members with their scores) are xored, so
//! the table order does not matter; each value starts with its type number
//! and a key with a TTL also xors "!!expire!!".

use crate::storage::db::Db;
use crate::storage::list::Item as LItem;
use crate::storage::set::Member;
use crate::storage::stream::StreamId;
use crate::storage::Value;

type Digest = [u8; 20];

fn sha1(data: &[u8]) -> Digest {
    sha1_smol::Sha1::from(data).digest().bytes()
}

/// Redis's `xorDigest`: digest ^= SHA1(data).
fn xor(d: &mut Digest, data: &[u8]) {
    let h = sha1(data);
    d.iter_mut().zip(h).for_each(|(a, b)| *a ^= b);
}

/// Redis's `mixDigest`: digest = SHA1(digest ^ SHA1(data)).
fn mix(d: &mut Digest, data: &[u8]) {
    xor(d, data);
    *d = sha1(d);
}

/// A score as Redis's digest writes it (`%.17g`).
fn score_text(s: f64) -> String {
    crate::util::fmt_g(s, 17)
}

/// Redis's `xorObjectDigest`: the value's digest mixed or xored into `d`.
fn value_digest(d: &mut Digest, v: &Value, has_expire: bool) {
    // The type first, as Redis's object type number, big endian.
    let kind: u32 = match v {
        Value::Int(_) | Value::Str(_) | Value::RawStr(_) => 0,
        Value::List(_) => 1,
        Value::Set(_) => 2,
        Value::ZSet(_) => 3,
        Value::Hash(_) => 4,
        Value::Stream(_) => 6,
    };
    mix(d, &kind.to_be_bytes());
    let mut nb = itoa::Buffer::new();
    match v {
        Value::Int(n) => mix(d, nb.format(*n).as_bytes()),
        Value::Str(s) => mix(d, s),
        Value::RawStr(s) => mix(d, s),
        Value::List(l) => l.iter().for_each(|item| match item {
            LItem::Int(n) => mix(d, nb.format(n).as_bytes()),
            LItem::Str(s) => mix(d, s),
        }),
        Value::Set(s) => {
            for m in s.iter() {
                match m {
                    Member::Int(n) => xor(d, nb.format(n).as_bytes()),
                    Member::Str(s) => xor(d, s),
                }
            }
        }
        Value::ZSet(z) => {
            z.walk(0, false, |m, score| {
                let mut e = [0u8; 20];
                mix(&mut e, m);
                mix(&mut e, score_text(score).as_bytes());
                xor(d, &e);
                true
            });
        }
        Value::Hash(h) => {
            let (mut fb, mut vb) = (itoa::Buffer::new(), itoa::Buffer::new());
            for (f, val) in h.iter() {
                let mut e = [0u8; 20];
                mix(&mut e, f.bytes(&mut fb));
                mix(&mut e, val.bytes(&mut vb));
                xor(d, &e);
            }
        }
        Value::Stream(s) => {
            s.range(StreamId::ZERO, StreamId::MAX, false, |id, fields| {
                mix(d, format!("{}.{}", id.ms, id.seq).as_bytes());
                for (f, val) in fields {
                    f.with_bytes(|f| mix(d, f));
                    val.with_bytes(|v| mix(d, v));
                }
                true
            });
        }
    }
    if has_expire {
        xor(d, b"!!expire!!");
    }
}

fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// DEBUG DIGEST: 40 hex digits, all zero for an empty dataset.
pub fn dataset(dbs: &[Db]) -> String {
    let mut fin = [0u8; 20];
    for (i, db) in dbs.iter().enumerate().filter(|(_, d)| !d.is_empty()) {
        mix(&mut fin, &(i as u32).to_be_bytes());
        for (k, e) in db.main().iter() {
            let mut d = [0u8; 20];
            mix(&mut d, k);
            value_digest(&mut d, &e.value, e.has_expire);
            xor(&mut fin, &d);
        }
    }
    hex(&fin)
}

/// DEBUG DIGEST-VALUE of one value (all zero for a missing key).
pub fn value(v: Option<(&Value, bool)>) -> String {
    let mut d = [0u8; 20];
    if let Some((v, has_expire)) = v {
        value_digest(&mut d, v, has_expire);
    }
    hex(&d)
}
