//! The append-only file, in Redis 7.0's multi-part layout so that Redis and
//! ferrokv read each other's: in `dir/appenddirname`, a manifest
//! (`appendonly.aof.manifest`) lists a base file (an RDB snapshot,
//! `appendonly.aof.N.base.rdb`) and the incremental files
//! (`appendonly.aof.N.incr.aof`) holding, as RESP commands, what changed
//! since. Propagated commands (see `server::propagate`) are appended to a
//! buffer during a batch and written before the batch's replies go out; with
//! `appendfsync always` they are also fsynced then, so no acknowledged write
//! can be lost; `everysec` fsyncs once a second from the cron, `no` leaves it
//! to the kernel. A rewrite (BGREWRITEAOF, the automatic rewrite, or turning
//! `appendonly` on) starts a new incremental file and writes a new base in
//! the background, a point-in-time snapshot of the dataset at that instant
//! (`persist::snapshot`, no fork); when it is complete the manifest switches
//! to the new base and the new incremental file, and the old files go. Turned
//! on at runtime, the commands of the first rewrite go to a temp incremental
//! file, which joins the manifest with the base (Redis's AOF_WAIT_REWRITE).

use super::aof_commands;
use super::group_commit::GroupCommit;
use super::snapshot::{self, Outcome};
use super::{checksum_on, dir_of, fsync_dir, strerror, ChildKind, Failed, Held};
use crate::resp::{Limits, Parser, Reply};
use crate::server::{Server, Shared};
use bytes::{Bytes, BytesMut};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `appendfsync`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fsync {
    Always,
    EverySec,
    No,
}

/// One file the manifest lists.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Part {
    name: String,
    seq: u64,
}

#[derive(Default, Debug)]
struct Manifest {
    base: Option<Part>,
    incrs: Vec<Part>,
}

impl Manifest {
    fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let field = |k: &str| words.chunks(2).find(|p| p[0] == k && p.len() == 2).map(|p| p[1]);
            let (Some(name), Some(seq), Some(kind)) = (field("file"), field("seq"), field("type")) else {
                return Err(format!("Invalid AOF manifest file format: {line}"));
            };
            let seq = seq.parse().map_err(|_| format!("Invalid AOF manifest file format: {line}"))?;
            let part = Part { name: name.to_string(), seq };
            match kind {
                "b" => m.base = Some(part),
                "i" => m.incrs.push(part),
                // History files (an old base and increments) await deletion.
                "h" => {}
                _ => return Err(format!("Unknown AOF file type: {kind}")),
            }
        }
        Ok(m)
    }

    fn text(&self) -> String {
        let mut s = String::new();
        if let Some(b) = &self.base {
            s.push_str(&format!("file {} seq {} type b\n", b.name, b.seq));
        }
        for i in &self.incrs {
            s.push_str(&format!("file {} seq {} type i\n", i.name, i.seq));
        }
        s
    }
}

/// The append-only file's state, part of `Server`.
pub struct Aof {
    /// Appending (`appendonly yes` and the file open).
    pub on: bool,
    buf: Vec<u8>,
    /// The database the file's command stream has selected.
    selected: Option<usize>,
    file: Option<Arc<File>>,
    /// Fsyncs for `appendfsync always`, outside the lock.
    pub group_commit: Arc<GroupCommit>,
    manifest: Manifest,
    /// Bytes written since the last fsync (everysec).
    unsynced: bool,
    /// The second of the last `#TS:` annotation (`aof-timestamp-enabled`).
    last_ts: i64,
    /// DEBUG AOF-FLUSH-SLEEP: microseconds to wait before each write.
    pub flush_sleep_us: u64,
    last_fsync_ms: i64,
    /// INFO persistence figures.
    pub current_size: u64,
    pub base_size: u64,
    pub rewrites: u64,
    pub last_rewrite_ok: bool,
    pub last_rewrite_secs: i64,
    pub last_write_ok: bool,
    /// A rewrite waits for the running background snapshot to end.
    pub rewrite_scheduled: bool,
    /// Turned on at runtime and the first rewrite is not complete: commands
    /// go to the temp incremental file.
    waiting: bool,
    /// The running rewrite writes an RDB base (else commands).
    rewrite_rdb: bool,
}

impl Default for Aof {
    fn default() -> Self {
        Aof {
            on: false,
            buf: Vec::new(),
            selected: None,
            file: None,
            group_commit: Arc::default(),
            manifest: Manifest::default(),
            unsynced: false,
            last_ts: 0,
            flush_sleep_us: 0,
            last_fsync_ms: 0,
            current_size: 0,
            base_size: 0,
            rewrites: 0,
            last_rewrite_ok: true,
            last_rewrite_secs: -1,
            last_write_ok: true,
            rewrite_scheduled: false,
            waiting: false,
            rewrite_rdb: true,
        }
    }
}

impl Aof {
    /// Appends a propagated command run in database `db`; `stamp`: with
    /// `aof-timestamp-enabled`, a `#TS:<unix time>` annotation goes first
    /// when the second changed since the last one (Redis's
    /// `genAofTimestampAnnotationIfNeeded`).
    pub fn append(&mut self, db: usize, cmd: &[Bytes], stamp: bool) {
        if !self.on {
            return;
        }
        if stamp {
            let now = crate::util::now_ms() / 1000;
            if now > self.last_ts {
                self.last_ts = now;
                aof_commands::timestamp(&mut self.buf, now);
            }
        }
        if self.selected != Some(db) {
            aof_commands::select_db(&mut self.buf, db);
            self.selected = Some(db);
        }
        aof_commands::command(&mut self.buf, cmd);
    }

    /// Bytes waiting to be written (INFO `aof_buffer_length`).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Writes what the batch appended (before its replies are sent); under
    /// `appendfsync always` the group commit fsyncs it before they go.
    pub fn flush(&mut self, fsync: Fsync) {
        if self.buf.is_empty() {
            return;
        }
        let Some(f) = self.file.as_ref() else {
            self.buf.clear();
            return;
        };
        match (&**f).write_all(&self.buf) {
            Ok(()) => {
                if fsync == Fsync::Always {
                    self.group_commit.wrote(f, self.buf.len() as u64);
                }
                self.current_size += self.buf.len() as u64;
                self.unsynced = fsync == Fsync::EverySec;
                if !self.last_write_ok {
                    crate::log::warning("AOF write error looks solved, Redis can write again.");
                }
                self.last_write_ok = true;
            }
            Err(e) => {
                crate::log::warning(&format!("Error writing to the AOF file: {}", strerror(&e)));
                if fsync == Fsync::Always {
                    crate::log::warning(
                        "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...",
                    );
                    std::process::exit(1);
                }
                self.last_write_ok = false;
            }
        }
        self.buf.clear();
    }

    /// Under `everysec`: a handle to fsync outside the lock when a second
    /// passed since the last fsync and something was written since.
    pub fn fsync_due(&mut self, now_ms: i64) -> Option<File> {
        if !self.unsynced || now_ms - self.last_fsync_ms < 1000 {
            return None;
        }
        self.unsynced = false;
        self.last_fsync_ms = now_ms;
        self.file.as_ref().and_then(|f| f.try_clone().ok())
    }
}

/// Writes the batch's propagated commands (called before replies are sent).
#[inline]
pub fn flush(srv: &mut Server) {
    if srv.aof.on && srv.aof.buffered() > 0 {
        if srv.aof.flush_sleep_us > 0 {
            std::thread::sleep(std::time::Duration::from_micros(srv.aof.flush_sleep_us));
        }
        let policy = srv.config.appendfsync;
        srv.aof.flush(policy);
    }
}

fn dir(srv: &Server) -> PathBuf {
    dir_of(&srv.config).join(srv.config.get("appenddirname").unwrap_or("appendonlydir"))
}

fn file_name(srv: &Server) -> String {
    srv.config.get("appendfilename").unwrap_or("appendonly.aof").to_string()
}

fn manifest_path(srv: &Server) -> PathBuf {
    dir(srv).join(format!("{}.manifest", file_name(srv)))
}

fn open_append(path: &std::path::Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new().create(true).append(true).open(path)
}

/// Writes the manifest atomically (temp file, fsync, rename, fsync the dir).
fn write_manifest(srv: &Server, m: &Manifest) -> std::io::Result<()> {
    let d = dir(srv);
    let tmp = d.join(format!("temp-{}.manifest", file_name(srv)));
    let mut f = File::create(&tmp)?;
    f.write_all(m.text().as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, manifest_path(srv))?;
    fsync_dir(&d)
}

/// `aof-use-rdb-preamble`: the base is an RDB file (else commands).
fn rdb_preamble(srv: &Server) -> bool {
    srv.config.get("aof-use-rdb-preamble") != Some("no")
}

/// A base file's name: `appendonly.aof.<seq>.base.rdb`, or `.base.aof` for
/// commands.
fn base_name(name: &str, seq: u64, rdb: bool) -> String {
    format!("{name}.{seq}.base.{}", if rdb { "rdb" } else { "aof" })
}

/// The dataset as the commands that rebuild it (a base written with
/// `aof-use-rdb-preamble no`, while holding the lock).
fn write_commands_base(srv: &Server, w: &mut dyn Write) -> std::io::Result<u64> {
    let mut buf = Vec::new();
    super::snapshot::commands_header(srv, &mut buf);
    let mut n = 0;
    for (i, db) in srv.dbs.iter().enumerate().filter(|(_, d)| !d.is_empty()) {
        super::aof_commands::select_db(&mut buf, i);
        for (k, e) in db.main().iter() {
            let when = if e.has_expire { db.expires().get(k).copied() } else { None };
            super::aof_commands::key_commands(&mut buf, k, e, when);
            if buf.len() >= 1 << 16 {
                w.write_all(&buf)?;
                n += buf.len() as u64;
                buf.clear();
            }
        }
    }
    w.write_all(&buf)?;
    Ok(n + buf.len() as u64)
}

/// The temp incremental file of a rewrite started by turning the AOF on.
fn temp_incr_name(srv: &Server) -> String {
    format!("temp-{}.incr", file_name(srv))
}

/// Redis's `rewriteAppendOnlyFileBackground`: starts a new incremental file
/// and a background snapshot that writes the new base. Err: another
/// background snapshot runs, or a file or the thread could not be created.
pub fn rewrite(srv: &mut Server) -> Result<(), Failed> {
    if srv.persist.child.is_some() {
        return Err(Failed);
    }
    srv.aof.rewrite_scheduled = false;
    flush(srv);
    let d = dir(srv);
    if let Err(e) = std::fs::create_dir_all(&d).and_then(|_| open_new_incr(srv)) {
        crate::log::warning(&format!("Can't open new incr AOF file for background rewrite: {}", strerror(&e)));
        return Err(Failed);
    }
    srv.aof.rewrite_rdb = rdb_preamble(srv);
    let format =
        if srv.aof.rewrite_rdb { snapshot::Format::Rdb { aof_base: true } } else { snapshot::Format::Commands };
    let target =
        snapshot::Target { dir: d, tmp_name: |tid| format!("temp-rewriteaof-bg-{tid}.aof"), rename_to: None, format };
    let dirty = srv.dirty;
    let Ok(job) = snapshot::start(srv, target) else {
        srv.aof.last_rewrite_ok = false;
        return Err(Failed);
    };
    crate::log::notice(&format!("Background append only file rewriting started by pid {}", job.tid));
    super::start_child(srv, ChildKind::Aof, job, dirty);
    Ok(())
}

/// Redis's `openNewIncrAofForAppend`: commands from now on go to a new
/// incremental file, listed in the manifest at once (a crash during the
/// rewrite loses nothing); while the AOF is off there is none, and while it
/// waits for its first rewrite it is the temp one.
fn open_new_incr(srv: &mut Server) -> std::io::Result<()> {
    if !srv.aof.on {
        return Ok(());
    }
    let d = dir(srv);
    let file = if srv.aof.waiting {
        File::create(d.join(temp_incr_name(srv)))?
    } else {
        let seq = srv.aof.manifest.incrs.last().map_or(0, |p| p.seq) + 1;
        let part = Part { name: format!("{}.{seq}.incr.aof", file_name(srv)), seq };
        let file = open_append(&d.join(&part.name))?;
        srv.aof.manifest.incrs.push(part);
        if let Err(e) = write_manifest(srv, &srv.aof.manifest) {
            if let Some(p) = srv.aof.manifest.incrs.pop() {
                let _ = std::fs::remove_file(d.join(p.name));
            }
            return Err(e);
        }
        crate::log::notice(&format!(
            "Creating AOF incr file {} on background rewrite",
            srv.aof.manifest.incrs.last().map_or("", |p| p.name.as_str())
        ));
        file
    };
    if let Some(old) = srv.aof.file.replace(Arc::new(file)) {
        if srv.config.appendfsync == Fsync::Always {
            // The group commit covers one file: the old one is made durable now.
            let _ = old.sync_data();
            srv.aof.group_commit.all_synced();
        } else if srv.aof.unsynced {
            // What the old file still needs on disk, without holding the lock.
            let _ = std::thread::Builder::new().name("aof-fsync".into()).spawn(move || old.sync_data());
        }
    }
    srv.aof.unsynced = false;
    srv.aof.selected = None;
    Ok(())
}

/// Redis's `backgroundRewriteDoneHandler`: installs the new base and
/// switches the manifest, or reports the failure.
pub(crate) fn rewrite_done(srv: &mut Server, job: snapshot::Job, outcome: Outcome) {
    srv.aof.last_rewrite_secs = job.start.elapsed().as_secs() as i64;
    let res = match outcome {
        Outcome::Ok => {
            crate::log::notice("Background AOF rewrite terminated with success");
            install_base(srv, &job.tmp).map_err(|e| {
                crate::log::warning(&format!("Background AOF rewrite failed: {}", strerror(&e)));
                let _ = std::fs::remove_file(&job.tmp);
            })
        }
        Outcome::Err => {
            crate::log::warning("Background AOF rewrite terminated with error");
            Err(())
        }
        Outcome::Killed => {
            crate::log::warning("Background AOF rewrite terminated by signal 10");
            srv.aof.last_rewrite_secs = -1;
            return;
        }
    };
    srv.aof.last_rewrite_ok = res.is_ok();
    match res {
        Ok(()) => {
            srv.aof.rewrites += 1;
            crate::log::notice("Background AOF rewrite finished successfully");
        }
        // Turned on at runtime: try again until the AOF has its base.
        Err(()) if srv.aof.waiting => srv.aof.rewrite_scheduled = true,
        Err(()) => {}
    }
}

/// Renames the finished base into place and writes the manifest that lists
/// it with the incremental file opened when the rewrite began; the older
/// files are removed.
fn install_base(srv: &mut Server, tmp: &std::path::Path) -> std::io::Result<()> {
    let d = dir(srv);
    let name = file_name(srv);
    let seq = srv.aof.manifest.base.as_ref().map_or(0, |b| b.seq) + 1;
    let base = Part { name: base_name(&name, seq, srv.aof.rewrite_rdb), seq };
    let incrs = if !srv.aof.on {
        Vec::new()
    } else if srv.aof.waiting {
        let seq = srv.aof.manifest.incrs.last().map_or(0, |p| p.seq) + 1;
        let part = Part { name: format!("{name}.{seq}.incr.aof"), seq };
        std::fs::rename(d.join(temp_incr_name(srv)), d.join(&part.name))?;
        vec![part]
    } else {
        srv.aof.manifest.incrs.last().cloned().into_iter().collect()
    };
    std::fs::rename(tmp, d.join(&base.name))?;
    let tmp_name = tmp.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    crate::log::notice(&format!("Successfully renamed the temporary AOF base file {tmp_name} into {}", base.name));
    switch_manifest(srv, Manifest { base: Some(base), incrs })?;
    let size = |p: &Part| std::fs::metadata(d.join(&p.name)).map_or(0, |m| m.len());
    srv.aof.waiting = false;
    srv.aof.base_size = srv.aof.manifest.base.as_ref().map_or(0, size);
    srv.aof.current_size = srv.aof.base_size + srv.aof.manifest.incrs.iter().map(size).sum::<u64>();
    Ok(())
}

/// Makes `new` the manifest (on disk first; the old one stays when that
/// fails) and removes the files only the old one listed.
fn switch_manifest(srv: &mut Server, new: Manifest) -> std::io::Result<()> {
    let old = std::mem::replace(&mut srv.aof.manifest, new);
    if let Err(e) = write_manifest(srv, &srv.aof.manifest) {
        srv.aof.manifest = old;
        return Err(e);
    }
    let d = dir(srv);
    for p in old.base.iter().chain(&old.incrs) {
        if !srv.aof.manifest.base.iter().chain(&srv.aof.manifest.incrs).any(|n| n.name == p.name) {
            crate::log::notice(&format!("Removing the history file {} in the background", p.name));
            let _ = std::fs::remove_file(d.join(&p.name));
        }
    }
    Ok(())
}

/// Writes a new base from the dataset and starts a new incremental file
/// while holding the lock (at startup, before clients are served).
fn rewrite_now(srv: &mut Server) -> Result<(), Failed> {
    let start = std::time::Instant::now();
    flush(srv);
    let res = rewrite_files(srv);
    srv.aof.last_rewrite_secs = start.elapsed().as_secs() as i64;
    srv.aof.last_rewrite_ok = res.is_ok();
    res.map_err(|e| {
        crate::log::warning(&format!("AOF rewrite failed: {}", strerror(&e)));
        Failed
    })
}

fn rewrite_files(srv: &mut Server) -> std::io::Result<()> {
    let d = dir(srv);
    std::fs::create_dir_all(&d)?;
    let name = file_name(srv);
    let seq = srv.aof.manifest.base.iter().chain(&srv.aof.manifest.incrs).map(|p| p.seq).max().unwrap_or(0) + 1;
    let rdb = rdb_preamble(srv);
    let base = Part { name: base_name(&name, seq, rdb), seq };
    let incr = Part { name: format!("{name}.{seq}.incr.aof"), seq };
    let tmp = d.join(format!("temp-rewriteaof-{}.aof", std::process::id()));
    let written = {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, File::create(&tmp)?);
        let n = if rdb {
            super::rdb::encode::write_aof_base(srv, &mut w, checksum_on(&srv.config))?.bytes
        } else {
            write_commands_base(srv, &mut w)?
        };
        w.flush()?;
        w.get_ref().sync_all()?;
        n
    };
    std::fs::rename(&tmp, d.join(&base.name))?;
    let file = open_append(&d.join(&incr.name))?;
    switch_manifest(srv, Manifest { base: Some(base), incrs: vec![incr] })?;
    srv.aof.file = Some(Arc::new(file));
    srv.aof.selected = None;
    srv.aof.base_size = written;
    srv.aof.current_size = written;
    Ok(())
}

/// Turns appending on (CONFIG SET appendonly yes), Redis's
/// `startAppendOnly`: a background rewrite writes the current dataset as
/// the new base; while a background save runs, the rewrite is scheduled.
pub fn start(srv: &mut Server) -> Result<(), Failed> {
    if srv.aof.on {
        return Ok(());
    }
    srv.aof.on = true;
    srv.aof.waiting = true;
    srv.aof.file = None;
    sync_dbs(srv);
    if srv.persist.child.is_some() || srv.persist.loading.is_some() {
        // After the running snapshot, or once the dataset is loaded.
        srv.aof.rewrite_scheduled = true;
        crate::log::warning("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
        return Ok(());
    }
    if rewrite(srv).is_err() {
        crate::log::warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
        srv.aof.on = false;
        srv.aof.waiting = false;
        sync_dbs(srv);
        return Err(Failed);
    }
    Ok(())
}

/// Writes and fsyncs everything appended so far (shutdown).
pub fn sync_now(srv: &mut Server) {
    srv.aof.flush(Fsync::Always);
    if let Some(f) = &srv.aof.file {
        let _ = f.sync_data();
    }
    srv.aof.group_commit.all_synced();
}

/// Turns appending off (CONFIG SET appendonly no): what is buffered is
/// written and fsynced, and the file closed.
pub fn stop(srv: &mut Server) {
    if !srv.aof.on {
        return;
    }
    sync_now(srv);
    srv.aof.file = None;
    srv.aof.on = false;
    srv.aof.waiting = false;
    srv.aof.rewrite_scheduled = false;
    super::kill_child(srv, ChildKind::Aof, false);
    sync_dbs(srv);
}

/// The databases log their expiries while they are propagated.
pub fn sync_dbs(srv: &mut Server) {
    let on = crate::server::propagate::wanted(srv);
    for db in srv.dbs.iter_mut() {
        db.log_expired = on;
        if !on {
            db.expired_log = Vec::new();
        }
    }
}

/// Startup with `appendonly yes`: loads the files the manifest lists, or
/// creates the first base and incremental file when there is none.
pub fn load_at_startup(sh: &Shared, g: &mut parking_lot::MutexGuard<Server>) -> Result<(), Failed> {
    let start = std::time::Instant::now();
    let d = dir(g);
    if let Err(e) = std::fs::create_dir_all(&d) {
        crate::log::warning(&format!(
            "Can't open or create append-only dir {}: {}",
            g.config.get("appenddirname").unwrap_or(""),
            strerror(&e)
        ));
        return Err(Failed);
    }
    let Some((manifest, total)) = load_files(sh, &mut Held::Locked(g))? else {
        let srv = &mut **g;
        // No AOF yet: the first base (of the empty dataset) and incremental file.
        srv.aof.on = true;
        sync_dbs(srv);
        return rewrite_now(srv);
    };
    let srv = &mut **g;
    let incr = manifest.incrs.last().cloned();
    srv.aof.manifest = manifest;
    let Some(incr) = incr else {
        // A base without an incremental file: start one.
        srv.aof.on = true;
        sync_dbs(srv);
        return rewrite_now(srv);
    };
    match open_append(&d.join(&incr.name)) {
        Ok(f) => srv.aof.file = Some(Arc::new(f)),
        Err(e) => {
            crate::log::warning(&format!("Can't open the append-only file {}: {}", incr.name, strerror(&e)));
            return Err(Failed);
        }
    }
    srv.aof.current_size = total;
    srv.aof.on = true;
    sync_dbs(srv);
    // Loading ran commands: that is not activity to report.
    srv.stats.reset();
    srv.dirty = 0;
    crate::log::notice(&format!("DB loaded from append only file: {:.3} seconds", start.elapsed().as_secs_f64()));
    Ok(())
}

/// The total size of the files the manifest lists (None: no manifest).
pub fn files_size(srv: &Server) -> Option<u64> {
    let m = Manifest::parse(&std::fs::read_to_string(manifest_path(srv)).ok()?).ok()?;
    Some(listed_size(&dir(srv), &m))
}

/// The total size of the files `m` lists in `d`.
fn listed_size(d: &Path, m: &Manifest) -> u64 {
    m.base.iter().chain(&m.incrs).map(|p| std::fs::metadata(d.join(&p.name)).map(|m| m.len()).unwrap_or(0)).sum()
}

/// Redis's `loadAppendOnlyFiles`: reads the manifest and loads the base and
/// incremental files it lists into the dataset. None: there is no manifest.
/// Otherwise the manifest and the total size of its files.
fn load_files(sh: &Shared, held: &mut Held) -> Result<Option<(Manifest, u64)>, Failed> {
    let d = dir(held.srv());
    let manifest = match std::fs::read_to_string(manifest_path(held.srv())) {
        Ok(t) => match Manifest::parse(&t) {
            Ok(m) => m,
            Err(e) => {
                crate::log::warning(&e);
                return Err(Failed);
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            crate::log::warning(&format!("Can't open the AOF manifest file: {}", strerror(&e)));
            return Err(Failed);
        }
    };
    if let Some(base) = &manifest.base {
        let path = d.join(&base.name);
        if base.name.ends_with(".rdb") {
            crate::log::notice(&format!("Loading RDB preamble from AOF file {}", base.name));
            super::load_rdb(sh, held, &path)?;
        } else {
            replay(sh, held, &path, false)?;
        }
        held.srv().aof.base_size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    }
    let last = manifest.incrs.len();
    for (i, incr) in manifest.incrs.iter().enumerate() {
        replay(sh, held, &d.join(&incr.name), i + 1 == last)?;
    }
    let total = listed_size(&d, &manifest);
    Ok(Some((manifest, total)))
}

/// DEBUG LOADAOF: writes out what is pending, empties the dataset and loads
/// the files the manifest lists, without logging what loading runs. Like
/// Redis, the server exits when they cannot be loaded.
pub fn debug_loadaof(ctx: &mut crate::commands::Ctx) {
    if ctx.srv.aof.on {
        sync_now(ctx.srv);
    }
    super::flush_all(ctx);
    let was_on = std::mem::replace(&mut ctx.srv.aof.on, false);
    let res = load_files(ctx.sh, &mut Held::In(ctx.srv));
    ctx.srv.aof.on = was_on;
    for db in ctx.srv.dbs.iter_mut() {
        db.expired_log.clear();
    }
    if res.is_err() {
        crate::log::warning("Fatal error loading the AOF on DEBUG LOADAOF. Exiting.");
        std::process::exit(1);
    }
    ctx.srv.dirty = 0;
    crate::log::warning("Append Only File loaded by DEBUG LOADAOF");
    ctx.out.ok();
}

/// Commands replayed between two moments when waiting connections may take
/// the lock (and get -LOADING) during a load at startup.
const REPLAY_STEP: u32 = 1024;

/// Runs the commands of one AOF file. A truncated last command of the last
/// file is cut off (with `aof-load-truncated yes`) as Redis does; anything
/// else unreadable stops the server.
fn replay(sh: &Shared, held: &mut Held, path: &std::path::Path, last_file: bool) -> Result<(), Failed> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut data = Vec::new();
    match File::open(path).and_then(|mut f| f.read_to_end(&mut data)) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !last_file => {
            crate::log::warning(&format!("The AOF file {name} doesn't exist"));
            return Err(Failed);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            crate::log::warning(&format!(
                "Fatal error: can't open the append log file {name} for reading: {}",
                strerror(&e)
            ));
            return Err(Failed);
        }
    }
    let total = data.len();
    let mut buf = BytesMut::from(&data[..]);
    drop(data);
    let mut parser = Parser::new();
    let lim = Limits { max_bulk_len: i64::MAX, authenticated: true };
    let mut client = crate::server::client::Client::new(
        crate::server::client::AOF_CLIENT_ID,
        String::new(),
        String::new(),
        -1,
        crate::util::now_ms(),
    );
    client.authenticated = true;
    let mut out = Reply::new();
    // Position after the last complete command outside a transaction.
    let mut valid = 0usize;
    // Progress shown by INFO at startup, and where it was last reported.
    let loading = held.srv().persist.loading.clone();
    let mut reported = 0usize;
    let mut steps = 0u32;
    loop {
        let before = total - buf.len();
        // Annotations (`#TS:...`) are skipped, as Redis's loader does.
        if buf.first() == Some(&b'#') {
            match buf.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    let _ = buf.split_to(end + 1);
                    if client.multi < 0 {
                        valid = total - buf.len();
                    }
                    continue;
                }
                None => break,
            }
        }
        match parser.next(&mut buf, lim) {
            Ok(Some(args)) => {
                if args.is_empty() {
                    continue;
                }
                out.buf.clear();
                crate::commands::execute(sh, held.srv(), &mut client, &mut out, &args);
                if client.multi < 0 {
                    valid = total - buf.len();
                }
                steps += 1;
                if steps.is_multiple_of(REPLAY_STEP) {
                    let done = total - buf.len();
                    if let Some(l) = &loading {
                        l.loaded_bytes.fetch_add((done - reported) as u64, std::sync::atomic::Ordering::Relaxed);
                    }
                    reported = done;
                    held.pause();
                }
            }
            Ok(None) => {
                if buf.is_empty() && client.multi < 0 {
                    return Ok(());
                }
                break;
            }
            Err(_) => {
                crate::log::warning(&format!(
                    "Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
                ));
                let _ = before;
                return Err(Failed);
            }
        }
    }
    // The file ends inside a command or a transaction.
    let srv = held.srv();
    let truncated_ok = srv.config.get("aof-load-truncated") != Some("no");
    if !last_file || !truncated_ok {
        crate::log::warning(&format!(
            "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
        ));
        return Err(Failed);
    }
    if client.multi >= 0 {
        crate::log::warning("Revert incomplete MULTI/EXEC transaction in AOF file");
        crate::commands::transactions::discard(srv, &mut client);
    }
    crate::log::warning(&format!(
        "!!! Warning: short read while loading the AOF file {name}!!!\n!!! Truncating the AOF at offset {valid} !!!"
    ));
    let cut = std::fs::OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(valid as u64));
    if let Err(e) = cut {
        crate::log::warning(&format!("Error truncating the AOF file {name}: {}", strerror(&e)));
        return Err(Failed);
    }
    crate::log::warning(&format!("AOF {name} loaded anyway because aof-load-truncated is enabled"));
    Ok(())
}

/// Cron duty: the everysec fsync (outside the lock) and the automatic
/// rewrite when the file grew past `auto-aof-rewrite-percentage` of its base.
pub fn cron(sh: &Shared) {
    let due = {
        let mut srv = sh.server.lock();
        if !srv.aof.on {
            return;
        }
        let pct: u64 = srv.config.get("auto-aof-rewrite-percentage").and_then(|v| v.parse().ok()).unwrap_or(100);
        let min: u64 = srv.config.get("auto-aof-rewrite-min-size").and_then(|v| v.parse().ok()).unwrap_or(64 << 20);
        let (cur, base) = (srv.aof.current_size, srv.aof.base_size.max(1));
        if pct > 0 && cur > min && (cur - base.min(cur)) * 100 / base >= pct && srv.persist.child.is_none() {
            crate::log::notice(&format!(
                "Starting automatic rewriting of AOF on {}% growth",
                (cur - base.min(cur)) * 100 / base
            ));
            let _ = rewrite(&mut srv);
        }
        if srv.config.appendfsync == Fsync::EverySec {
            srv.aof.fsync_due(crate::util::now_ms())
        } else {
            None
        }
    };
    if let Some(f) = due {
        let _ = f.sync_data();
    }
}
