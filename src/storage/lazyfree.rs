//! Freeing big values without stalling clients (Redis's lazyfree): UNLINK,
//! FLUSHALL/FLUSHDB ASYNC and the `lazyfree-lazy-*` directives hand what they
//! remove to one background thread, which drops it. INFO's
//! `lazyfree_pending_objects` and `lazyfreed_objects` are counted here.

use super::value::{Entry, Value};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

/// Values that cost more than this many allocations to free go to the
/// background thread (Redis's LAZYFREE_THRESHOLD).
pub const THRESHOLD: usize = 64;

type Job = (Box<dyn Send>, usize);

static PENDING: AtomicUsize = AtomicUsize::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);
static WORKER: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();

fn worker() -> &'static Mutex<Sender<Job>> {
    WORKER.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let spawned = std::thread::Builder::new().name("lazyfree".into()).spawn(move || {
            for (job, objects) in rx {
                drop(job);
                PENDING.fetch_sub(objects, Ordering::Relaxed);
                FREED.fetch_add(objects as u64, Ordering::Relaxed);
            }
        });
        if let Err(e) = spawned {
            crate::log::warning(&format!("Can't create the lazyfree thread: {e}"));
        }
        Mutex::new(tx)
    })
}

/// Drops `v`, counted as `objects` objects, on the background thread (here,
/// when that thread cannot be reached).
pub fn free_objects<T: Send + 'static>(v: T, objects: usize) {
    PENDING.fetch_add(objects, Ordering::Relaxed);
    let sent = match worker().lock() {
        Ok(tx) => tx.send((Box::new(v), objects)).map_err(|e| e.0),
        Err(_) => Err((Box::new(v) as Box<dyn Send>, objects)),
    };
    if let Err((job, _)) = sent {
        drop(job);
        PENDING.fetch_sub(objects, Ordering::Relaxed);
    }
}

/// Frees a removed key: in the background when `lazy` and freeing it is
/// costly, at once otherwise (Redis's `dbAsyncDelete` / `dbSyncDelete`).
pub fn free_entry(e: Entry, lazy: bool) {
    if lazy && e.value.free_effort() > THRESHOLD {
        free_objects(e, 1);
    }
}

/// Frees a replaced value the same way (SET over a big value with
/// `lazyfree-lazy-server-del`).
pub fn free_value(v: Value, lazy: bool) {
    if lazy && v.free_effort() > THRESHOLD {
        free_objects(v, 1);
    }
}

/// Objects handed to the background thread and not yet freed.
pub fn pending() -> usize {
    PENDING.load(Ordering::Relaxed)
}

/// Objects the background thread has freed since startup.
pub fn freed() -> u64 {
    FREED.load(Ordering::Relaxed)
}

/// CONFIG RESETSTAT clears the freed count.
pub fn reset_stats() {
    FREED.store(0, Ordering::Relaxed);
}
