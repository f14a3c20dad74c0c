//! Server configuration: every directive Redis 7.0 knows (see `registry`), with
//! its default, current value and the typed copies that hot code reads.
//! Directives are set from the config file and `--name value` arguments
//! (`load`), by CONFIG SET (`commands::config`), and written back by CONFIG
//! REWRITE (`rewrite`). Values are kept as the canonical text CONFIG GET shows.

pub mod load;
pub mod registry;
pub mod rewrite;
mod sha256;

pub use load::load_from_args;
use registry::{Directive, Kind, Special, DIRECTIVES, HIDDEN, MULTI};
use std::collections::{BTreeMap, HashMap};

static DEFAULTS: &str = include_str!("redis-7.0-config-defaults.json");

/// The save points of a plain `redis-server`.
pub const DEFAULT_SAVE: &str = "3600 1 300 100 60 10000";
/// Where a daemonized server without `pidfile` writes its pid.
pub const DEFAULT_PIDFILE: &str = "/var/run/redis.pid";

/// Defaults of the primary directives, by name (`dir` is the start directory).
fn defaults() -> &'static HashMap<&'static str, String> {
    static D: std::sync::OnceLock<HashMap<&'static str, String>> = std::sync::OnceLock::new();
    D.get_or_init(|| {
        let doc: serde_json::Value = serde_json::from_str(DEFAULTS).unwrap_or(serde_json::Value::Null);
        let mut m = HashMap::new();
        for d in DIRECTIVES.iter().filter(|d| !d.is_alias()) {
            let v = if d.is(HIDDEN) {
                d.hidden_default.to_string()
            } else {
                doc["config"][d.name].as_str().unwrap_or_default().to_string()
            };
            m.insert(d.name, v);
        }
        // The reference was read from a server started with a few options; these
        // are the values a plain `redis-server` with no arguments has.
        for (k, v) in [("port", "6379"), ("daemonize", "no"), ("pidfile", ""), ("save", DEFAULT_SAVE), ("dir", "")] {
            m.insert(k, v.to_string());
        }
        m
    })
}

/// The default text of a directive (any name or alias).
pub fn default_of(name: &str) -> Option<&'static str> {
    let d = registry::lookup(name)?;
    defaults().get(d.canonical).map(String::as_str)
}

/// C's `strerror` text for an OS error code ("No such file or directory").
pub fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let s = std::io::Error::from_raw_os_error(code).to_string();
            match s.rfind(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
        None => e.to_string(),
    }
}

/// The configuration. `values` holds the canonical text of every primary
/// directive (what CONFIG GET shows); the public typed fields mirror the ones
/// read on hot paths and are refreshed after every change.
#[derive(Clone)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
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
    /// `unixsocketperm` (0 = leave the mode as created).
    pub unixsocketperm: u32,
    pub tcp_backlog: i32,
    /// `notify-keyspace-events` as class flags (`server::notify`).
    pub notify_keyspace_events: u32,
    /// `busy-reply-threshold` (ms).
    pub busy_reply_threshold: i64,
    /// The `pubsub` class of `client-output-buffer-limit`.
    pub pubsub_obuf: crate::server::pubsub::ObufLimit,
    /// The `normal` class of `client-output-buffer-limit`.
    pub normal_obuf: crate::server::pubsub::ObufLimit,
    pub maxmemory: u64,
    /// `appendfsync` (read on every batch that appended to the AOF).
    pub appendfsync: crate::persist::aof::Fsync,
    /// `aof-timestamp-enabled`: `#TS:` annotations in the AOF.
    pub aof_timestamp_enabled: bool,
    pub maxmemory_policy: crate::server::evict::Policy,
    pub maxmemory_samples: usize,
    /// `tracking-table-max-keys` (0: no limit).
    pub tracking_table_max_keys: usize,
    /// `hll-sparse-max-bytes` (read by every PFADD).
    pub hll_sparse_max_bytes: u64,
    /// `maxmemory-clients`: bytes, or minus a percentage of `maxmemory`.
    pub maxmemory_clients: i64,
    pub maxmemory_eviction_tenacity: u32,
    pub lfu_log_factor: u32,
    pub lfu_decay_time: u32,
    pub lazyfree_lazy_eviction: bool,
    pub lazyfree_lazy_expire: bool,
    pub activerehashing: bool,
    pub lazyfree_lazy_server_del: bool,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    pub list_max_listpack_size: i32,
    pub list_compress_depth: i32,
    pub stream_node_max_bytes: usize,
    pub stream_node_max_entries: i64,
    pub latency_monitor_threshold: i64,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    /// Per-command latency histograms (INFO latencystats).
    pub latency_tracking: bool,
    /// `enable-debug-command`: 0 no, 1 yes, 2 local.
    pub enable_debug_command: u32,
    /// `rename-command` lines read at startup (old, new; new empty = removed).
    pub renamed_commands: Vec<(String, String)>,
    /// `user` lines read at startup (not applied: ACL users are not implemented).
    pub user_lines: Vec<String>,
    /// `loadmodule` paths read at startup (not loaded: modules are not implemented).
    pub modules: Vec<String>,
    /// `module.name value` lines (Redis refuses them without a module to take them).
    pub module_configs: Vec<(String, String)>,
    /// Inside a config file load (`save` lines accumulate).
    reading_file: bool,
    save_loaded: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

impl Config {
    /// The defaults of a plain `redis-server`.
    pub fn new() -> Config {
        let mut values = BTreeMap::new();
        for (k, v) in defaults() {
            values.insert(*k, v.clone());
        }
        values.insert("dir", std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default());
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
            unixsocketperm: 0,
            tcp_backlog: 511,
            notify_keyspace_events: 0,
            pubsub_obuf: Default::default(),
            normal_obuf: Default::default(),
            busy_reply_threshold: 5000,
            maxmemory: 0,
            appendfsync: crate::persist::aof::Fsync::EverySec,
            aof_timestamp_enabled: false,
            maxmemory_policy: crate::server::evict::Policy::NoEviction,
            maxmemory_samples: 5,
            tracking_table_max_keys: 1_000_000,
            hll_sparse_max_bytes: 3000,
            maxmemory_clients: 0,
            maxmemory_eviction_tenacity: 10,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            lazyfree_lazy_eviction: false,
            lazyfree_lazy_expire: false,
            activerehashing: true,
            lazyfree_lazy_server_del: false,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            latency_monitor_threshold: 0,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            latency_tracking: true,
            enable_debug_command: 0,
            renamed_commands: Vec::new(),
            user_lines: Vec::new(),
            modules: Vec::new(),
            module_configs: Vec::new(),
            reading_file: false,
            save_loaded: false,
        };
        c.refresh();
        c
    }

    /// Current text of a directive (any case; aliases give their primary's value).
    pub fn get(&self, name: &str) -> Option<&str> {
        let d = registry::lookup(name)?;
        self.values.get(d.canonical).map(String::as_str)
    }

    /// Every directive `CONFIG GET *` lists (aliases included), in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        static ORDER: std::sync::OnceLock<Vec<&'static Directive>> = std::sync::OnceLock::new();
        let order = ORDER.get_or_init(|| {
            let mut v: Vec<&'static Directive> = DIRECTIVES.iter().filter(|d| !d.is(HIDDEN)).collect();
            v.sort_by_key(|d| d.name);
            v
        });
        order.iter().map(move |d| (d.name, self.values.get(d.canonical).map(String::as_str).unwrap_or("")))
    }

    /// Sets a directive from its text as CONFIG SET does (multi-argument values
    /// split at spaces), without CONFIG SET's immutable/protected checks. The
    /// error is Redis's reason text.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let Some(d) = registry::lookup(name) else {
            return Err(format!("Unknown option or number of arguments for CONFIG SET - '{name}'"));
        };
        self.set_value(d, value).map(|_| ())
    }

    /// CONFIG SET of one directive: splits a multi-argument value at single
    /// spaces as Redis does. Returns whether the value changed.
    pub fn set_value(&mut self, d: &'static Directive, value: &str) -> Result<bool, String> {
        let args: Vec<String> = if d.is(MULTI) {
            if value.is_empty() {
                Vec::new()
            } else {
                value.split(' ').map(str::to_string).collect()
            }
        } else {
            vec![value.to_string()]
        };
        let changed = self.set_args(d, &args)?;
        // What Redis's apply functions do when the value changed.
        if changed && d.canonical == "repl-backlog-size" && self.num("repl-backlog-size", 0u64) < 16384 {
            self.values.insert(d.canonical, "16384".into());
        }
        let tls_on = match d.canonical {
            "tls-port" => self.get("tls-port") != Some("0"),
            "tls-cluster" | "tls-replication" => self.get(d.canonical) == Some("yes"),
            _ => false,
        };
        if changed && tls_on {
            return Err("Unable to update TLS configuration. Check server logs.".into());
        }
        Ok(changed)
    }

    /// Sets a directive from its arguments; returns whether the value changed.
    pub fn set_args(&mut self, d: &'static Directive, args: &[String]) -> Result<bool, String> {
        let new = self.parse_value(d, args)?;
        let changed = self.values.get(d.canonical) != Some(&new);
        self.values.insert(d.canonical, new);
        self.refresh();
        if d.canonical == "notify-keyspace-events" {
            // From the value as given: its canonical text hides `n` behind `A`.
            self.notify_keyspace_events = args.first().and_then(|a| crate::server::notify::parse(a)).unwrap_or(0);
        }
        Ok(changed)
    }

    /// Sets a value without validation (startup facts such as the pidfile a
    /// daemonized server uses).
    pub fn set_internal(&mut self, name: &str, value: &str) {
        if let Some(d) = registry::lookup(name) {
            self.values.insert(d.canonical, value.to_string());
            self.refresh();
        }
    }

    pub(crate) fn begin_file(&mut self) {
        self.reading_file = true;
    }

    pub(crate) fn end_file(&mut self) {
        self.reading_file = false;
    }

    fn parse_value(&mut self, d: &'static Directive, args: &[String]) -> Result<String, String> {
        let first = args.first().map(String::as_str).unwrap_or("");
        match d.kind {
            Kind::Bool => match registry::yes_no(first) {
                Some(true) if d.canonical == "activedefrag" => Err("Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution".into()),
                Some(true) => Ok("yes".into()),
                Some(false) => Ok("no".into()),
                None => Err("argument must be 'yes' or 'no'".into()),
            },
            Kind::Str { check, .. } => {
                if let Some(f) = check {
                    f(first).map_err(str::to_string)?;
                }
                Ok(first.to_string())
            }
            Kind::Enum(values) => {
                let v = registry::parse_enum(values, d.is(MULTI), args)?;
                if d.is(MULTI) {
                    let bits = registry::enum_bits(values, &v);
                    if bits & 1 != 0 && bits & 2 != 0 {
                        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously".into());
                    }
                }
                Ok(v)
            }
            Kind::Num { .. } => {
                let mut n = registry::parse_num(&d.kind, first)?;
                if d.canonical == "hz" {
                    n = n.clamp(1, 500);
                }
                Ok(registry::fmt_num(&d.kind, n))
            }
            Kind::Special(s) => self.parse_special(s, args),
        }
    }

    fn parse_special(&mut self, s: Special, args: &[String]) -> Result<String, String> {
        const WRONG_ARGS: &str = "wrong number of arguments";
        match s {
            Special::Dir => {
                if args.len() != 1 {
                    return Err(WRONG_ARGS.into());
                }
                std::env::set_current_dir(&args[0]).map_err(|e| strerror(&e))?;
                Ok(std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default())
            }
            Special::Save => {
                let args: &[String] = if args.len() == 1 && args[0].is_empty() { &[] } else { args };
                if args.len() % 2 == 1 {
                    return Err("Invalid save parameters".into());
                }
                let mut pairs = Vec::new();
                for (j, a) in args.iter().enumerate() {
                    let (v, all, _) = registry::strtoll(a, 10);
                    if !all || (j % 2 == 0 && v < 1) || (j % 2 == 1 && v < 0) {
                        return Err("Invalid save parameters".into());
                    }
                    pairs.push(v);
                }
                let mut out: Vec<String> = Vec::new();
                if self.reading_file && self.save_loaded {
                    let cur = self.values.get("save").cloned().unwrap_or_default();
                    out.extend(cur.split(' ').filter(|w| !w.is_empty()).map(str::to_string));
                }
                if self.reading_file {
                    self.save_loaded = true;
                }
                for p in pairs.chunks(2) {
                    out.push(p[0].to_string());
                    out.push((p[1] as i32).to_string());
                }
                Ok(out.join(" "))
            }
            Special::ClientOutputBufferLimit => {
                if !args.len().is_multiple_of(4) {
                    return Err("Wrong number of arguments in buffer limit configuration.".into());
                }
                let cur = self.values.get("client-output-buffer-limit").cloned().unwrap_or_default();
                let words: Vec<&str> = cur.split(' ').collect();
                let mut classes: Vec<[String; 3]> = OBUF_DEFAULT_CLASSES
                    .iter()
                    .enumerate()
                    .map(|(i, dflt)| {
                        let w = |k: usize| {
                            words.get(i * 4 + k).map(|s| s.to_string()).unwrap_or_else(|| dflt[k - 1].into())
                        };
                        [w(1), w(2), w(3)]
                    })
                    .collect();
                let mut updates = Vec::new();
                for ch in args.chunks(4) {
                    let class = match ch[0].to_ascii_lowercase().as_str() {
                        "normal" => 0,
                        "slave" | "replica" => 1,
                        "pubsub" => 2,
                        _ => return Err("Invalid client class specified in buffer limit configuration.".into()),
                    };
                    let hard = registry::memtoull(&ch[1]);
                    let soft = registry::memtoull(&ch[2]);
                    let (secs, all, _) = registry::strtoll(&ch[3], 10);
                    let secs = secs as i32;
                    match (hard, soft) {
                        (Some(h), Some(s)) if secs >= 0 && all => updates.push((class, h, s, secs)),
                        _ => {
                            return Err(
                                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into()
                            )
                        }
                    }
                }
                for (class, h, s, secs) in updates {
                    classes[class] = [h.to_string(), s.to_string(), secs.to_string()];
                }
                Ok(classes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{} {} {} {}", registry::OBUF_CLASSES[i], c[0], c[1], c[2]))
                    .collect::<Vec<_>>()
                    .join(" "))
            }
            Special::OomScoreAdjValues => {
                if args.len() != 3 {
                    return Err(WRONG_ARGS.into());
                }
                let mut vals = Vec::new();
                for a in args {
                    let (v, all, _) = registry::strtoll(a, 10);
                    if !all || !(-2000..=2000).contains(&v) {
                        return Err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".into());
                    }
                    vals.push(v.to_string());
                }
                Ok(vals.join(" "))
            }
            Special::NotifyKeyspaceEvents => {
                if args.len() != 1 {
                    return Err(WRONG_ARGS.into());
                }
                match crate::server::notify::parse(&args[0]) {
                    Some(f) => Ok(crate::server::notify::format(f)),
                    None => Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
                }
            }
            Special::Bind => {
                if args.len() > 16 {
                    return Err("Too many bind addresses specified.".into());
                }
                if args.len() == 1 && args[0].is_empty() {
                    return Ok(String::new());
                }
                Ok(args.join(" "))
            }
            Special::ReplicaOf => {
                if args.len() != 2 {
                    return Err(WRONG_ARGS.into());
                }
                if args[0].eq_ignore_ascii_case("no") && args[1].eq_ignore_ascii_case("one") {
                    return Ok(String::new());
                }
                let (port, all, over) = registry::strtoll(&args[1], 10);
                if !all || over || !(0..=65535).contains(&port) {
                    return Err("Invalid master port".into());
                }
                Ok(format!("{} {}", args[0], port))
            }
            Special::LatencyPercentiles => {
                if args.len() == 1 && args[0].is_empty() {
                    return Ok(String::new());
                }
                let mut out = Vec::new();
                for a in args {
                    let Some(p) = registry::string2d(a) else {
                        return Err("Invalid latency-tracking-info-percentiles parameters".into());
                    };
                    if !(0.0..=100.0).contains(&p) {
                        return Err(
                            "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into()
                        );
                    }
                    out.push(registry::fmt_percentile(p));
                }
                Ok(out.join(" "))
            }
        }
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
        self.unixsocketperm = u32::from_str_radix(self.get("unixsocketperm").unwrap_or("0"), 8).unwrap_or(0);
        self.tcp_backlog = self.num("tcp-backlog", 511);
        self.busy_reply_threshold = self.num("busy-reply-threshold", 5000);
        let obuf = self.get("client-output-buffer-limit").unwrap_or("").to_string();
        self.pubsub_obuf = crate::server::pubsub::ObufLimit::class_from(&obuf, "pubsub");
        self.normal_obuf = crate::server::pubsub::ObufLimit::class_from(&obuf, "normal");
        self.maxmemory = self.num("maxmemory", 0);
        self.appendfsync = match self.get("appendfsync") {
            Some("always") => crate::persist::aof::Fsync::Always,
            Some("no") => crate::persist::aof::Fsync::No,
            _ => crate::persist::aof::Fsync::EverySec,
        };
        self.aof_timestamp_enabled = self.get("aof-timestamp-enabled") == Some("yes");
        self.maxmemory_policy = crate::server::evict::Policy::from_bits(registry::enum_bits(
            registry::MAXMEMORY_POLICY,
            self.get("maxmemory-policy").unwrap_or("noeviction"),
        ));
        self.maxmemory_samples = self.num("maxmemory-samples", 5);
        self.tracking_table_max_keys = self.num("tracking-table-max-keys", 1_000_000);
        self.hll_sparse_max_bytes = self.num("hll-sparse-max-bytes", 3000);
        self.maxmemory_clients = match self.get("maxmemory-clients") {
            Some(v) if v.ends_with('%') => -v.trim_end_matches('%').parse::<i64>().unwrap_or(0),
            Some(v) => crate::util::parse_memory(v).unwrap_or(0),
            None => 0,
        };
        self.maxmemory_eviction_tenacity = self.num("maxmemory-eviction-tenacity", 10);
        self.lfu_log_factor = self.num("lfu-log-factor", 10);
        self.lfu_decay_time = self.num("lfu-decay-time", 1);
        self.lazyfree_lazy_eviction = self.yes("lazyfree-lazy-eviction");
        self.lazyfree_lazy_expire = self.yes("lazyfree-lazy-expire");
        self.activerehashing = self.yes("activerehashing");
        self.lazyfree_lazy_server_del = self.yes("lazyfree-lazy-server-del");
        self.hash_max_listpack_entries = self.num("hash-max-listpack-entries", 512);
        self.hash_max_listpack_value = self.num("hash-max-listpack-value", 64);
        self.set_max_intset_entries = self.num("set-max-intset-entries", 512);
        self.zset_max_listpack_entries = self.num("zset-max-listpack-entries", 128);
        self.zset_max_listpack_value = self.num("zset-max-listpack-value", 64);
        self.list_max_listpack_size = self.num("list-max-listpack-size", -2);
        self.list_compress_depth = self.num("list-compress-depth", 0);
        self.stream_node_max_bytes = self.num("stream-node-max-bytes", 4096);
        self.stream_node_max_entries = self.num("stream-node-max-entries", 100);
        self.latency_monitor_threshold = self.num("latency-monitor-threshold", 0);
        self.lazyfree_lazy_user_del = self.yes("lazyfree-lazy-user-del");
        self.lazyfree_lazy_user_flush = self.yes("lazyfree-lazy-user-flush");
        self.latency_tracking = self.yes("latency-tracking");
        self.enable_debug_command =
            registry::enum_bits(registry::PROTECTED_ACTION, self.get("enable-debug-command").unwrap_or("no"));
    }

    /// Warnings logged at startup: directives accepted whose feature ferrokv
    /// does not implement yet, when they are not at their default.
    pub fn startup_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for d in DIRECTIVES.iter().filter(|d| !d.is_alias()) {
            let Some(feature) = d.feature else { continue };
            let cur = self.values.get(d.canonical).map(String::as_str).unwrap_or("");
            let dflt = defaults().get(d.canonical).map(String::as_str).unwrap_or("");
            if cur == dflt || (d.canonical == "save" && cur.is_empty()) {
                continue;
            }
            out.push(format!(
                "WARNING: '{}' is set to '{}', but {} is not implemented by ferrokv yet: the directive has no effect.",
                d.name, cur, feature
            ));
        }
        for (from, to) in &self.renamed_commands {
            out.push(format!(
                "WARNING: 'rename-command {from} {}' is accepted but not applied: command renaming is not implemented by ferrokv yet.",
                if to.is_empty() { "\"\"" } else { to }
            ));
        }
        if !self.user_lines.is_empty() {
            out.push("WARNING: 'user' directives are accepted but not applied: ACL users are not implemented by ferrokv yet.".into());
        }
        for m in &self.modules {
            out.push(format!(
                "WARNING: 'loadmodule {m}' is accepted but not loaded: modules are not implemented by ferrokv yet."
            ));
        }
        out
    }
}

/// `client-output-buffer-limit` defaults per class: hard, soft, seconds.
const OBUF_DEFAULT_CLASSES: [[&str; 3]; 3] =
    [["0", "0", "0"], ["268435456", "67108864", "60"], ["33554432", "8388608", "60"]];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_aliases() {
        let c = Config::new();
        assert_eq!(c.get("port"), Some("6379"));
        assert_eq!(c.get("SLAVE-READ-ONLY"), Some("yes"));
        assert_eq!(c.get("save"), Some(DEFAULT_SAVE));
        assert_eq!(c.iter().count(), 192);
        assert_eq!(c.get("use-exit-on-panic"), Some("no"));
    }

    #[test]
    fn set_normalises_values() {
        let mut c = Config::new();
        c.set("maxmemory", "1gb").expect("memory");
        assert_eq!(c.get("maxmemory"), Some("1073741824"));
        assert_eq!(c.maxmemory, 1 << 30);
        c.set("hz", "1000").expect("hz");
        assert_eq!(c.get("hz"), Some("500"));
        c.set("maxmemory-policy", "ALLKEYS-LRU").expect("enum");
        assert_eq!(c.get("maxmemory-policy"), Some("allkeys-lru"));
        c.set("shutdown-on-sigint", "now save").expect("flags");
        assert_eq!(c.get("shutdown-on-sigint"), Some("save now"));
        assert!(c.set("shutdown-on-sigint", "save nosave").is_err());
        c.set("client-output-buffer-limit", "replica 1mb 2k 1").expect("cobl");
        assert_eq!(
            c.get("client-output-buffer-limit"),
            Some("normal 0 0 0 slave 1048576 2000 1 pubsub 33554432 8388608 60")
        );
        assert_eq!(c.set("port", "70000"), Err("argument must be between 0 and 65535 inclusive".into()));
        assert_eq!(c.set("maxmemory-clients", "101%"), Err("percentage argument must be less or equal to 100".into()));
        c.set("slave-read-only", "NO").expect("alias");
        assert_eq!(c.get("replica-read-only"), Some("no"));
    }
}
