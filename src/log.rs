//! Logging in Redis's format (`pid:M 21 Nov 2026 20:31:13.123 * message`), to
//! stdout or to `logfile`, filtered by `loglevel`. Tools and scripts wait for
//! lines such as `Ready to accept connections`, so the texts matter.

use parking_lot::Mutex;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug = 0,
    Verbose = 1,
    Notice = 2,
    Warning = 3,
    Nothing = 4,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);
static FILE: Mutex<Option<std::fs::File>> = Mutex::new(None);
/// The role letter of log lines: `C` while the configuration is read (as Redis
/// before its server is initialised), `M` for a master afterwards.
static ROLE: AtomicU8 = AtomicU8::new(b'M');

/// Sets the role letter shown after the pid (`C`, `M`, `S`, `X`).
pub fn set_role(c: u8) {
    ROLE.store(c, Ordering::Relaxed);
}

/// The current level.
pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Level::Debug,
        1 => Level::Verbose,
        2 => Level::Notice,
        3 => Level::Warning,
        _ => Level::Nothing,
    }
}

/// Parses a `loglevel` value.
pub fn parse_level(s: &str) -> Option<Level> {
    Some(match s.to_ascii_lowercase().as_str() {
        "debug" => Level::Debug,
        "verbose" => Level::Verbose,
        "notice" => Level::Notice,
        "warning" => Level::Warning,
        "nothing" => Level::Nothing,
        _ => return None,
    })
}

pub fn set_level(l: Level) {
    LEVEL.store(l as u8, Ordering::Relaxed);
}

/// Sends log lines to `path` (empty = stdout). Errors are returned for startup
/// to report; on error the previous destination is kept.
pub fn set_file(path: &str) -> std::io::Result<()> {
    let new =
        if path.is_empty() { None } else { Some(std::fs::OpenOptions::new().create(true).append(true).open(path)?) };
    *FILE.lock() = new;
    Ok(())
}

fn timestamp() -> String {
    let us = crate::util::now_us();
    let secs = (us / 1_000_000) as libc::time_t;
    // SAFETY: `tm` is a plain C struct that localtime_r fully initialises from
    // `secs`; both pointers are to live stack values for the duration of the call.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        tm
    };
    const MON: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        tm.tm_mday,
        MON[(tm.tm_mon.clamp(0, 11)) as usize],
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        (us / 1000) % 1000
    )
}

pub fn log(level: Level, msg: &str) {
    if (level as u8) < LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let mark = match level {
        Level::Debug => '.',
        Level::Verbose => '-',
        Level::Notice => '*',
        _ => '#',
    };
    let role = ROLE.load(Ordering::Relaxed) as char;
    let line = format!("{}:{} {} {} {}\n", std::process::id(), role, timestamp(), mark, msg);
    raw(&line);
}

/// Writes text as is (the startup banner).
pub fn raw(text: &str) {
    let mut f = FILE.lock();
    match f.as_mut() {
        Some(file) => {
            let _ = file.write_all(text.as_bytes());
        }
        None => {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(text.as_bytes());
            let _ = o.flush();
        }
    }
}

pub fn warning(msg: &str) {
    log(Level::Warning, msg);
}
pub fn notice(msg: &str) {
    log(Level::Notice, msg);
}
pub fn verbose(msg: &str) {
    log(Level::Verbose, msg);
}
pub fn debug(msg: &str) {
    log(Level::Debug, msg);
}
