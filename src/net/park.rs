//! Adaptive polling before a network worker sleeps.
//!
//! When a worker has nothing left to run it sleeps in `epoll_wait`, and the
//! next client that sends a request pays for waking it: the sender's `send`
//! runs the wake-up (an inter-processor interrupt to the sleeping core) in
//! its own system call. Under load that cost lands on every few requests: a
//! worker that serves requests faster than its clients send them falls
//! asleep between almost every pair, and its clients spend more time in the
//! kernel than with a slower server (at pipeline 1 with 50 clients, ferrokv
//! slept 9000 times a second where Redis, busier per request, slept 1200).
//!
//! So, while the server is busy, a worker about to sleep first watches the
//! runtime's epoll instance for up to `SPIN` (a `poll` with no timeout, which
//! registers no waiter, so a sender wakes nobody), and goes on to sleep only
//! if nothing arrived by then; when something did, the worker's `epoll_wait`
//! returns at once. "Busy" means the worker's previous sleep was shorter than
//! `BUSY`: an idle or lightly loaded server sleeps at once, as before, and
//! spends no CPU on watching.
//!
//! The runtime's epoll descriptor is not exposed by tokio; `build` finds it
//! as the first eventpoll descriptor that building the runtime created (the
//! I/O driver's; the other one is its registry's duplicate of it). Without
//! one, watching is off and workers sleep at once.

use std::cell::Cell;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// The longest a worker watches before sleeping.
const SPIN: Duration = Duration::from_micros(50);
/// A previous sleep shorter than this means the server is busy.
const BUSY: Duration = Duration::from_micros(200);

/// The runtime's epoll descriptor, or -1 (watching off).
static EPFD: AtomicI32 = AtomicI32::new(-1);

thread_local! {
    /// When this worker last started to sleep, and whether its previous
    /// sleep was short.
    static SLEPT_AT: Cell<Option<Instant>> = const { Cell::new(None) };
    static BUSY_NOW: Cell<bool> = const { Cell::new(false) };
}

/// Builds the runtime with its workers watching before they sleep, and
/// finds the epoll descriptor building it created.
pub fn build(builder: &mut tokio::runtime::Builder) -> std::io::Result<tokio::runtime::Runtime> {
    let before = eventpolls();
    let rt = builder.on_thread_park(before_sleep).on_thread_unpark(after_sleep).build()?;
    // The driver's epoll and its registry's duplicate of it: the first.
    if let Some(fd) = eventpolls().into_iter().filter(|fd| !before.contains(fd)).min() {
        EPFD.store(fd, Ordering::Relaxed);
    }
    Ok(rt)
}

/// Called as a worker is about to sleep (tokio's `on_thread_park`).
fn before_sleep() {
    let mut at = Instant::now();
    let fd = EPFD.load(Ordering::Relaxed);
    if fd >= 0 && BUSY_NOW.get() {
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        while at.elapsed() < SPIN {
            // SAFETY: `p` is one valid pollfd that lives across the call,
            // and the count passed is 1; a zero timeout never blocks.
            let r = unsafe { libc::poll(&mut p, 1, 0) };
            if r != 0 {
                break;
            }
            std::hint::spin_loop();
        }
        at = Instant::now();
    }
    SLEPT_AT.set(Some(at));
}

/// Called as a worker wakes (tokio's `on_thread_unpark`).
fn after_sleep() {
    if let Some(at) = SLEPT_AT.take() {
        BUSY_NOW.set(at.elapsed() < BUSY);
    }
}

/// The process's eventpoll descriptors.
fn eventpolls() -> Vec<RawFd> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else { return Vec::new() };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let fd: RawFd = e.file_name().to_str()?.parse().ok()?;
        let target = std::fs::read_link(e.path()).ok()?;
        (target.as_os_str() == "anon_inode:[eventpoll]").then_some(fd)
    })
    .collect()
}
