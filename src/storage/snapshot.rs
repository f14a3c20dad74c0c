//! The engine's side of a point-in-time snapshot taken while serving (no
//! fork). A snapshot has an epoch; every keyspace entry carries the epoch of
//! the last snapshot that holds it (`Entry::saved`). While a snapshot runs,
//! a database keeps a `DbSnap`: the snapshot walks the table with a SCAN
//! cursor, writing each entry it has not saved yet, and any change to an
//! entry not yet saved (a write, a delete, an expiry, even a lookup that
//! hands out `&mut`) first writes the entry as it was into `DbSnap::out`.
//! Entries created during the snapshot get its epoch at once, so they are
//! never written. Each key is thus written exactly once, with its value at
//! the instant the snapshot began, and the extra memory is only what is
//! written and not yet on disk. How entries are encoded is the caller's
//! (`persist::snapshot` writes RDB records), through `EntryWriter`.

use super::dict::Dict;
use super::value::Entry;

/// Writes the record of one key (value, expiry, access information) into a
/// snapshot's output.
pub trait EntryWriter: Send {
    fn write(&mut self, out: &mut Vec<u8>, key: &[u8], e: &Entry, expire: Option<i64>);
}

/// A database's part of a running snapshot.
pub struct DbSnap {
    /// The database number this data had when the snapshot began (SWAPDB
    /// moves a `DbSnap` with the data it describes).
    pub id: usize,
    /// Entries whose `saved` differs are not in the snapshot yet.
    pub epoch: u16,
    /// The scan position in the table (or in `frozen`).
    pub cursor: u64,
    /// Every entry of the snapshot's instant is written.
    pub scanned: bool,
    /// The tables of the snapshot's instant after FLUSHDB/FLUSHALL emptied
    /// the database: the scan goes on over them (they are freed when the
    /// snapshot ends, as a fork child would hold their pages).
    pub frozen: Option<(Dict<Entry>, Dict<i64>)>,
    /// Records written because an entry was about to change, not yet taken
    /// by the snapshot's writer.
    pub out: Vec<u8>,
    /// Keys written into `out`.
    pub out_keys: u64,
    pub writer: Box<dyn EntryWriter>,
}

impl DbSnap {
    pub fn new(id: usize, epoch: u16, writer: Box<dyn EntryWriter>) -> DbSnap {
        DbSnap { id, epoch, cursor: 0, scanned: false, frozen: None, out: Vec::new(), out_keys: 0, writer }
    }

    /// Writes `e` into `out` unless the snapshot holds it already.
    #[inline]
    pub fn keep(&mut self, key: &[u8], e: &Entry, expires: &Dict<i64>) {
        if e.saved.get() != self.epoch {
            e.saved.set(self.epoch);
            let when = if e.has_expire { expires.get(key).copied() } else { None };
            self.writer.write(&mut self.out, key, e, when);
            self.out_keys += 1;
        }
    }

    /// Scans up to about `budget` keys of the snapshot's tables from the
    /// cursor, writing the entries not saved yet into `buf`; returns how many
    /// it saw and how many it wrote. Sets `scanned` when the table is done.
    pub fn scan(
        &mut self,
        live: &Dict<Entry>,
        live_expires: &Dict<i64>,
        buf: &mut Vec<u8>,
        budget: usize,
    ) -> (usize, u64) {
        let (main, expires) = match &self.frozen {
            Some((m, x)) => (m, x),
            None => (live, live_expires),
        };
        let (epoch, writer) = (self.epoch, &mut self.writer);
        let (mut seen, mut written) = (0usize, 0u64);
        let mut cursor = self.cursor;
        while seen < budget && !self.scanned {
            cursor = main.scan(cursor, |k, e| {
                seen += 1;
                if e.saved.get() != epoch {
                    e.saved.set(epoch);
                    let when = if e.has_expire { expires.get(k).copied() } else { None };
                    writer.write(buf, k, e, when);
                    written += 1;
                }
            });
            if cursor == 0 {
                self.scanned = true;
            }
        }
        self.cursor = cursor;
        (seen, written)
    }
}
