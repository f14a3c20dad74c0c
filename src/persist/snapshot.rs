//! Background snapshots taken while serving, without fork: the file of a
//! BGSAVE and the base file of an AOF rewrite. Starting one is O(number of
//! databases) under the lock: each non-empty database gets its part of the
//! snapshot (`storage::snapshot::DbSnap`), and from then on every change to
//! an entry first writes the entry as it was. A thread then takes the server
//! lock for short steps (a few hundred keys, handing the lock on fairly
//! after each), in which it collects what changes wrote and scans on, and
//! writes each step's bytes to the temp file with the lock released; while
//! clients are being served it then pauses as long as the step took, so
//! that serving keeps at least half of the lock's time. The
//! file is therefore the dataset of the instant the snapshot began, serving
//! never pauses for longer than a step, and the extra memory is the bytes
//! not yet written plus the tables a FLUSHALL emptied meanwhile (which a fork
//! child would hold too). The thread plays Redis's child: whoever started
//! the snapshot notices its outcome from the cron.

use super::rdb::encode::{AccessInfo, Enc, Opts};
use super::rdb::{CRC64, OP_EOF};
use super::{create_temp, fsync_dir, strerror};
use crate::server::{Server, Shared};
use crate::storage::snapshot::{DbSnap, EntryWriter};
use crate::storage::{Db, Entry};
use parking_lot::Mutex;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Keys a step scans when no `rdb-key-save-delay` is set (a few hundred
/// microseconds of work).
const STEP_KEYS: usize = 256;
/// A step stops early once it has this many bytes to write.
const STEP_BYTES: usize = 1 << 20;

/// How a background snapshot ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    Ok,
    Err,
    /// Cancelled (FLUSHALL, SHUTDOWN, turning the AOF off): Redis kills its
    /// child with SIGUSR1.
    Killed,
}

/// What the snapshot thread and the server share.
#[derive(Default)]
struct Progress {
    cancelled: bool,
    outcome: Option<Outcome>,
    /// Keys written so far (INFO `current_save_keys_processed`).
    keys: u64,
}

/// Where a snapshot's file goes.
pub struct Target {
    /// The directory of the temp file.
    pub dir: PathBuf,
    /// The temp file's name, from the snapshot thread's id.
    pub tmp_name: fn(i64) -> String,
    /// Renamed to this when complete (else the starter renames it).
    pub rename_to: Option<PathBuf>,
    pub format: Format,
}

/// What the file holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An RDB file (`aof_base`: the base of an AOF, with the AUX field).
    Rdb { aof_base: bool },
    /// The commands that rebuild the dataset (an AOF base written with
    /// `aof-use-rdb-preamble no`).
    Commands,
}

/// A running background snapshot (Redis's child process).
pub struct Job {
    /// The thread's id (Redis logs the child's pid).
    pub tid: i64,
    pub tmp: PathBuf,
    pub start: std::time::Instant,
    /// Keys of the dataset when it began (INFO `current_save_keys_total`).
    pub keys_total: u64,
    progress: Arc<Mutex<Progress>>,
}

impl Job {
    /// The outcome, once the thread is done.
    pub fn outcome(&self) -> Option<Outcome> {
        self.progress.lock().outcome
    }

    pub fn keys_processed(&self) -> u64 {
        self.progress.lock().keys
    }

    /// Redis's kill of the child: the snapshot stops (its temp file is
    /// removed by the thread, or at once with `remove_tmp`) and the databases
    /// stop keeping entries for it. The outcome will be `Killed`.
    pub fn cancel(&self, dbs: &mut [Db], remove_tmp: bool) {
        self.progress.lock().cancelled = true;
        end_db_parts(dbs);
        if remove_tmp {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Encodes entries as RDB records for the databases' parts of a snapshot.
struct Records {
    o: Opts,
    access: AccessInfo,
}

impl EntryWriter for Records {
    fn write(&mut self, out: &mut Vec<u8>, key: &[u8], e: &Entry, expire: Option<i64>) {
        let mut enc = Enc { buf: std::mem::take(out), o: self.o };
        enc.record(key, e, expire, &self.access);
        *out = enc.buf;
    }
}

/// Writes entries as the commands that rebuild them.
struct Commands;

impl EntryWriter for Commands {
    fn write(&mut self, out: &mut Vec<u8>, key: &[u8], e: &Entry, expire: Option<i64>) {
        super::aof_commands::key_commands(out, key, e, expire);
    }
}

/// The start of a file of commands: a `#TS:` annotation with
/// `aof-timestamp-enabled`, then FUNCTION LOAD for each library.
pub(crate) fn commands_header(srv: &Server, out: &mut Vec<u8>) {
    if srv.config.aof_timestamp_enabled {
        super::aof_commands::timestamp(out, crate::util::now_ms() / 1000);
    }
    if let Some(engine) = srv.lua.as_ref() {
        for lib in engine.libs.libs.values() {
            super::aof_commands::command::<&[u8]>(out, &[b"FUNCTION", b"LOAD", &lib.code]);
        }
    }
}

/// Ends every database's part of a snapshot; tables a flush left to it are
/// freed in the background.
fn end_db_parts(dbs: &mut [Db]) {
    for db in dbs.iter_mut() {
        if let Some(mut s) = db.snap.take() {
            free_frozen(&mut s);
        }
    }
}

/// Frees, in the background, the tables a flush left to a database's part.
fn free_frozen(s: &mut DbSnap) {
    if let Some(t) = s.frozen.take() {
        let n = t.0.len();
        crate::storage::lazyfree::free_objects(t, n);
    }
}

/// The epoch of a new snapshot (entries all get epoch 0 before the counter wraps).
fn next_epoch(srv: &mut Server) -> u16 {
    let cur = srv.dbs.iter().map(|d| d.epoch).max().unwrap_or(0);
    if cur == u16::MAX {
        srv.dbs.iter_mut().for_each(|d| d.reset_epochs());
        1
    } else {
        cur + 1
    }
}

/// Starts a snapshot of the dataset as it is now (under the lock); Err when
/// the thread cannot start (logged as Redis logs a failed fork).
pub fn start(srv: &mut Server, target: Target) -> Result<Job, super::Failed> {
    let Some(sh) = srv.shared.upgrade() else { return Err(super::Failed) };
    let o = Opts::from_server(srv);
    let access = AccessInfo::from_server(srv);
    let mut head = Enc::new(o);
    match target.format {
        Format::Rdb { aof_base } => head.header(srv, aof_base),
        Format::Commands => commands_header(srv, &mut head.buf),
    }
    let epoch = next_epoch(srv);
    let sizes: Vec<Option<(usize, usize)>> =
        srv.dbs.iter().map(|d| (!d.is_empty()).then(|| (d.len(), d.expires().len()))).collect();
    let keys_total = srv.dbs.iter().map(|d| d.len() as u64).sum();
    for (i, db) in srv.dbs.iter_mut().enumerate() {
        db.epoch = epoch;
        if !db.is_empty() {
            let writer: Box<dyn EntryWriter> = match target.format {
                Format::Rdb { .. } => Box::new(Records { o, access }),
                Format::Commands => Box::new(Commands),
            };
            db.snap = Some(Box::new(DbSnap::new(i, epoch, writer)));
        }
    }
    let delay_us = srv.config.get("rdb-key-save-delay").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0).max(0);
    let progress = Arc::new(Mutex::new(Progress::default()));
    let rdb = target.format != Format::Commands;
    let reader = Reader { sizes, next: 0, selected: None, enc: Enc::new(o), rdb };
    let (tx, rx) = std::sync::mpsc::sync_channel::<i64>(1);
    let (th_progress, th_dir, tmp_name, rename_to) =
        (progress.clone(), target.dir.clone(), target.tmp_name, target.rename_to);
    let checksum = rdb.then(|| super::checksum_on(&srv.config));
    let spawned = std::thread::Builder::new().name("snapshot".into()).spawn(move || {
        // SAFETY: gettid has no preconditions; it returns this thread's id.
        let tid = unsafe { libc::gettid() } as i64;
        let _ = tx.send(tid);
        let w = Writer { sh: &sh, progress: &th_progress, checksum, delay_us };
        let outcome = w.run(reader, head.buf, &th_dir, &tmp_name(tid), rename_to.as_deref());
        th_progress.lock().outcome = Some(outcome);
    });
    if let Err(e) = spawned {
        end_db_parts(&mut srv.dbs);
        crate::log::warning(&format!("Can't save in background: fork: {}", strerror(&e)));
        return Err(super::Failed);
    }
    let tid = rx.recv().unwrap_or(std::process::id() as i64);
    let tmp = target.dir.join((target.tmp_name)(tid));
    Ok(Job { tid, tmp, start: std::time::Instant::now(), keys_total, progress })
}

/// The snapshot's reading side: what each step writes, under the lock.
struct Reader {
    /// Per database at the start, its table sizes (RESIZEDB), until written.
    sizes: Vec<Option<(usize, usize)>>,
    /// The database being scanned.
    next: usize,
    /// The database the file has selected last.
    selected: Option<usize>,
    /// The bytes of the step.
    enc: Enc,
    /// RDB (else commands).
    rdb: bool,
}

impl Reader {
    fn select(&mut self, id: usize) {
        if self.selected != Some(id) {
            let sizes = self.sizes.get_mut(id).and_then(Option::take);
            if self.rdb {
                self.enc.select_db(id, sizes);
            } else {
                super::aof_commands::select_db(&mut self.enc.buf, id);
            }
            self.selected = Some(id);
        }
    }

    /// One step: what changes wrote since the last step, then the scan on
    /// for up to `budget` keys. Returns the keys written and whether the
    /// snapshot is complete (its parts are then ended and EOF written).
    fn step(&mut self, srv: &mut Server, budget: usize) -> (u64, bool) {
        let mut keys = 0;
        for db in srv.dbs.iter_mut() {
            let Some(s) = db.snap.as_deref_mut() else { continue };
            if !s.out.is_empty() {
                self.select(s.id);
                self.enc.buf.extend_from_slice(&s.out);
                if s.out.capacity() > STEP_BYTES {
                    s.out = Vec::new();
                } else {
                    s.out.clear();
                }
                keys += std::mem::take(&mut s.out_keys);
            }
        }
        let mut left = budget;
        while left > 0 && self.next < srv.dbs.len() && self.enc.buf.len() < STEP_BYTES {
            let id = self.next;
            let Some(db) = srv.dbs.iter_mut().find(|d| d.snap.as_ref().is_some_and(|s| s.id == id)) else {
                self.next += 1;
                continue;
            };
            self.select(id);
            let (seen, written, scanned) = db.snapshot_scan(&mut self.enc.buf, left);
            keys += written;
            left = left.saturating_sub(seen.max(1));
            if scanned {
                if let Some(s) = db.snap.as_deref_mut() {
                    free_frozen(s);
                }
                self.next += 1;
            }
        }
        let done = self.next >= srv.dbs.len();
        if done {
            end_db_parts(&mut srv.dbs);
            if self.rdb {
                self.enc.byte(OP_EOF);
            }
        }
        (keys, done)
    }
}

/// The snapshot thread's side: steps under the lock, writes with it released.
struct Writer<'a> {
    sh: &'a Shared,
    progress: &'a Mutex<Progress>,
    /// An RDB file's trailer: its CRC64 (zero when `rdbchecksum no`); None
    /// for a file of commands.
    checksum: Option<bool>,
    /// `rdb-key-save-delay`: microseconds to wait per key (tests use it to
    /// observe a snapshot in progress).
    delay_us: i64,
}

impl Writer<'_> {
    fn cancelled(&self) -> bool {
        self.progress.lock().cancelled
    }

    /// Ends the databases' parts after a failure, unless a cancellation did
    /// (a new snapshot may own them by now).
    fn abandon(&self) {
        let mut srv = self.sh.server.lock();
        if !self.cancelled() {
            end_db_parts(&mut srv.dbs);
        }
    }

    fn run(&self, mut reader: Reader, head: Vec<u8>, dir: &Path, tmp_name: &str, rename_to: Option<&Path>) -> Outcome {
        let tmp = dir.join(tmp_name);
        let Some(file) = create_temp(dir, tmp_name) else {
            self.abandon();
            return Outcome::Err;
        };
        let mut file = std::io::BufWriter::with_capacity(1 << 16, file);
        let mut crc = CRC64.digest();
        let mut put = |file: &mut std::io::BufWriter<std::fs::File>, b: &[u8]| {
            if self.checksum == Some(true) {
                crc.update(b);
            }
            file.write_all(b)
        };
        let mut res = put(&mut file, &head).map_err(|e| ("rdbSaveRio", e));
        let budget = if self.delay_us > 0 { 1 } else { STEP_KEYS };
        let mut commands = None;
        while res.is_ok() {
            let (keys, done, took) = {
                let mut srv = self.sh.server.lock();
                if self.cancelled() {
                    break;
                }
                let t = std::time::Instant::now();
                // Commands ran since the last step: clients are being served.
                let busy =
                    commands.replace(srv.stats.total_commands_processed) != Some(srv.stats.total_commands_processed);
                let (keys, done) = reader.step(&mut srv, budget);
                parking_lot::MutexGuard::unlock_fair(srv);
                (keys, done, busy.then(|| t.elapsed()))
            };
            self.progress.lock().keys += keys;
            res = put(&mut file, &reader.enc.buf).map_err(|e| ("rdbSaveRio", e));
            reader.enc.buf.clear();
            if let Some(took) = took.filter(|_| !done) {
                std::thread::sleep(took.max(Duration::from_micros(50)));
            }
            self.delay(keys);
            if done {
                break;
            }
        }
        if self.cancelled() {
            drop(file);
            let _ = std::fs::remove_file(&tmp);
            return Outcome::Killed;
        }
        let res = res.and_then(|_| {
            if let Some(on) = self.checksum {
                let sum = if on { crc.finalize() } else { 0 };
                file.write_all(&sum.to_le_bytes()).map_err(|e| ("rdbSaveRio", e))?;
            }
            file.flush().map_err(|e| ("fflush", e))?;
            file.get_ref().sync_all().map_err(|e| ("fsync", e))
        });
        drop(file);
        if let Err((op, e)) = res {
            self.abandon();
            crate::log::warning(&format!("Write error saving DB on disk({op}): {}", strerror(&e)));
            let _ = std::fs::remove_file(&tmp);
            return Outcome::Err;
        }
        let Some(dest) = rename_to else { return Outcome::Ok };
        // Renaming under the progress lock orders it with a cancellation: a
        // synchronous save that cancelled this one is never overwritten.
        let guard = self.progress.lock();
        if guard.cancelled {
            let _ = std::fs::remove_file(&tmp);
            return Outcome::Killed;
        }
        if let Err(e) = std::fs::rename(&tmp, dest) {
            crate::log::warning(&format!(
                "Error moving temp DB file {tmp_name} on the final destination {} (in server root dir {}): {}",
                dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                dir.display(),
                strerror(&e)
            ));
            let _ = std::fs::remove_file(&tmp);
            return Outcome::Err;
        }
        drop(guard);
        if let Err(e) = fsync_dir(dir) {
            crate::log::warning(&format!("Write error saving DB on disk(fsyncFileDir): {}", strerror(&e)));
            return Outcome::Err;
        }
        crate::log::notice("DB saved on disk");
        Outcome::Ok
    }

    /// Waits `rdb-key-save-delay` per key written, cut short by a cancellation.
    fn delay(&self, keys: u64) {
        if self.delay_us <= 0 || keys == 0 {
            return;
        }
        let until = std::time::Instant::now() + Duration::from_micros(self.delay_us as u64 * keys);
        while !self.cancelled() {
            let now = std::time::Instant::now();
            if now >= until {
                break;
            }
            std::thread::sleep(Duration::from_millis(5).min(until - now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::storage::snapshot::{DbSnap, EntryWriter};
    use crate::storage::Value;

    /// (key, string value) pairs.
    type Written = Vec<(Vec<u8>, Vec<u8>)>;

    /// Records the keys and string values written, in order.
    struct Log(std::sync::Arc<parking_lot::Mutex<Written>>);

    impl EntryWriter for Log {
        fn write(&mut self, _out: &mut Vec<u8>, key: &[u8], e: &Entry, _expire: Option<i64>) {
            let v = match &e.value {
                Value::Int(n) => n.to_string().into_bytes(),
                v => v.str_bytes().unwrap_or_default().to_vec(),
            };
            self.0.lock().push((key.to_vec(), v));
        }
    }

    /// Each key present when the snapshot began is written exactly once,
    /// with its value of that instant, whatever happens to it meanwhile;
    /// keys created meanwhile are not written.
    #[test]
    fn every_key_once_as_it_was() {
        let mut srv = Server::new(Config::new(), std::sync::Weak::new());
        for i in 0..1000 {
            srv.dbs[0].set(format!("k{i}").as_bytes(), Value::from_bytes(format!("old{i}").as_bytes()), 0);
        }
        let log = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let epoch = next_epoch(&mut srv);
        srv.dbs[0].epoch = epoch;
        srv.dbs[0].snap = Some(Box::new(DbSnap::new(0, epoch, Box::new(Log(log.clone())))));
        let mut buf = Vec::new();
        let mut step = 0;
        loop {
            let (_, _, done) = srv.dbs[0].snapshot_scan(&mut buf, 50);
            // Between steps: overwrite, delete, create, look up.
            let db = &mut srv.dbs[0];
            db.set(format!("k{}", step * 7 % 1000).as_bytes(), Value::from_bytes(b"new"), 0);
            db.remove(format!("k{}", step * 13 % 1000).as_bytes());
            db.set(format!("fresh{step}").as_bytes(), Value::from_bytes(b"x"), 0);
            let _ = db.get(format!("k{}", step * 3 % 1000).as_bytes(), 0);
            step += 1;
            if done {
                break;
            }
        }
        let written = log.lock().clone();
        let mut seen = std::collections::HashMap::new();
        for (k, v) in &written {
            assert!(seen.insert(k.clone(), v.clone()).is_none(), "{} written twice", String::from_utf8_lossy(k));
        }
        assert_eq!(seen.len(), 1000, "every key of the instant, nothing created later");
        for i in 0..1000 {
            assert_eq!(seen[format!("k{i}").as_bytes()], format!("old{i}").into_bytes());
        }
    }

    /// The epoch counter wraps by stamping every entry with epoch 0 first.
    #[test]
    fn epoch_wraps_safely() {
        let mut srv = Server::new(Config::new(), std::sync::Weak::new());
        srv.dbs[3].set(b"a", Value::from_bytes(b"1"), 0);
        for db in srv.dbs.iter_mut() {
            db.epoch = u16::MAX;
        }
        assert_eq!(next_epoch(&mut srv), 1);
        assert!(srv.dbs.iter().all(|d| d.epoch == 0));
        assert_eq!(srv.dbs[3].main().get(b"a".as_slice()).map(|e| e.saved.get()), Some(0));
    }
}
