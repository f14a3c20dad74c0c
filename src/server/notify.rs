//! Keyspace notifications (`notify-keyspace-events`): the event classes, the
//! directive's parsing and canonical form (as CONFIG GET prints it), and the
//! publishing of events on `__keyspace@<db>__:<key>` (message: the event) and
//! `__keyevent@<db>__:<event>` (message: the key) through Pub/Sub.
//!
//! Commands notify through `Ctx::notify`, which returns at once when the
//! event's class is off (the default: one flag test). Events that happen inside
//! the storage engine, where there is no command context (lazy and active
//! expiry, key creation), are recorded by the database (`Db::notices`, only
//! while `Db::notify` asks for them) and published by `flush`: before any
//! event of the running command, after the command, and by the cron after an
//! active-expiry slice. So every event is published in the order it happened.

use super::pubsub::Sender;
use super::Server;
use crate::resp::Reply;
use crate::storage::db::{Notice, NOTE_EXPIRED, NOTE_NEW};

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME...).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: a key expired.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: a key was evicted (maxmemory).
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u32 = 1 << 10;
/// `m`: a read found no key (not part of `A`).
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module key types.
pub const MODULE: u32 = 1 << 12;
/// `n`: a key was created (not part of `A`).
pub const NEW: u32 = 1 << 13;
/// `A`: `g$lshzxetd`.
pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// The classes in the order Redis prints them, with their letters.
const CLASS_LETTERS: [(u32, char); 11] = [
    (GENERIC, 'g'),
    (STRING, '$'),
    (LIST, 'l'),
    (SET, 's'),
    (HASH, 'h'),
    (ZSET, 'z'),
    (EXPIRED, 'x'),
    (EVICTED, 'e'),
    (STREAM, 't'),
    (MODULE, 'd'),
    (NEW, 'n'),
];

/// Parses a `notify-keyspace-events` value (Redis's
/// `keyspaceEventsStringToFlags`): None on an unknown character.
pub fn parse(s: &str) -> Option<u32> {
    let mut f = 0;
    for c in s.chars() {
        f |= match c {
            'A' => ALL,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            'm' => KEY_MISS,
            _ => CLASS_LETTERS.iter().find(|(_, l)| *l == c)?.0,
        };
    }
    Some(f)
}

/// The canonical form CONFIG GET shows (Redis's `keyspaceEventsFlagsToString`):
/// `A` for the whole set (which then hides `n`), else the class letters; then
/// `K`, `E` and `m`.
pub fn format(f: u32) -> String {
    let mut s = String::new();
    if f & ALL == ALL {
        s.push('A');
    } else {
        s.extend(CLASS_LETTERS.iter().filter(|(bit, _)| f & bit != 0).map(|(_, c)| c));
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// What the databases must record for flags `f` (nothing unless something
/// would be published).
fn record_bits(f: u32) -> u8 {
    if f & (KEYSPACE | KEYEVENT) == 0 {
        return 0;
    }
    let mut bits = 0;
    if f & EXPIRED != 0 {
        bits |= NOTE_EXPIRED;
    }
    if f & NEW != 0 {
        bits |= NOTE_NEW;
    }
    bits
}

/// Tells every database what to record under the current configuration, and
/// drops what was recorded under another one. Called when the directive
/// changes and before commands run while notifications are on (cheap once in
/// step).
pub fn sync(srv: &mut Server) {
    let bits = record_bits(srv.config.notify_keyspace_events);
    if srv.dbs.iter().all(|d| d.notify == bits) {
        return;
    }
    for db in srv.dbs.iter_mut() {
        db.notify = bits;
        if bits == 0 {
            db.notices = Vec::new();
        }
    }
}

/// Publishes the events the databases recorded, oldest first. `me` is the
/// client running the command (its own messages go into `out`).
pub fn flush(srv: &mut Server, me: u64, out: &mut Reply) {
    for db in 0..srv.dbs.len() {
        if srv.dbs[db].notices.is_empty() {
            continue;
        }
        let notices = std::mem::take(&mut srv.dbs[db].notices);
        for (key, n) in &notices {
            let (class, event) = match n {
                Notice::Expired => (EXPIRED, "expired"),
                Notice::New => (NEW, "new"),
            };
            send(srv, class, event, key, db, me, out);
        }
    }
}

/// Publishes one event of `key` in database `db`, after what the databases
/// recorded before it (Redis's `notifyKeyspaceEvent`).
pub fn publish(srv: &mut Server, class: u32, event: &str, key: &[u8], db: usize, me: u64, out: &mut Reply) {
    if srv.config.notify_keyspace_events & class == 0 {
        return;
    }
    flush(srv, me, out);
    send(srv, class, event, key, db, me, out);
}

fn send(srv: &mut Server, class: u32, event: &str, key: &[u8], db: usize, me: u64, out: &mut Reply) {
    let flags = srv.config.notify_keyspace_events;
    if flags & class == 0 || flags & (KEYSPACE | KEYEVENT) == 0 {
        return;
    }
    let ps = &mut srv.pubsub;
    if ps.num_patterns() == 0 && ps.num_channels(super::pubsub::Kind::Channel) == 0 {
        return;
    }
    let limit = srv.config.pubsub_obuf;
    let now = crate::util::now_ms();
    let mut dbs = itoa::Buffer::new();
    let dbs = dbs.format(db).as_bytes();
    if flags & KEYSPACE != 0 {
        let mut ch = Vec::with_capacity(16 + key.len());
        ch.extend_from_slice(b"__keyspace@");
        ch.extend_from_slice(dbs);
        ch.extend_from_slice(b"__:");
        ch.extend_from_slice(key);
        let from = Sender { id: me, current: srv.current_client, out: &mut *out };
        srv.pubsub.publish(false, &ch, event.as_bytes(), from, limit, now);
    }
    if flags & KEYEVENT != 0 {
        let mut ch = Vec::with_capacity(16 + event.len());
        ch.extend_from_slice(b"__keyevent@");
        ch.extend_from_slice(dbs);
        ch.extend_from_slice(b"__:");
        ch.extend_from_slice(event.as_bytes());
        let from = Sender { id: me, current: srv.current_client, out: &mut *out };
        srv.pubsub.publish(false, &ch, key, from, limit, now);
    }
}

/// Before a command runs while notifications are on: the databases record
/// what the configuration asks for, and anything recorded since the last
/// command (by the cron, by blocked clients being served) goes out first.
pub fn before_command(srv: &mut Server, me: u64, out: &mut Reply) {
    sync(srv);
    flush(srv, me, out);
}

/// A command is about to look `key` up in database `db`: a key whose time
/// has passed is deleted now (its `expired` event is published before the
/// command replies, as in Redis), and a read that finds nothing publishes
/// `keymiss`.
pub fn before_lookup(srv: &mut Server, db: usize, key: &[u8], read: bool, now: i64, me: u64, out: &mut Reply) {
    srv.dbs[db].expire_if_needed(key, now);
    flush(srv, me, out);
    if read && srv.config.notify_keyspace_events & KEY_MISS != 0 && !srv.dbs[db].main().contains_key(key) {
        send(srv, KEY_MISS, "keymiss", key, db, me, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        let f = |s: &str| parse(s).map(format);
        assert_eq!(f("KEA").as_deref(), Some("AKE"));
        assert_eq!(f("Kgm").as_deref(), Some("gKm"));
        assert_eq!(f("Elg").as_deref(), Some("glE"));
        assert_eq!(f("AKn").as_deref(), Some("AK"));
        assert_eq!(f("KEg$lshzxetmdn").as_deref(), Some("AKEm"));
        assert_eq!(f("").as_deref(), Some(""));
        assert_eq!(f("KK").as_deref(), Some("K"));
        assert_eq!(f("K E"), None);
        assert_eq!(f("Z"), None);
        assert_eq!(parse("AKn").map(|x| x & NEW != 0), Some(true));
        assert_eq!(record_bits(parse("A").unwrap_or(0)), 0);
        assert_eq!(record_bits(parse("Kxn").unwrap_or(0)), NOTE_EXPIRED | NOTE_NEW);
    }
}
