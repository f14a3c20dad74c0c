//! From a command line to a running server: argument and config-file handling
//! (as redis-server: `ferrokv-server [/path/to/redis.conf] [options] [-]`),
//! `--version` and `--help`, logging setup, working directory, pidfile,
//! daemonizing, the TCP and unix listeners (rebound when CONFIG SET changes
//! `port` or `bind`), signals and clean shutdown.

use crate::config::Config;
use crate::server::Shared;
use parking_lot::Mutex;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Weak};

pub const VERSION: &str = "7.0.15";

fn usage(argv0: &str) -> String {
    let p = argv0;
    format!(
        "Usage: {p} [/path/to/redis.conf] [options] [-]\n       \
         {p} - (read config from stdin)\n       \
         {p} -v or --version\n       \
         {p} -h or --help\n\n\
         Examples:\n       \
         {p} (run the server with default conf)\n       \
         echo 'maxmemory 128mb' | {p} -\n       \
         {p} /etc/redis/6379.conf\n       \
         {p} --port 7777\n       \
         {p} --port 7777 --replicaof 127.0.0.1 8888\n       \
         {p} /etc/myredis.conf --loglevel verbose -\n       \
         {p} /etc/myredis.conf --loglevel verbose\n"
    )
}

/// The build id: 16 hex digits derived from the crate version.
fn build_id() -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in concat!("ferrokv-", env!("CARGO_PKG_VERSION")).bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// What `--version` prints (redis-server's format).
pub fn version_line() -> String {
    format!("Redis server v={VERSION} sha=00000000:0 malloc=mimalloc bits=64 build={}", build_id())
}

/// Entry point of `ferrokv-server`; returns the process exit code.
pub fn main() -> i32 {
    let mut all = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let argv0 = all.next().unwrap_or_else(|| "ferrokv-server".into());
    let args: Vec<String> = all.collect();
    match args.first().map(String::as_str) {
        Some("-v") | Some("--version") => {
            println!("{}", version_line());
            return 0;
        }
        Some("-h") | Some("--help") => {
            eprint!("{}", usage(&argv0));
            return 1;
        }
        _ => {}
    }
    crate::log::set_role(b'C');
    let mut config = Config::new();
    let config_file = match crate::config::load_from_args(&mut config, &args) {
        Ok(f) => f,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("{e}");
            }
            return 1;
        }
    };
    if let Some(l) = crate::log::parse_level(&config.loglevel) {
        crate::log::set_level(l);
    }
    if config.daemonize {
        // SAFETY: called before any thread is started (the runtime is built
        // below), so forking cannot leave another thread's locks held.
        let r = unsafe { libc::daemon(1, 0) };
        if r != 0 {
            eprintln!("Failed to daemonize");
            return 1;
        }
        if config.pidfile.is_empty() {
            config.set_internal("pidfile", crate::config::DEFAULT_PIDFILE);
        }
    }
    if let Err(e) = crate::log::set_file(&config.logfile) {
        eprintln!("Can't open the log file: {}", crate::config::strerror(&e));
        return 1;
    }
    let pid = std::process::id();
    crate::log::warning("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo");
    crate::log::warning(&format!(
        "Redis version={VERSION}, bits=64, commit=00000000, modified=0, pid={pid}, just started"
    ));
    if args.is_empty() {
        crate::log::warning(&format!(
            "Warning: no config file specified, using the default config. In order to specify a config file use {argv0} /path/to/redis.conf"
        ));
    } else {
        crate::log::warning("Configuration loaded");
    }
    for w in config.startup_warnings() {
        crate::log::warning(&w);
    }
    if !config.module_configs.is_empty() && config.modules.is_empty() {
        crate::log::warning(
            "Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting",
        );
        return 1;
    }
    if config.get("disable-thp") == Some("yes") {
        disable_thp();
    }
    crate::log::set_role(b'M');
    let workers = network_threads(&config);
    // Workers watch for work a little before they sleep (`net::park`).
    let built =
        crate::net::park::build(tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all());
    let rt = match built {
        Ok(rt) => rt,
        Err(e) => {
            crate::log::warning(&format!("Failed to start the runtime: {e}"));
            return 1;
        }
    };
    rt.block_on(run(config, config_file))
}

/// The TCP listeners currently accepting, so CONFIG SET can replace them.
struct Listeners {
    sh: Weak<Shared>,
    active: Vec<(tokio::task::JoinHandle<()>, RawFd)>,
    backlog: i32,
}

static LISTENERS: Mutex<Option<Listeners>> = Mutex::new(None);

/// Binds one listening socket (`addr` as written in `bind`).
/// `disable-thp yes` (the default), as Redis: transparent huge pages make a
/// sparsely touched heap count whole 2 MB pages in RSS (and slow forks in Redis).
fn disable_thp() {
    // SAFETY: PR_SET_THP_DISABLE takes only integer arguments and changes a
    // per-process flag; no memory is passed to the kernel.
    let r = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if r != 0 {
        crate::log::warning("Failed to disable transparent huge pages for this process.");
    }
}

fn bind_one(host: &str, port: u16, backlog: i32) -> std::io::Result<tokio::net::TcpListener> {
    let ip: std::net::IpAddr = match host {
        "*" => std::net::Ipv4Addr::UNSPECIFIED.into(),
        "::*" => std::net::Ipv6Addr::UNSPECIFIED.into(),
        h => h.parse().map_err(|_| std::io::Error::from_raw_os_error(libc::EADDRNOTAVAIL))?,
    };
    let sa = std::net::SocketAddr::new(ip, port);
    let sock = if sa.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    sock.set_reuseaddr(true)?;
    if sa.is_ipv6() {
        let on: libc::c_int = 1;
        // SAFETY: the fd is the live socket owned by `sock`; the option value
        // points to a c_int of the stated size.
        unsafe {
            libc::setsockopt(
                sock.as_raw_fd(),
                libc::IPPROTO_IPV6,
                libc::IPV6_V6ONLY,
                &on as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    sock.bind(sa)?;
    sock.listen(backlog.clamp(1, i32::MAX) as u32)
}

/// Binds every `bind` address as Redis's `listenToPort` does: an address
/// written with a leading `-` (and the IPv6 wildcard) may fail.
fn bind_all(port: u16, binds: &[String], backlog: i32) -> Result<Vec<tokio::net::TcpListener>, String> {
    let mut out = Vec::new();
    if port == 0 {
        return Ok(out);
    }
    for b in binds {
        let optional = b.starts_with('-');
        let host = b.trim_start_matches('-');
        match bind_one(host, port, backlog) {
            Ok(l) => out.push(l),
            Err(e) => {
                let unsupported = matches!(
                    e.raw_os_error(),
                    Some(libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT | libc::ENOPROTOOPT | libc::ESOCKTNOSUPPORT)
                );
                if unsupported || (optional && e.raw_os_error() == Some(libc::EADDRNOTAVAIL)) || host == "::*" {
                    crate::log::verbose(&format!("Skipping optional bind {host}:{port}: {e}"));
                    continue;
                }
                crate::log::warning(&format!(
                    "Warning: Could not create server TCP listening socket {host}:{port}: bind: {}",
                    crate::config::strerror(&e)
                ));
                return Err(format!("Failed listening on port {port} (TCP), aborting."));
            }
        }
    }
    Ok(out)
}

/// Starts accepting on `listeners` (must run inside the runtime).
fn start_accepting(
    sh: &Arc<Shared>,
    listeners: Vec<tokio::net::TcpListener>,
) -> Vec<(tokio::task::JoinHandle<()>, RawFd)> {
    listeners
        .into_iter()
        .map(|l| {
            let fd = l.as_raw_fd();
            (tokio::spawn(crate::net::serve_tcp(sh.clone(), l)), fd)
        })
        .collect()
}

/// Stops accepting on the current listeners at once (existing connections stay).
fn stop_accepting(active: &mut Vec<(tokio::task::JoinHandle<()>, RawFd)>) {
    for (task, fd) in active.drain(..) {
        task.abort();
        // SAFETY: the fd belongs to the listener owned by the aborted task,
        // which is dropped only after this call on the runtime; shutting a
        // listening socket down stops it listening so the address is free.
        unsafe {
            libc::shutdown(fd, libc::SHUT_RDWR);
        }
    }
}

/// Replaces the TCP listeners after CONFIG SET port/bind. On failure the old
/// addresses are bound again and the error is the CONFIG SET reason text.
pub fn rebind(port: u16, binds: &[String], old_port: u16, old_binds: &[String]) -> Result<(), String> {
    let mut guard = LISTENERS.lock();
    let Some(ls) = guard.as_mut() else { return Ok(()) };
    let Some(sh) = ls.sh.upgrade() else { return Ok(()) };
    stop_accepting(&mut ls.active);
    match bind_all(port, binds, ls.backlog) {
        Ok(new) => {
            ls.active = start_accepting(&sh, new);
            sh.tcp_port.store(port as u64, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        }
        Err(_) => {
            if let Ok(old) = bind_all(old_port, old_binds, ls.backlog) {
                ls.active = start_accepting(&sh, old);
            }
            Err(if port != old_port {
                "Unable to listen on this port".into()
            } else {
                "Failed to bind to specified addresses.".into()
            })
        }
    }
}

async fn run(config: Config, config_file: Option<String>) -> i32 {
    let pid = std::process::id();
    let port = config.port;
    let binds = config.bind.clone();
    let unixsocket = config.unixsocket.clone();
    let unixperm = config.unixsocketperm;
    let pidfile = config.pidfile.clone();
    let backlog = config.tcp_backlog;
    let sh = Shared::new(config, config_file);
    // Signal handlers go in before anything listens: a SIGTERM that arrives
    // once clients can connect must shut down cleanly, never kill the process.
    use tokio::signal::unix::{signal, SignalKind};
    let mut signals = (signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok());

    let listeners = match bind_all(port, &binds, backlog) {
        Ok(l) => l,
        Err(e) => {
            crate::log::warning(&e);
            return 1;
        }
    };
    if let Some(l) = listeners.first() {
        if let Ok(a) = l.local_addr() {
            sh.tcp_port.store(a.port() as u64, std::sync::atomic::Ordering::Relaxed);
        }
    }
    let mut unix_listener = None;
    if !unixsocket.is_empty() {
        let _ = std::fs::remove_file(&unixsocket);
        match tokio::net::UnixListener::bind(&unixsocket) {
            Ok(l) => {
                if unixperm != 0 {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(&unixsocket, std::fs::Permissions::from_mode(unixperm));
                }
                unix_listener = Some(l)
            }
            Err(e) => {
                crate::log::warning(&format!("Failed opening Unix socket: {}", crate::config::strerror(&e)));
                return 1;
            }
        }
    }
    if listeners.is_empty() && unix_listener.is_none() {
        crate::log::warning("Configured to not listen anywhere, exiting.");
        return 1;
    }
    if !pidfile.is_empty() {
        if let Err(e) = std::fs::write(&pidfile, format!("{pid}\n")) {
            crate::log::warning(&format!("Failed to write PID file: {}", crate::config::strerror(&e)));
        }
    }
    crate::log::notice("monotonic clock: POSIX clock_gettime");
    crate::log::notice(&format!("Running mode=standalone, port={port}."));
    crate::commands::server::startup_memory(crate::server::stats::used_memory());
    crate::log::warning(&format!("Server initialized, PID: {pid}"));
    // The data (an RDB file, or the append-only files) loads while
    // connections are accepted: they get -LOADING, as from Redis. With
    // nothing to load, the server is ready (and has logged so) before the
    // first client comes, which may change the log level.
    let mut listeners = Some(listeners);
    let mut accept = |sh: &Arc<Shared>| {
        if let Some(l) = listeners.take() {
            let active = start_accepting(sh, l);
            *LISTENERS.lock() = Some(Listeners { sh: Arc::downgrade(sh), active, backlog });
        }
    };
    let loaded = if crate::persist::mark_loading(&sh) {
        accept(&sh);
        let loader = sh.clone();
        let loaded = tokio::task::spawn_blocking(move || crate::persist::load_at_startup(&loader)).await;
        matches!(loaded, Ok(Ok(())))
    } else {
        crate::persist::load_at_startup(&sh).is_ok()
    };
    if !loaded {
        return 1;
    }
    crate::log::notice("Ready to accept connections tcp");
    accept(&sh);
    if let Some(l) = unix_listener {
        crate::log::notice("Ready to accept connections unix");
        tokio::spawn(crate::net::serve_unix(sh.clone(), l, unixsocket.clone()));
    }
    // Background duties run on their own thread: they take the server lock,
    // which a long script may hold, and must not stall a network worker then.
    let (cron_sh, handle) = (sh.clone(), tokio::runtime::Handle::current());
    tokio::task::spawn_blocking(move || handle.block_on(crate::cron::run(cron_sh)));
    tokio::spawn(crate::server::evict::background(sh.clone()));

    // A signal shuts down as SHUTDOWN does (saving when save points are set,
    // per shutdown-on-sigterm / shutdown-on-sigint); if that save fails the
    // server keeps running, as Redis does. SHUTDOWN itself saved already.
    while let Some(directive) = wait_for_shutdown(&sh, &mut signals).await {
        crate::log::warning("User requested shutdown...");
        let mut srv = sh.server.lock();
        let (save, nosave, force) = crate::persist::signal_shutdown_flags(&srv.config, directive);
        if crate::persist::prepare_shutdown(&mut srv, save, nosave, force).is_ok() {
            break;
        }
    }
    sh.request_shutdown();
    if let Some(mut ls) = LISTENERS.lock().take() {
        stop_accepting(&mut ls.active);
    }
    // The pidfile may have been set to the daemon default after startup.
    let pidfile = sh.server.lock().config.pidfile.clone();
    if !pidfile.is_empty() {
        crate::log::notice("Removing the pid file.");
        let _ = std::fs::remove_file(&pidfile);
    }
    if !unixsocket.is_empty() {
        let _ = std::fs::remove_file(&unixsocket);
    }
    crate::log::warning("Redis is now ready to exit, bye bye...");
    // The dataset is not freed on the way out, as Redis does not free it:
    // everything it held is written already, and freeing millions of keys
    // would only delay the exit.
    std::mem::forget(sh);
    0
}

/// Waits for a shutdown signal (returns the directive that says how to shut
/// down) or a SHUTDOWN command (None).
async fn wait_for_shutdown(
    sh: &Arc<Shared>,
    (term, int): &mut (Option<tokio::signal::unix::Signal>, Option<tokio::signal::unix::Signal>),
) -> Option<&'static str> {
    let term_fut = async {
        match term.as_mut() {
            Some(s) => {
                s.recv().await;
                crate::log::warning("Received SIGTERM scheduling shutdown...");
            }
            None => std::future::pending().await,
        }
    };
    let int_fut = async {
        match int.as_mut() {
            Some(s) => {
                s.recv().await;
                crate::log::warning("Received SIGINT scheduling shutdown...");
            }
            None => std::future::pending().await,
        }
    };
    let req = async {
        loop {
            let notified = sh.shutdown_notify.notified();
            if sh.shutdown.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    };
    tokio::select! {
        _ = term_fut => Some("shutdown-on-sigterm"),
        _ = int_fut => Some("shutdown-on-sigint"),
        _ = req => None,
    }
}

/// Threads that run connections (reading, parsing, executing under the lock,
/// writing). `io-threads N` (N > 1) asks for N; by default half the cores, so
/// that clients on the same machine keep a core: on a 2-core machine one thread
/// serves everything, like Redis, without cross-thread wakeups.
fn network_threads(config: &Config) -> usize {
    let asked = config.get("io-threads").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).clamp(1, 128);
    if asked > 1 {
        return asked;
    }
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    (cores / 2).max(1)
}
