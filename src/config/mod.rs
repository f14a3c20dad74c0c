//! Server configuration: every directive Redis 7.0 knows, with its default,
//! current value and the typed copies that hot code reads. Directives are set
//! from the config file, `--name value` arguments and CONFIG SET.

use std::collections::BTreeMap;

static DEFAULTS: &str = include_str!("redis-7.0-config-defaults.json");

/// The configuration. `values` holds the canonical text of every directive (what
/// CONFIG GET shows); the public typed fields mirror the ones read on hot paths.
pub struct Config {
    values: BTreeMap<String, String>,
    pub port: u16,
    pub bind: Vec<String>,
    pub databases: usize,
    pub requirepass: Option<Vec<u8>>,
    pub maxclients: usize,
    pub timeout: u64,
    pub hz: u32,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: usize,
    pub protected_mode: bool,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: usize,
    pub loglevel: String,
    pub logfile: String,
    pub dir: String,
    pub pidfile: String,
    pub daemonize: bool,
    pub unixsocket: String,
    pub tcp_keepalive: u64,
    pub active_expire_effort: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// The embedded defaults (Redis 7.0's `CONFIG GET *` on a fresh server).
    pub fn new() -> Config {
        let doc: serde_json::Value = serde_json::from_str(DEFAULTS).expect("embedded config defaults are valid JSON");
        let mut values = BTreeMap::new();
        if let Some(m) = doc["config"].as_object() {
            for (k, v) in m {
                values.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
            }
        }
        // The reference was read from a server started with a few options; these
        // are the values a plain `redis-server` with no arguments has.
        for (k, v) in [("port", "6379"), ("daemonize", "no"), ("pidfile", ""), ("save", "3600 1 300 100 60 10000")] {
            values.insert(k.to_string(), v.to_string());
        }
        values.insert("dir".into(), std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default());
        let mut c = Config {
            values,
            port: 6379,
            bind: vec!["*".into(), "-::*".into()],
            databases: 16,
            requirepass: None,
            maxclients: 10000,
            timeout: 0,
            hz: 10,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1 << 30,
            protected_mode: true,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            loglevel: "notice".into(),
            logfile: String::new(),
            dir: String::new(),
            pidfile: String::new(),
            daemonize: false,
            unixsocket: String::new(),
            tcp_keepalive: 300,
            active_expire_effort: 1,
        };
        c.refresh();
        c
    }

    /// Current text of a directive.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// All directives in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Sets a directive from its text; the error text is what CONFIG SET and
    /// startup report.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let name = name.to_ascii_lowercase();
        if !self.values.contains_key(&name) {
            return Err(format!("Unknown option or number of arguments for CONFIG SET - '{name}'"));
        }
        self.values.insert(name, value.to_string());
        self.refresh();
        Ok(())
    }

    fn num<T: std::str::FromStr>(&self, name: &str, dflt: T) -> T {
        self.get(name).and_then(|v| v.parse().ok()).unwrap_or(dflt)
    }

    fn yes(&self, name: &str) -> bool {
        self.get(name) == Some("yes")
    }

    /// Recomputes the typed copies from the text values.
    fn refresh(&mut self) {
        self.port = self.num("port", 6379);
        self.bind = self.get("bind").unwrap_or("").split_whitespace().map(str::to_string).collect();
        self.databases = self.num("databases", 16);
        self.requirepass = self.get("requirepass").filter(|s| !s.is_empty()).map(|s| s.as_bytes().to_vec());
        self.maxclients = self.num("maxclients", 10000);
        self.timeout = self.num("timeout", 0);
        self.hz = self.num("hz", 10u32).clamp(1, 500);
        self.proto_max_bulk_len = self.num("proto-max-bulk-len", 512 * 1024 * 1024);
        self.client_query_buffer_limit = self.num("client-query-buffer-limit", 1 << 30);
        self.protected_mode = self.yes("protected-mode");
        self.slowlog_log_slower_than = self.num("slowlog-log-slower-than", 10000);
        self.slowlog_max_len = self.num("slowlog-max-len", 128);
        self.loglevel = self.get("loglevel").unwrap_or("notice").to_string();
        self.logfile = self.get("logfile").unwrap_or("").to_string();
        self.dir = self.get("dir").unwrap_or("").to_string();
        self.pidfile = self.get("pidfile").unwrap_or("").to_string();
        self.daemonize = self.yes("daemonize");
        self.unixsocket = self.get("unixsocket").unwrap_or("").to_string();
        self.tcp_keepalive = self.num("tcp-keepalive", 300);
        self.active_expire_effort = self.num("active-expire-effort", 1u32).clamp(1, 10);
    }
}

impl Config {
    /// Warnings logged at startup (directives accepted but not acting yet).
    pub fn startup_warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Applies `[config-file] [--name value ...]` as redis-server does; returns the
/// config file path. The error text is printed before exiting with status 1.
pub fn load_from_args(config: &mut Config, args: &[String]) -> Result<Option<String>, String> {
    let mut file = None;
    let mut text = String::new();
    let mut i = 0;
    if let Some(first) = args.first() {
        if !first.starts_with("--") {
            let body = std::fs::read_to_string(first)
                .map_err(|e| format!("Fatal error, can't open config file '{first}': {e}"))?;
            text.push_str(&body);
            text.push('\n');
            file = Some(first.clone());
            i = 1;
        }
    }
    let mut line = String::new();
    while i < args.len() {
        let a = &args[i];
        if let Some(name) = a.strip_prefix("--") {
            if !line.is_empty() {
                text.push_str(&line);
                text.push('\n');
            }
            line = name.to_string();
        } else {
            line.push(' ');
            line.push_str(&format!("\"{}\"", a.replace('\\', "\\\\").replace('"', "\\\"")));
        }
        i += 1;
    }
    if !line.is_empty() {
        text.push_str(&line);
        text.push('\n');
    }
    for (n, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let fail = |msg: &str| {
            format!("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line {}\n>>> '{}'\n{}", n + 1, t, msg)
        };
        let parts =
            crate::resp::split_args(t.as_bytes()).ok_or_else(|| fail("Unbalanced quotes in configuration line"))?;
        let parts: Vec<String> = parts.into_iter().map(|p| String::from_utf8_lossy(&p).into_owned()).collect();
        if parts.len() < 2 {
            return Err(fail("wrong number of arguments"));
        }
        config.set(&parts[0], &parts[1..].join(" ")).map_err(|_| fail("Bad directive or wrong number of arguments"))?;
    }
    Ok(file)
}
