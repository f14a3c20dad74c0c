//! Streams in RDB files and DUMP payloads: written as Redis 7.0 writes them
//! (RDB type 19, `RDB_TYPE_STREAM_LISTPACKS_2`: the node listpacks keyed by
//! their 128-bit master ID, the length, last/first/max-deleted IDs and
//! entries-added, then every consumer group with its PEL and consumers), and
//! read in that form as well as Redis 5–6's type 15 and Redis 7.2+'s type 21.
//! Loaded data is checked node by node before it is used.

use super::decode::{Error, Reader, Res};
use super::encode::Enc;
use super::*;
use crate::storage::stream::{Group, Nack, Stream, StreamId, INVALID_ENTRIES_READ};
use crate::storage::SBytes;

fn corrupt<T>(msg: &str) -> Res<T> {
    Err(Error::Corrupt(msg.to_string()))
}

/// Writes the value part of a stream (the type byte is written by the caller).
pub fn encode(e: &mut Enc, s: &Stream) {
    e.len(s.nodes.len() as u64);
    for (id, lp) in s.node_iter() {
        e.string(&id.to_be_bytes());
        e.string(lp);
    }
    e.len(s.length);
    e.len(s.last_id.ms);
    e.len(s.last_id.seq);
    e.len(s.first_id.ms);
    e.len(s.first_id.seq);
    e.len(s.max_deleted_entry_id.ms);
    e.len(s.max_deleted_entry_id.seq);
    e.len(s.entries_added);
    e.len(s.group_count() as u64);
    for (name, g) in s.groups() {
        e.string(name);
        e.len(g.last_id.ms);
        e.len(g.last_id.seq);
        e.len(g.entries_read as u64);
        e.len(g.pel.len() as u64);
        for (id, n) in &g.pel {
            e.buf.extend_from_slice(&id.to_be_bytes());
            e.millis(n.delivery_time);
            e.len(n.delivery_count);
        }
        e.len(g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            e.string(cname);
            e.millis(c.seen_time);
            e.len(c.pel.len() as u64);
            for id in &c.pel {
                e.buf.extend_from_slice(&id.to_be_bytes());
            }
        }
    }
}

fn raw_id(r: &mut Reader) -> Res<StreamId> {
    let b = r.bytes(16)?;
    StreamId::from_be_bytes(&b).ok_or(Error::Eof)
}

fn id_pair(r: &mut Reader) -> Res<StreamId> {
    let ms = r.length()?;
    let seq = r.length()?;
    Ok(StreamId { ms, seq })
}

/// A count of items of at least `min` bytes each that the input can hold.
fn count(r: &mut Reader, min: usize) -> Res<u64> {
    let n = r.length()?;
    if n.saturating_mul(min as u64) > r.remaining() as u64 {
        return Err(Error::Eof);
    }
    Ok(n)
}

/// Reads a stream of RDB type `t` (15, 19 or 21).
pub fn decode(r: &mut Reader, t: u8) -> Res<Stream> {
    let mut s = Stream::new();
    let nodes = count(r, 2)?;
    let mut prev_last: Option<StreamId> = None;
    let mut total: u64 = 0;
    for _ in 0..nodes {
        let key = r.string()?;
        if key.len() != 16 {
            return corrupt("Stream node key entry is not the size of a stream ID");
        }
        let master = StreamId::from_be_bytes(&key).ok_or(Error::Eof)?;
        let lp = r.string()?;
        let Some((live, edges)) = Stream::validate_node(&lp, master) else {
            return corrupt("Stream listpack integrity check failed.");
        };
        if lp.len() <= lp::HEADER + 1 {
            return corrupt("Empty listpack inside stream");
        }
        if let Some((first, last)) = edges {
            if prev_last.is_some_and(|p| first <= p) {
                return corrupt("Stream listpack integrity check failed.");
            }
            prev_last = Some(last);
        }
        if s.nodes.insert(master, lp).is_some() {
            return corrupt("Listpack re-added with existing key");
        }
        total += live as u64;
    }
    s.length = r.length()?;
    s.last_id = id_pair(r)?;
    if t >= TYPE_STREAM_LISTPACKS_2 {
        s.first_id = id_pair(r)?;
        s.max_deleted_entry_id = id_pair(r)?;
        s.entries_added = r.length()?;
    } else {
        s.entries_added = s.length;
        // Redis's `streamGetEdgeID`: the largest ID when there is no entry.
        s.first_id = s.edge_id(true).unwrap_or(StreamId::MAX);
    }
    if s.length != total || prev_last.is_some_and(|l| l > s.last_id) {
        return corrupt("Stream length inconsistent with rax entries");
    }
    let groups = count(r, 4)?;
    for _ in 0..groups {
        let name = r.string()?;
        let last = id_pair(r)?;
        let entries_read = if t >= TYPE_STREAM_LISTPACKS_2 { r.length()? as i64 } else { s.estimate_distance(last) };
        let entries_read = if entries_read < 0 { INVALID_ENTRIES_READ } else { entries_read };
        if !s.create_group(&name, last, entries_read) {
            return corrupt("Duplicated consumer group name");
        }
        let mut g = Group::new(last, entries_read);
        let pel = count(r, 17)?;
        for _ in 0..pel {
            let id = raw_id(r)?;
            let delivery_time = r.millis()?;
            let delivery_count = r.length()?;
            let nack = Nack { delivery_time, delivery_count, consumer: SBytes::new(b"") };
            if g.pel.insert(id, nack).is_some() {
                return corrupt("Duplicated global PEL entry loading stream consumer group");
            }
        }
        let mut assigned = std::collections::HashSet::new();
        let consumers = count(r, 10)?;
        for _ in 0..consumers {
            let cname = r.string()?;
            if g.consumers.contains_key(&cname) {
                return corrupt("Duplicate stream consumer detected.");
            }
            let seen = r.millis()?;
            if t >= TYPE_STREAM_LISTPACKS_3 {
                r.millis()?; // active-time (Redis 7.2+)
            }
            let mut c = crate::storage::stream::Consumer { seen_time: seen, ..Default::default() };
            let n = count(r, 16)?;
            for _ in 0..n {
                let id = raw_id(r)?;
                let Some(nack) = g.pel.get_mut(&id) else {
                    return corrupt("Consumer entry not found in group global PEL");
                };
                if !assigned.insert(id) || !c.pel.insert(id) {
                    return corrupt("Duplicated consumer PEL entry loading a stream consumer group");
                }
                nack.consumer = SBytes::new(&cname);
            }
            g.consumers.insert(cname, c);
        }
        if assigned.len() != g.pel.len() {
            return corrupt("Stream CG PEL entry without consumer");
        }
        if let Some(slot) = s.group_mut(&name) {
            *slot = g;
        }
    }
    Ok(s)
}

use crate::storage::stream::lp;
