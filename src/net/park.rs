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
//! The runtime's epoll descriptor is not exposed by tokio; `Watch::around`
//! finds it as the first eventpoll descriptor that building the runtime
//! created (the I/O driver's; the other one is its registry's duplicate of
//! it). Without one, watching is off and workers sleep at once.

use std::cell::Cell;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// The longest a worker watches before sleeping.
const SPIN: Duration = Duration::from_micros(50);
/// A previous sleep shorter than this means the server is busy.
const BUSY: Duration = Duration::from_micros(200);

thread_local! {
    /// When this worker last started to sleep, and whether its previous
    /// sleep was short.
    static SLEPT_AT: Cell<Option<Instant>> = const { Cell::new(None) };
    static BUSY_NOW: Cell<bool> = const { Cell::new(false) };
}

/// The runtime's epoll descriptor, watched before a worker sleeps.
#[derive(Clone, Copy)]
pub struct Watch {
    epfd: Option<RawFd>,
}

impl Watch {
    /// Builds the runtime with `build` and finds the epoll descriptor it
    /// created.
    pub fn around<T>(build: impl FnOnce() -> T) -> (T, Watch) {
        let before = eventpolls();
        let out = build();
        // The driver's epoll and its registry's duplicate of it: the first.
        let epfd = eventpolls().into_iter().filter(|fd| !before.contains(fd)).min();
        (out, Watch { epfd })
    }

    /// Called as a worker is about to sleep (tokio's `on_thread_park`).
    pub fn before_sleep(self) {
        let now = Instant::now();
        if let (Some(fd), true) = (self.epfd, BUSY_NOW.get()) {
            let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
            while now.elapsed() < SPIN {
                // SAFETY: `p` is one valid pollfd that lives across the call,
                // and the count passed is 1; a zero timeout never blocks.
                let r = unsafe { libc::poll(&mut p, 1, 0) };
                if r != 0 {
                    break;
                }
                std::hint::spin_loop();
            }
        }
        SLEPT_AT.set(Some(Instant::now()));
    }

    /// Called as a worker wakes (tokio's `on_thread_unpark`).
    pub fn after_sleep(self) {
        if let Some(at) = SLEPT_AT.take() {
            BUSY_NOW.set(at.elapsed() < BUSY);
        }
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
