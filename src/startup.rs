//! From a command line to a running server: argument and config-file handling
//! (as redis-server: `ferrokv-server [/path/to/redis.conf] [--directive value ...]`),
//! logging setup, pidfile, daemonizing, listeners, signals and clean shutdown.

use crate::config::Config;
use crate::server::Shared;
use std::sync::Arc;

pub const VERSION: &str = "7.0.15";

fn usage() -> String {
    "Usage: ./ferrokv-server [/path/to/redis.conf] [options] [-]\n       \
     ./ferrokv-server - (read config from stdin)\n       \
     ./ferrokv-server -v or --version\n       \
     ./ferrokv-server -h or --help\n\n\
     Examples:\n       \
     ./ferrokv-server (run the server with default conf)\n       \
     ./ferrokv-server /etc/redis/6379.conf\n       \
     ./ferrokv-server --port 7777\n       \
     ./ferrokv-server /etc/myredis.conf --loglevel verbose -\n       \
     ./ferrokv-server /etc/myredis.conf --loglevel verbose\n"
        .to_string()
}

pub fn version_line() -> String {
    format!(
        "Redis server v={VERSION} sha=00000000:0 malloc=mimalloc bits=64 build=ferrokv-{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// Entry point of `ferrokv-server`; returns the process exit code.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() == 1 {
        match args[0].as_str() {
            "-v" | "--version" => {
                println!("{}", version_line());
                return 0;
            }
            "-h" | "--help" => {
                eprint!("{}", usage());
                return 0;
            }
            _ => {}
        }
    }
    let mut config = Config::new();
    let config_file = match crate::config::load_from_args(&mut config, &args) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}");
            return 1;
        }
    };
    if let Some(l) = crate::log::parse_level(&config.loglevel) {
        crate::log::set_level(l);
    }
    if let Err(e) = crate::log::set_file(&config.logfile) {
        eprintln!("Can't open the log file: {e}");
        return 1;
    }
    if !config.dir.is_empty() {
        if let Err(e) = std::env::set_current_dir(&config.dir) {
            eprintln!("Can't chdir to '{}': {e}", config.dir);
            return 1;
        }
    }
    if config.daemonize {
        // SAFETY: called before any thread is started (the runtime is built
        // below), so forking cannot leave another thread's locks held.
        let r = unsafe { libc::daemon(1, if config.logfile.is_empty() { 0 } else { 1 }) };
        if r != 0 {
            eprintln!("Failed to daemonize");
            return 1;
        }
    }
    let threads = config.get("io-threads").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).clamp(1, 128);
    let workers = threads.max(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2));
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Failed to start the runtime: {e}");
            return 1;
        }
    };
    rt.block_on(run(config, config_file))
}

async fn run(config: Config, config_file: Option<String>) -> i32 {
    let pid = std::process::id();
    crate::log::notice("oO0OoO0OoO0Oo ferrokv is starting oO0OoO0OoO0Oo");
    crate::log::notice(&format!(
        "Redis version={VERSION}, bits=64, commit=00000000, modified=0, pid={pid}, just started"
    ));
    match &config_file {
        Some(f) => crate::log::notice(&format!("Configuration loaded ({f})")),
        None => crate::log::warning(
            "Warning: no config file specified, using the default config. In order to specify a config file use ferrokv-server /path/to/redis.conf",
        ),
    }
    for w in config.startup_warnings() {
        crate::log::warning(&w);
    }
    let port = config.port;
    let binds = config.bind.clone();
    let unixsocket = config.unixsocket.clone();
    let pidfile = config.pidfile.clone();
    let daemonize = config.daemonize;
    let sh = Shared::new(config, config_file);

    let mut listeners = Vec::new();
    if port != 0 {
        let addrs: Vec<String> = if binds.is_empty() { vec!["*".into()] } else { binds.clone() };
        for b in addrs {
            let optional = b.starts_with('-');
            let host = b.trim_start_matches('-');
            let sockaddr = match host {
                "*" => format!("0.0.0.0:{port}"),
                "::*" => format!("[::]:{port}"),
                h if h.contains(':') => format!("[{h}]:{port}"),
                h => format!("{h}:{port}"),
            };
            match bind_tcp(&sockaddr) {
                Ok(l) => listeners.push(l),
                Err(e) if optional || host == "::*" => {
                    crate::log::verbose(&format!("Skipping optional bind {sockaddr}: {e}"));
                }
                Err(e) => {
                    crate::log::warning(&format!(
                        "Warning: Could not create server TCP listening socket {sockaddr}: {e}"
                    ));
                    crate::log::warning(&format!("Failed listening on port {port} (TCP), aborting."));
                    return 1;
                }
            }
        }
        if let Some(l) = listeners.first() {
            if let Ok(a) = l.local_addr() {
                sh.tcp_port.store(a.port() as u64, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
    let mut unix_listener = None;
    if !unixsocket.is_empty() {
        let _ = std::fs::remove_file(&unixsocket);
        match tokio::net::UnixListener::bind(&unixsocket) {
            Ok(l) => unix_listener = Some(l),
            Err(e) => {
                crate::log::warning(&format!("Failed opening Unix socket: {e}"));
                return 1;
            }
        }
    }
    if !pidfile.is_empty() || daemonize {
        let path = if pidfile.is_empty() { "/var/run/redis.pid".to_string() } else { pidfile.clone() };
        let _ = std::fs::write(&path, format!("{pid}\n"));
    }
    crate::log::notice(&format!("Server initialized, PID: {pid}"));
    crate::log::notice("Ready to accept connections tcp");
    for l in listeners {
        tokio::spawn(crate::net::serve_tcp(sh.clone(), l));
    }
    if let Some(l) = unix_listener {
        crate::log::notice("Ready to accept connections unix");
        tokio::spawn(crate::net::serve_unix(sh.clone(), l, unixsocket.clone()));
    }
    tokio::spawn(crate::cron::run(sh.clone()));

    wait_for_shutdown(&sh).await;
    crate::log::warning("User requested shutdown...");
    sh.request_shutdown();
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
    if !unixsocket.is_empty() {
        let _ = std::fs::remove_file(&unixsocket);
    }
    crate::log::warning("Redis is now ready to exit, bye bye...");
    0
}

fn bind_tcp(addr: &str) -> std::io::Result<tokio::net::TcpListener> {
    let sa: std::net::SocketAddr =
        addr.parse().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{e}")))?;
    let sock = if sa.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    sock.set_reuseaddr(true)?;
    sock.bind(sa)?;
    sock.listen(511)
}

async fn wait_for_shutdown(sh: &Arc<Shared>) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
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
        _ = term_fut => {}
        _ = int_fut => {}
        _ = req => {}
    }
}
