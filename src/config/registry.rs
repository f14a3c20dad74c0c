//! The directive registry: every directive Redis 7.0 knows (the 192 that
//! `CONFIG GET *` lists, plus the hidden debugging ones), each with its kind,
//! bounds, flags and the validation Redis applies, and the value parsers that
//! turn arguments into the canonical text CONFIG GET shows. Error texts are
//! Redis's own, word for word.

/// Flag bits of a directive.
pub const IMMUTABLE: u8 = 1;
/// Settable only when `enable-protected-configs` allows it.
pub const PROTECTED: u8 = 2;
/// Not listed by glob patterns; CONFIG GET by exact name still works.
pub const HIDDEN: u8 = 4;
/// Takes several arguments (`save 3600 1 300 100`).
pub const MULTI: u8 = 8;

/// How a numeric directive parses and prints.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum NumFmt {
    Plain,
    Memory,
    MemoryPercent,
    Octal,
}

/// Directives handled by their own code.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Special {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    LatencyPercentiles,
}

pub type StrCheck = fn(&str) -> Result<(), &'static str>;

#[derive(Clone, Copy)]
pub enum Kind {
    Bool,
    /// `empty_is_null`: an empty value means "unset" (left out by CONFIG REWRITE).
    Str {
        empty_is_null: bool,
        check: Option<StrCheck>,
    },
    /// Names and values; with MULTI the values are bit flags combined.
    Enum(&'static [(&'static str, u32)]),
    /// `unsigned` makes negative numbers wrap as the C unsigned types do.
    Num {
        unsigned: bool,
        lo: i64,
        hi: u64,
        fmt: NumFmt,
    },
    Special(Special),
}

/// What ferrokv does with a directive: implemented, or accepted only (the
/// feature named is logged at startup when the value is not the default).
pub type Feature = Option<&'static str>;

pub struct Directive {
    pub name: &'static str,
    /// The primary name (itself unless this is an old alias).
    pub canonical: &'static str,
    pub kind: Kind,
    pub flags: u8,
    /// The default of a hidden directive (the visible ones come from the JSON).
    pub hidden_default: &'static str,
    pub feature: Feature,
}

impl Directive {
    pub fn is(&self, f: u8) -> bool {
        self.flags & f != 0
    }
    pub fn is_alias(&self) -> bool {
        self.name != self.canonical
    }
}

const INT_MAX: u64 = i32::MAX as u64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: u64 = u32::MAX as u64;
const LONG_MAX: u64 = i64::MAX as u64;
const ULLONG_MAX: u64 = u64::MAX;

const fn d(name: &'static str, kind: Kind, flags: u8, feature: Feature) -> Directive {
    Directive { name, canonical: name, kind, flags, hidden_default: "", feature }
}
const fn alias(name: &'static str, canonical: &'static str, kind: Kind, flags: u8, feature: Feature) -> Directive {
    Directive { name, canonical, kind, flags, hidden_default: "", feature }
}
const fn hidden(name: &'static str, kind: Kind, dflt: &'static str) -> Directive {
    Directive { name, canonical: name, kind, flags: HIDDEN, hidden_default: dflt, feature: Some("debugging") }
}
const B: Kind = Kind::Bool;
const fn int(lo: i64, hi: u64) -> Kind {
    Kind::Num { unsigned: false, lo, hi, fmt: NumFmt::Plain }
}
const fn uint(lo: i64, hi: u64) -> Kind {
    Kind::Num { unsigned: true, lo, hi, fmt: NumFmt::Plain }
}
const fn mem(lo: i64, hi: u64) -> Kind {
    Kind::Num { unsigned: false, lo, hi, fmt: NumFmt::Memory }
}
const fn umem(lo: i64, hi: u64) -> Kind {
    Kind::Num { unsigned: true, lo, hi, fmt: NumFmt::Memory }
}
const STR: Kind = Kind::Str { empty_is_null: false, check: None };
const NULLSTR: Kind = Kind::Str { empty_is_null: true, check: None };
const fn sp(s: Special) -> Kind {
    Kind::Special(s)
}

pub const LOGLEVELS: &[(&str, u32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
const SUPERVISED: &[(&str, u32)] = &[("upstart", 1), ("systemd", 2), ("auto", 3), ("no", 0)];
const SYSLOG_FACILITY: &[(&str, u32)] = &[
    ("user", 0),
    ("local0", 1),
    ("local1", 2),
    ("local2", 3),
    ("local3", 4),
    ("local4", 5),
    ("local5", 6),
    ("local6", 7),
    ("local7", 8),
];
const DISKLESS_LOAD: &[(&str, u32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
pub const MAXMEMORY_POLICY: &[(&str, u32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
const APPENDFSYNC: &[(&str, u32)] = &[("everysec", 0), ("always", 1), ("no", 2)];
const OOM_SCORE_ADJ: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("relative", 2), ("absolute", 3)];
const ACL_PUBSUB: &[(&str, u32)] = &[("allchannels", 1), ("resetchannels", 0)];
const SANITIZE: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
pub const PROTECTED_ACTION: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("local", 2)];
const ENDPOINT_TYPE: &[(&str, u32)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
const PROPAGATION_ERR: &[(&str, u32)] = &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];
const SHUTDOWN_ON_SIG: &[(&str, u32)] = &[("default", 0), ("save", 1), ("nosave", 2), ("now", 4), ("force", 8)];
const TLS_AUTH: &[(&str, u32)] = &[("no", 0), ("yes", 1), ("optional", 2)];

const PERSIST: Feature = Some("persistence");
const REPL: Feature = Some("replication");
const CLUSTER: Feature = Some("cluster mode");
const TLS: Feature = Some("TLS");
const ACL: Feature = Some("ACL");
const DEFRAG: Feature = Some("active defragmentation");
const OS: Feature = Some("process management");
const OBUF: Feature = Some("client output buffer limits");
const MODULES: Feature = Some("modules");
const NONE: Feature = None;

/// Every directive, primary names and aliases.
pub static DIRECTIVES: &[Directive] = &[
    // Booleans.
    d("rdbchecksum", B, IMMUTABLE, NONE),
    d("daemonize", B, IMMUTABLE, NONE),
    d("io-threads-do-reads", B, IMMUTABLE, NONE),
    d("always-show-logo", B, IMMUTABLE, NONE),
    d("protected-mode", B, 0, NONE),
    d("rdbcompression", B, 0, NONE),
    d("rdb-del-sync-files", B, 0, PERSIST),
    d("activerehashing", B, 0, NONE),
    d("stop-writes-on-bgsave-error", B, 0, NONE),
    d("set-proc-title", B, IMMUTABLE, NONE),
    d("dynamic-hz", B, 0, NONE),
    d("lazyfree-lazy-eviction", B, 0, NONE),
    d("lazyfree-lazy-expire", B, 0, NONE),
    d("lazyfree-lazy-server-del", B, 0, NONE),
    d("lazyfree-lazy-user-del", B, 0, NONE),
    d("lazyfree-lazy-user-flush", B, 0, NONE),
    d("repl-disable-tcp-nodelay", B, 0, REPL),
    d("repl-diskless-sync", B, 0, REPL),
    d("aof-rewrite-incremental-fsync", B, 0, PERSIST),
    d("no-appendfsync-on-rewrite", B, 0, PERSIST),
    d("cluster-require-full-coverage", B, 0, CLUSTER),
    d("rdb-save-incremental-fsync", B, 0, PERSIST),
    d("aof-load-truncated", B, 0, NONE),
    d("aof-use-rdb-preamble", B, 0, NONE),
    d("aof-timestamp-enabled", B, 0, NONE),
    d("cluster-replica-no-failover", B, 0, CLUSTER),
    alias("cluster-slave-no-failover", "cluster-replica-no-failover", B, 0, CLUSTER),
    d("replica-lazy-flush", B, 0, REPL),
    alias("slave-lazy-flush", "replica-lazy-flush", B, 0, REPL),
    d("replica-serve-stale-data", B, 0, REPL),
    alias("slave-serve-stale-data", "replica-serve-stale-data", B, 0, REPL),
    d("replica-read-only", B, 0, REPL),
    alias("slave-read-only", "replica-read-only", B, 0, REPL),
    d("replica-ignore-maxmemory", B, 0, REPL),
    alias("slave-ignore-maxmemory", "replica-ignore-maxmemory", B, 0, REPL),
    d("jemalloc-bg-thread", B, 0, NONE),
    d("activedefrag", Kind::Bool, 0, DEFRAG),
    d("syslog-enabled", B, IMMUTABLE, Some("syslog logging")),
    d("cluster-enabled", B, IMMUTABLE, CLUSTER),
    d("appendonly", B, 0, NONE),
    d("cluster-allow-reads-when-down", B, 0, CLUSTER),
    d("cluster-allow-pubsubshard-when-down", B, 0, CLUSTER),
    d("crash-log-enabled", B, 0, NONE),
    d("crash-memcheck-enabled", B, 0, NONE),
    hidden("use-exit-on-panic", B, "no"),
    d("disable-thp", B, IMMUTABLE, NONE),
    d("cluster-allow-replica-migration", B, 0, CLUSTER),
    d("replica-announced", B, 0, REPL),
    d("latency-tracking", B, 0, NONE),
    d("aof-disable-auto-gc", B, 0, PERSIST),
    d("replica-ignore-disk-write-errors", B, 0, REPL),
    d("tls-cluster", B, 0, TLS),
    d("tls-replication", B, 0, TLS),
    d("tls-prefer-server-ciphers", B, 0, TLS),
    d("tls-session-caching", B, 0, TLS),
    // Strings.
    d("aclfile", STR, IMMUTABLE, ACL),
    d("unixsocket", NULLSTR, IMMUTABLE, NONE),
    d("pidfile", NULLSTR, IMMUTABLE, NONE),
    d("replica-announce-ip", NULLSTR, 0, REPL),
    alias("slave-announce-ip", "replica-announce-ip", NULLSTR, 0, REPL),
    d("masteruser", NULLSTR, 0, REPL),
    d("cluster-announce-ip", NULLSTR, 0, CLUSTER),
    d("cluster-config-file", STR, IMMUTABLE, CLUSTER),
    d("cluster-announce-hostname", Kind::Str { empty_is_null: true, check: Some(check_hostname) }, 0, CLUSTER),
    d("syslog-ident", STR, IMMUTABLE, Some("syslog logging")),
    d("dbfilename", Kind::Str { empty_is_null: false, check: Some(check_dbfilename) }, PROTECTED, NONE),
    d("appendfilename", Kind::Str { empty_is_null: false, check: Some(check_aof_filename) }, IMMUTABLE, NONE),
    d("appenddirname", Kind::Str { empty_is_null: false, check: Some(check_aof_dirname) }, IMMUTABLE, NONE),
    d("server_cpulist", NULLSTR, IMMUTABLE, OS),
    d("bio_cpulist", NULLSTR, IMMUTABLE, OS),
    d("aof_rewrite_cpulist", NULLSTR, IMMUTABLE, OS),
    d("bgsave_cpulist", NULLSTR, IMMUTABLE, OS),
    d("ignore-warnings", STR, 0, NONE),
    d("proc-title-template", Kind::Str { empty_is_null: false, check: Some(check_proc_title) }, 0, NONE),
    d("bind-source-addr", NULLSTR, 0, REPL),
    d("logfile", STR, IMMUTABLE, NONE),
    d("masterauth", NULLSTR, 0, REPL),
    d("requirepass", NULLSTR, 0, NONE),
    d("tls-cert-file", NULLSTR, 0, TLS),
    d("tls-key-file", NULLSTR, 0, TLS),
    d("tls-key-file-pass", NULLSTR, 0, TLS),
    d("tls-client-cert-file", NULLSTR, 0, TLS),
    d("tls-client-key-file", NULLSTR, 0, TLS),
    d("tls-client-key-file-pass", NULLSTR, 0, TLS),
    d("tls-dh-params-file", NULLSTR, 0, TLS),
    d("tls-ca-cert-file", NULLSTR, 0, TLS),
    d("tls-ca-cert-dir", NULLSTR, 0, TLS),
    d("tls-protocols", NULLSTR, 0, TLS),
    d("tls-ciphers", NULLSTR, 0, TLS),
    d("tls-ciphersuites", NULLSTR, 0, TLS),
    // Enums.
    d("supervised", Kind::Enum(SUPERVISED), IMMUTABLE, OS),
    d("syslog-facility", Kind::Enum(SYSLOG_FACILITY), IMMUTABLE, Some("syslog logging")),
    d("repl-diskless-load", Kind::Enum(DISKLESS_LOAD), 0, REPL),
    d("loglevel", Kind::Enum(LOGLEVELS), 0, NONE),
    d("maxmemory-policy", Kind::Enum(MAXMEMORY_POLICY), 0, NONE),
    d("appendfsync", Kind::Enum(APPENDFSYNC), 0, NONE),
    d("oom-score-adj", Kind::Enum(OOM_SCORE_ADJ), 0, OS),
    d("acl-pubsub-default", Kind::Enum(ACL_PUBSUB), 0, ACL),
    d("sanitize-dump-payload", Kind::Enum(SANITIZE), 0, NONE),
    d("enable-protected-configs", Kind::Enum(PROTECTED_ACTION), IMMUTABLE, NONE),
    d("enable-debug-command", Kind::Enum(PROTECTED_ACTION), IMMUTABLE, NONE),
    d("enable-module-command", Kind::Enum(PROTECTED_ACTION), IMMUTABLE, MODULES),
    d("cluster-preferred-endpoint-type", Kind::Enum(ENDPOINT_TYPE), 0, CLUSTER),
    d("propagation-error-behavior", Kind::Enum(PROPAGATION_ERR), 0, REPL),
    d("shutdown-on-sigint", Kind::Enum(SHUTDOWN_ON_SIG), MULTI, NONE),
    d("shutdown-on-sigterm", Kind::Enum(SHUTDOWN_ON_SIG), MULTI, NONE),
    d("tls-auth-clients", Kind::Enum(TLS_AUTH), 0, TLS),
    // Integers.
    d("databases", int(1, INT_MAX), IMMUTABLE, NONE),
    d("port", int(0, 65535), 0, NONE),
    d("io-threads", int(1, 128), IMMUTABLE, NONE),
    d("auto-aof-rewrite-percentage", int(0, INT_MAX), 0, NONE),
    d("cluster-replica-validity-factor", int(0, INT_MAX), 0, CLUSTER),
    alias("cluster-slave-validity-factor", "cluster-replica-validity-factor", int(0, INT_MAX), 0, CLUSTER),
    d("list-max-listpack-size", int(INT_MIN, INT_MAX), 0, NONE),
    alias("list-max-ziplist-size", "list-max-listpack-size", int(INT_MIN, INT_MAX), 0, NONE),
    d("tcp-keepalive", int(0, INT_MAX), 0, NONE),
    d("cluster-migration-barrier", int(0, INT_MAX), 0, CLUSTER),
    d("active-defrag-cycle-min", int(1, 99), 0, DEFRAG),
    d("active-defrag-cycle-max", int(1, 99), 0, DEFRAG),
    d("active-defrag-threshold-lower", int(0, 1000), 0, DEFRAG),
    d("active-defrag-threshold-upper", int(0, 1000), 0, DEFRAG),
    d("lfu-log-factor", int(0, INT_MAX), 0, NONE),
    d("lfu-decay-time", int(0, INT_MAX), 0, NONE),
    d("replica-priority", int(0, INT_MAX), 0, REPL),
    alias("slave-priority", "replica-priority", int(0, INT_MAX), 0, REPL),
    d("repl-diskless-sync-delay", int(0, INT_MAX), 0, REPL),
    d("maxmemory-samples", int(1, INT_MAX), 0, NONE),
    d("maxmemory-eviction-tenacity", int(0, 100), 0, NONE),
    d("timeout", int(0, INT_MAX), 0, NONE),
    d("replica-announce-port", int(0, 65535), 0, REPL),
    alias("slave-announce-port", "replica-announce-port", int(0, 65535), 0, REPL),
    d("tcp-backlog", int(0, INT_MAX), IMMUTABLE, NONE),
    d("cluster-port", int(0, 65535), IMMUTABLE, CLUSTER),
    d("cluster-announce-bus-port", int(0, 65535), 0, CLUSTER),
    d("cluster-announce-port", int(0, 65535), 0, CLUSTER),
    d("cluster-announce-tls-port", int(0, 65535), 0, CLUSTER),
    d("repl-timeout", int(1, INT_MAX), 0, REPL),
    d("repl-ping-replica-period", int(1, INT_MAX), 0, REPL),
    alias("repl-ping-slave-period", "repl-ping-replica-period", int(1, INT_MAX), 0, REPL),
    d("list-compress-depth", int(0, INT_MAX), 0, NONE),
    hidden("rdb-key-save-delay", int(INT_MIN, INT_MAX), "0"),
    hidden("key-load-delay", int(INT_MIN, INT_MAX), "0"),
    d("active-expire-effort", int(1, 10), 0, NONE),
    d("hz", int(0, INT_MAX), 0, NONE),
    d("min-replicas-to-write", int(0, INT_MAX), 0, REPL),
    alias("min-slaves-to-write", "min-replicas-to-write", int(0, INT_MAX), 0, REPL),
    d("min-replicas-max-lag", int(0, INT_MAX), 0, REPL),
    alias("min-slaves-max-lag", "min-replicas-max-lag", int(0, INT_MAX), 0, REPL),
    hidden("watchdog-period", int(0, INT_MAX), "0"),
    d("shutdown-timeout", int(0, INT_MAX), 0, PERSIST),
    d("repl-diskless-sync-max-replicas", int(0, INT_MAX), 0, REPL),
    d("maxclients", uint(1, UINT_MAX), 0, NONE),
    d("unixsocketperm", Kind::Num { unsigned: true, lo: 0, hi: 0o777, fmt: NumFmt::Octal }, IMMUTABLE, NONE),
    d("socket-mark-id", uint(0, UINT_MAX), IMMUTABLE, OS),
    d("active-defrag-max-scan-fields", uint(1, LONG_MAX), 0, DEFRAG),
    d("slowlog-max-len", uint(0, LONG_MAX), 0, NONE),
    d("acllog-max-len", uint(0, LONG_MAX), 0, ACL),
    d("busy-reply-threshold", int(0, LONG_MAX), 0, NONE),
    alias("lua-time-limit", "busy-reply-threshold", int(0, LONG_MAX), 0, NONE),
    d("cluster-node-timeout", int(0, LONG_MAX), 0, CLUSTER),
    d("slowlog-log-slower-than", int(-1, LONG_MAX), 0, NONE),
    d("latency-monitor-threshold", int(0, LONG_MAX), 0, NONE),
    d("proto-max-bulk-len", mem(1024 * 1024, LONG_MAX), 0, NONE),
    d("stream-node-max-entries", int(0, LONG_MAX), 0, NONE),
    d("repl-backlog-size", mem(1, LONG_MAX), 0, REPL),
    d("maxmemory", umem(0, ULLONG_MAX), 0, NONE),
    d("cluster-link-sendbuf-limit", umem(0, ULLONG_MAX), 0, CLUSTER),
    d("hash-max-listpack-entries", uint(0, LONG_MAX), 0, NONE),
    alias("hash-max-ziplist-entries", "hash-max-listpack-entries", uint(0, LONG_MAX), 0, NONE),
    d("set-max-intset-entries", uint(0, LONG_MAX), 0, NONE),
    d("zset-max-listpack-entries", uint(0, LONG_MAX), 0, NONE),
    alias("zset-max-ziplist-entries", "zset-max-listpack-entries", uint(0, LONG_MAX), 0, NONE),
    d("active-defrag-ignore-bytes", umem(1, LONG_MAX), 0, DEFRAG),
    d("hash-max-listpack-value", umem(0, LONG_MAX), 0, NONE),
    alias("hash-max-ziplist-value", "hash-max-listpack-value", umem(0, LONG_MAX), 0, NONE),
    d("stream-node-max-bytes", umem(0, LONG_MAX), 0, NONE),
    d("zset-max-listpack-value", umem(0, LONG_MAX), 0, NONE),
    alias("zset-max-ziplist-value", "zset-max-listpack-value", umem(0, LONG_MAX), 0, NONE),
    d("hll-sparse-max-bytes", umem(0, LONG_MAX), 0, NONE),
    d("tracking-table-max-keys", uint(0, LONG_MAX), 0, NONE),
    d("client-query-buffer-limit", umem(1024 * 1024, LONG_MAX), 0, NONE),
    d("maxmemory-clients", Kind::Num { unsigned: false, lo: -100, hi: LONG_MAX, fmt: NumFmt::MemoryPercent }, 0, NONE),
    d("repl-backlog-ttl", int(0, LONG_MAX), 0, REPL),
    d("auto-aof-rewrite-min-size", mem(0, LONG_MAX), 0, NONE),
    hidden("loading-process-events-interval-bytes", int(1024, INT_MAX), "2097152"),
    d("tls-port", int(0, 65535), 0, TLS),
    d("tls-session-cache-size", int(0, INT_MAX), 0, TLS),
    d("tls-session-cache-timeout", int(0, INT_MAX), 0, TLS),
    // Special.
    d("dir", sp(Special::Dir), PROTECTED, NONE),
    d("save", sp(Special::Save), MULTI, NONE),
    d("client-output-buffer-limit", sp(Special::ClientOutputBufferLimit), MULTI, OBUF),
    d("oom-score-adj-values", sp(Special::OomScoreAdjValues), MULTI, OS),
    d("notify-keyspace-events", sp(Special::NotifyKeyspaceEvents), 0, NONE),
    d("bind", sp(Special::Bind), MULTI, NONE),
    d("replicaof", sp(Special::ReplicaOf), IMMUTABLE | MULTI, REPL),
    alias("slaveof", "replicaof", sp(Special::ReplicaOf), IMMUTABLE | MULTI, REPL),
    d("latency-tracking-info-percentiles", sp(Special::LatencyPercentiles), MULTI, NONE),
];

/// Directives Redis 7.0 still accepts in a config file and ignores.
pub const DEPRECATED: &[&str] = &["list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands"];

/// Finds a directive by any-case name.
pub fn lookup(name: &str) -> Option<&'static Directive> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static INDEX: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
    let index = INDEX.get_or_init(|| DIRECTIVES.iter().enumerate().map(|(i, d)| (d.name, i)).collect());
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        index.get(name.to_ascii_lowercase().as_str()).map(|&i| &DIRECTIVES[i])
    } else {
        index.get(name).map(|&i| &DIRECTIVES[i])
    }
}

// ---- value parsing helpers (the C library functions Redis relies on) ----

/// Redis's `string2ll`: optional `-`, no leading zeros, no spaces or `+`.
pub fn string2ll(s: &str) -> Option<i64> {
    crate::util::parse_i64(s.as_bytes())
}

/// C `strtoll`: returns the value, whether the whole string was consumed, and
/// whether it overflowed (the value is then clamped, as C does).
pub fn strtoll(s: &str, base: u32) -> (i64, bool, bool) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut v: u128 = 0;
    let mut over = false;
    while i < b.len() {
        let Some(dg) = (b[i] as char).to_digit(base) else { break };
        v = v * base as u128 + dg as u128;
        if v > i64::MAX as u128 + 1 {
            over = true;
            v = i64::MAX as u128 + 1;
        }
        i += 1;
    }
    if i == start {
        // No digits: nothing consumed, the end pointer is the string start.
        return (0, b.is_empty(), false);
    }
    let val = if neg {
        if v > i64::MAX as u128 + 1 {
            over = true;
            i64::MIN
        } else {
            (v as i128).wrapping_neg() as i64
        }
    } else if v > i64::MAX as u128 {
        over = true;
        i64::MAX
    } else {
        v as i64
    };
    (val, i == b.len(), over)
}

/// Redis's `memtoull`: digits with an optional unit (b, k, kb, m, mb, g, gb).
pub fn memtoull(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.first() == Some(&b'-') {
        return None;
    }
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let unit = s[n..].to_ascii_lowercase();
    let mul: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if n >= 128 {
        return None;
    }
    // strtoull saturates on overflow and Redis does not check it; the unit
    // multiplication wraps as C's does.
    let v: u64 = if n == 0 { 0 } else { s[..n].parse().unwrap_or(u64::MAX) };
    Some(v.wrapping_mul(mul))
}

/// C `strtod` over the whole string, as Redis's `string2d` (no spaces, no nan).
pub fn string2d(s: &str) -> Option<f64> {
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    Some(v)
}

/// `%f` then trailing zeros (and a trailing dot) removed.
pub fn fmt_percentile(v: f64) -> String {
    let s = format!("{v:.6}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Formats bytes as CONFIG REWRITE does (`3mb`, `1gb`, `512`).
pub fn fmt_memory(bytes: i64) -> String {
    const GB: i64 = 1024 * 1024 * 1024;
    const MB: i64 = 1024 * 1024;
    const KB: i64 = 1024;
    if bytes != 0 && bytes % GB == 0 {
        format!("{}gb", bytes / GB)
    } else if bytes != 0 && bytes % MB == 0 {
        format!("{}mb", bytes / MB)
    } else if bytes != 0 && bytes % KB == 0 {
        format!("{}kb", bytes / KB)
    } else {
        bytes.to_string()
    }
}

/// Parses a numeric directive into the C `long long` Redis works with.
pub fn parse_num(kind: &Kind, v: &str) -> Result<i64, String> {
    let Kind::Num { unsigned, lo, hi, fmt } = *kind else {
        return Err("argument couldn't be parsed into an integer".into());
    };
    let parsed: Option<i64> = (|| {
        if matches!(fmt, NumFmt::Memory | NumFmt::MemoryPercent) {
            if let Some(m) = memtoull(v) {
                return Some(m as i64);
            }
        }
        if fmt == NumFmt::MemoryPercent && v.len() > 1 && v.ends_with('%') {
            if let Some(p) = string2ll(&v[..v.len() - 1]) {
                if p >= 0 {
                    return Some(-p);
                }
            }
        }
        if fmt == NumFmt::Octal {
            let (n, all, over) = strtoll(v, 8);
            if all && !over {
                return Some(n);
            }
        }
        if fmt == NumFmt::Plain {
            return string2ll(v);
        }
        None
    })();
    let Some(ll) = parsed else {
        return Err(match fmt {
            NumFmt::MemoryPercent => "argument must be a memory or percent value",
            NumFmt::Memory => "argument must be a memory value",
            NumFmt::Octal => "argument couldn't be parsed as an octal number",
            NumFmt::Plain => "argument couldn't be parsed into an integer",
        }
        .into());
    };
    if unsigned {
        let u = ll as u64;
        if u > hi || u < lo as u64 {
            return Err(if fmt == NumFmt::Octal {
                format!("argument must be between {:o} and {:o} inclusive", lo as u64, hi)
            } else {
                format!("argument must be between {} and {} inclusive", lo as u64, hi)
            });
        }
    } else if fmt == NumFmt::MemoryPercent && ll < 0 {
        if ll < lo {
            return Err(format!("percentage argument must be less or equal to {}", -lo));
        }
    } else if ll > hi as i64 || ll < lo {
        return Err(format!("argument must be between {lo} and {hi} inclusive"));
    }
    Ok(ll)
}

/// The CONFIG GET text of a parsed number.
pub fn fmt_num(kind: &Kind, ll: i64) -> String {
    match kind {
        Kind::Num { fmt: NumFmt::MemoryPercent, .. } if ll < 0 => format!("{}%", -(ll as i128)),
        Kind::Num { fmt: NumFmt::Memory | NumFmt::MemoryPercent, .. } => (ll as u64).to_string(),
        Kind::Num { fmt: NumFmt::Octal, .. } => format!("{:o}", ll),
        _ => ll.to_string(),
    }
}

/// Redis's `yesnotoi`.
pub fn yes_no(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("yes") {
        Some(true)
    } else if v.eq_ignore_ascii_case("no") {
        Some(false)
    } else {
        None
    }
}

/// Parses enum arguments into the canonical name(s) CONFIG GET shows.
pub fn parse_enum(values: &[(&str, u32)], multi: bool, args: &[String]) -> Result<String, String> {
    let fail = || {
        let names: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
        format!("argument(s) must be one of the following: {}", names.join(", "))
    };
    if args.is_empty() || (!multi && args.len() != 1) {
        return Err(fail());
    }
    let mut bits = 0u32;
    for a in args {
        let mut matched = false;
        for (n, v) in values {
            if n.eq_ignore_ascii_case(a) {
                bits |= v;
                matched = true;
            }
        }
        if !matched {
            return Err(fail());
        }
    }
    Ok(enum_name(values, bits, multi))
}

/// Redis's `configEnumGetName`.
pub fn enum_name(values: &[(&str, u32)], bits: u32, multi: bool) -> String {
    let mut names: Vec<&str> = Vec::new();
    let mut unmatched = bits;
    for (n, v) in values {
        if bits == *v {
            return n.to_string();
        }
        if multi && *v != 0 && *v == (unmatched & v) {
            names.push(n);
            unmatched &= !v;
        }
    }
    if names.is_empty() || unmatched != 0 {
        "unknown".into()
    } else {
        names.join(" ")
    }
}

/// The bit value of an enum's canonical text (for typed readers).
pub fn enum_bits(values: &[(&str, u32)], text: &str) -> u32 {
    text.split(' ').filter_map(|w| values.iter().find(|(n, _)| *n == w)).fold(0, |acc, (_, v)| acc | v)
}

fn path_is_base_name(p: &str) -> bool {
    !p.contains('/')
}

fn check_dbfilename(v: &str) -> Result<(), &'static str> {
    if !path_is_base_name(v) {
        return Err("dbfilename can't be a path, just a filename");
    }
    Ok(())
}

fn check_aof_filename(v: &str) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("appendfilename can't be empty");
    }
    if !path_is_base_name(v) {
        return Err("appendfilename can't be a path, just a filename");
    }
    Ok(())
}

fn check_aof_dirname(v: &str) -> Result<(), &'static str> {
    if v.is_empty() {
        return Err("appenddirname can't be empty");
    }
    if !path_is_base_name(v) {
        return Err("appenddirname can't be a path, just a dirname");
    }
    Ok(())
}

fn check_hostname(v: &str) -> Result<(), &'static str> {
    if v.len() >= 256 {
        return Err("Hostnames must be less than 256 characters");
    }
    if !v.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.') {
        return Err("Hostnames may only contain alphanumeric characters, hyphens or dots");
    }
    Ok(())
}

/// Expands a `proc-title-template` (`{title} {listen-addr} ...`); None when it
/// is malformed or names an unknown variable.
pub fn expand_proc_title(t: &str, vars: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let b = t.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' if b.get(i + 1) == Some(&b'{') => {
                out.push('{');
                i += 2;
            }
            b'}' if b.get(i + 1) == Some(&b'}') => {
                out.push('}');
                i += 2;
            }
            b'}' => return None,
            b'{' => {
                let end = t[i + 1..].find('}')? + i + 1;
                let name = &t[i + 1..end];
                if name.contains('{') {
                    return None;
                }
                out.push_str(&vars(name)?);
                i = end + 1;
            }
            _ => {
                let next = t[i..].find(['{', '}']).map(|n| n + i).unwrap_or(b.len());
                out.push_str(&t[i..next]);
                i = next;
            }
        }
    }
    Some(out.trim().to_string())
}

fn check_proc_title(v: &str) -> Result<(), &'static str> {
    let vars = |name: &str| match name {
        "title" => Some(String::new()),
        "listen-addr" => Some("*:6379".to_string()),
        "server-mode" | "port" | "tls-port" | "unixsocket" | "config-file" => Some(String::new()),
        _ => None,
    };
    match expand_proc_title(v, &vars) {
        Some(s) if !s.is_empty() => Ok(()),
        _ => Err("template format is invalid or contains unknown variables"),
    }
}

/// Client classes of `client-output-buffer-limit` (index = position in the value).
pub const OBUF_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

/// Quotes a value as Redis's `sdscatrepr` does.
pub fn repr(s: &[u8]) -> String {
    let mut out = String::new();
    crate::util::push_repr(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_has_a_directive_and_back() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("redis-7.0-config-defaults.json")).expect("json");
        let m = doc["config"].as_object().expect("config map");
        for k in m.keys() {
            let d = lookup(k).unwrap_or_else(|| panic!("{k} missing from the registry"));
            assert!(!d.is(HIDDEN), "{k} is listed by CONFIG GET *");
        }
        for d in DIRECTIVES {
            assert!(d.is(HIDDEN) || m.contains_key(d.name), "{} not in the defaults", d.name);
            assert!(lookup(d.canonical).is_some());
        }
        assert_eq!(DIRECTIVES.iter().filter(|d| !d.is(HIDDEN)).count(), 192);
    }

    #[test]
    fn numbers_parse_like_redis() {
        assert_eq!(string2ll("-0"), None);
        assert_eq!(string2ll("007"), None);
        assert_eq!(string2ll("-12"), Some(-12));
        assert_eq!(memtoull("1gb"), Some(1 << 30));
        assert_eq!(memtoull("5K"), Some(5000));
        assert_eq!(memtoull(""), Some(0));
        assert_eq!(memtoull("1.5gb"), None);
        assert_eq!(strtoll("", 8), (0, true, false));
        assert_eq!(strtoll("0755", 8), (0o755, true, false));
        assert_eq!(fmt_memory(3 * 1024 * 1024), "3mb");
        assert_eq!(fmt_percentile(99.9), "99.9");
        assert_eq!(fmt_percentile(0.0), "0");
    }
}
