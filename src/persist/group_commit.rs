//! Group commit for `appendfsync always`. A batch's changes are written to
//! the append-only file while the server lock is held, but not fsynced
//! there: the byte count written so far moves on, a dedicated thread
//! fsyncs the file over and over, each fsync covering everything written
//! before it began, and publishes how far the file is durable. A
//! connection sends nothing (replies, or a served blocked client's reply)
//! until the file is durable up to what had been written when it got to
//! write, so no reply acknowledges or shows a write that a crash could
//! lose. Meanwhile other clients' batches run and are written, and one
//! fsync then covers them all, instead of one fsync per batch under the
//! lock.

use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

pub struct GroupCommit {
    /// Bytes written to the file(s) under `appendfsync always`, ever.
    written: AtomicU64,
    /// Of those, how many are known to be on disk (waited on by connections).
    synced: tokio::sync::watch::Sender<u64>,
    /// The same figure for the check every reply makes (no lock).
    synced_now: AtomicU64,
    /// The file the next fsync covers.
    file: Mutex<Option<Arc<File>>>,
    /// Wakes the fsync thread.
    work: Condvar,
    started: AtomicBool,
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            written: AtomicU64::new(0),
            synced: tokio::sync::watch::Sender::new(0),
            synced_now: AtomicU64::new(0),
            file: Mutex::new(None),
            work: Condvar::new(),
            started: AtomicBool::new(false),
        }
    }
}

impl GroupCommit {
    /// Records `n` bytes just written to `file` (under the server lock) and
    /// lets the fsync thread know.
    pub fn wrote(self: &Arc<Self>, file: &Arc<File>, n: u64) {
        {
            let mut slot = self.file.lock().unwrap_or_else(|e| e.into_inner());
            if !slot.as_ref().is_some_and(|f| Arc::ptr_eq(f, file)) {
                *slot = Some(file.clone());
            }
            self.written.fetch_add(n, Ordering::AcqRel);
        }
        self.work.notify_one();
        if !self.started.swap(true, Ordering::AcqRel) {
            let me = self.clone();
            let spawned = std::thread::Builder::new().name("aof-fsync".into()).spawn(move || me.run());
            if let Err(e) = spawned {
                crate::log::warning(&format!("Can't create the AOF fsync thread: {e}. Exiting..."));
                std::process::exit(1);
            }
        }
    }

    /// Everything written so far is on disk (the caller fsynced the file,
    /// before switching to another one).
    pub fn all_synced(&self) {
        self.publish(self.written.load(Ordering::Acquire));
    }

    fn publish(&self, upto: u64) {
        self.synced_now.fetch_max(upto, Ordering::AcqRel);
        self.synced.send_if_modified(|v| {
            let moved = upto > *v;
            if moved {
                *v = upto;
            }
            moved
        });
    }

    /// Waits until what has been written so far is on disk (at once when
    /// nothing is pending, the case of every policy but `always`).
    pub async fn durable(&self) {
        let target = self.written.load(Ordering::Acquire);
        if self.synced_now.load(Ordering::Acquire) >= target {
            return;
        }
        let mut rx = self.synced.subscribe();
        let _ = rx.wait_for(|&s| s >= target).await;
    }

    /// The fsync thread: one fsync after another while there is something to
    /// cover. Redis exits when an fsync fails under `always`; so does this.
    fn run(&self) {
        loop {
            let (file, target) = {
                let mut slot = self.file.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    let w = self.written.load(Ordering::Acquire);
                    if w > self.synced_now.load(Ordering::Acquire) {
                        if let Some(f) = slot.clone() {
                            break (f, w);
                        }
                    }
                    slot = self.work.wait(slot).unwrap_or_else(|e| e.into_inner());
                }
            };
            if let Err(e) = file.sync_data() {
                crate::log::warning(&format!(
                    "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {}. Exiting...",
                    super::strerror(&e)
                ));
                std::process::exit(1);
            }
            self.publish(target);
        }
    }
}
