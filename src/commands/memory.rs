//! MEMORY: USAGE (what a key costs in ferrokv's own layout: keyspace node,
//! key, value and expires entry, sampling big collections as Redis does), STATS
//! (Redis 7.0's overhead breakdown, from the same figures as INFO memory),
//! DOCTOR (Redis's report texts and thresholds applied to those figures),
//! MALLOC-STATS and PURGE (mimalloc's statistics and collection), HELP.

use super::{reply_help, Ctx, Handler};
use crate::server::client::Client;
use crate::server::{stats, Server};
use crate::storage::dict::Dict;
use crate::storage::{Db, Entry, Value};
use bytes::Bytes;
use std::ffi::{c_char, c_void, CStr};

// mimalloc's entry points work whether or not it is the global allocator
// (they then report or collect mimalloc's own heaps).
use libmimalloc_sys::{mi_collect, mi_stats_print_out};

pub const COMMANDS: &[(&str, Handler)] = &[
    ("memory|doctor", doctor),
    ("memory|help", help),
    ("memory|malloc-stats", malloc_stats),
    ("memory|purge", purge),
    ("memory|stats", stats_cmd),
    ("memory|usage", usage),
];

/// Redis's default number of elements sampled by MEMORY USAGE.
const DEFAULT_SAMPLES: usize = 5;

/// The name of the allocator, as INFO's `mem_allocator` shows it.
const ALLOCATOR: &str = "mimalloc";

/// The size mimalloc really hands out for a request of `n` bytes (its size
/// class, as `crate::alloc` asks for it).
pub fn alloc_size(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    // SAFETY: mi_good_size is a pure computation on its argument.
    unsafe { libmimalloc_sys::mi_good_size(n) }
}

/// Extrapolates the cost of a collection's elements from the first `samples`
/// of them, as Redis's `objectComputeSize` does.
fn sampled(len: usize, samples: usize, costs: impl Iterator<Item = usize>) -> usize {
    let (mut n, mut sum) = (0usize, 0usize);
    for c in costs.take(samples) {
        n += 1;
        sum += c;
    }
    if n == 0 {
        return 0;
    }
    (sum as f64 / n as f64 * len as f64) as usize
}

/// Bytes a value owns beyond its place in the keyspace entry. The types know
/// their structure's size; where that figure leaves out the bytes of long
/// members (hashtable sets, skiplist sorted sets), those are sampled.
pub fn value_size(v: &Value, samples: usize) -> usize {
    let heap = v.heap_size();
    match v {
        Value::Int(_) => 0,
        Value::Set(s) if s.encoding() == "hashtable" => {
            let extra = sampled(
                s.len(),
                samples,
                s.iter().map(|m| {
                    let len = m.with_bytes(|b| b.len());
                    alloc_size(Dict::<()>::entry_bytes(len)) - Dict::<()>::entry_bytes(0)
                }),
            );
            heap + extra
        }
        Value::ZSet(z) if z.encoding() == "skiplist" => {
            // Each member sits in the table's entry and in a tree leaf (its
            // bytes and score), beyond the short member the type's figure
            // assumes.
            let mut lens = Vec::with_capacity(samples.min(z.len()));
            z.walk(0, false, |m, _| {
                lens.push(m.len());
                lens.len() < samples
            });
            heap + sampled(
                z.len(),
                samples,
                lens.into_iter().map(|l| l.saturating_sub(8) + (l + 10).saturating_sub(24)),
            )
        }
        // One allocation: what the allocator really gives for it.
        _ if matches!(v.encoding(), "embstr" | "raw" | "listpack" | "intset") => alloc_size(heap),
        Value::List(l) if l.node_count() == 1 => {
            alloc_size(std::mem::size_of::<crate::storage::list::List>()) + alloc_size(l.heap_size())
        }
        _ => heap,
    }
}

/// A keyspace entry (link, entry, key) as allocated.
fn main_node(klen: usize) -> usize {
    alloc_size(Dict::<Entry>::entry_bytes(klen))
}

/// An expires-table entry (link, time, key copy) as allocated.
fn expires_node(klen: usize) -> usize {
    alloc_size(Dict::<i64>::entry_bytes(klen))
}

/// What a key costs: its keyspace node, the key's bytes, the value, and the
/// expires entry when it has a TTL.
fn key_usage(db: &Db, key: &[u8], samples: usize) -> Option<usize> {
    let (k, e) = db.main().get_key_value(key)?;
    let mut n = main_node(k.len()) + value_size(&e.value, samples);
    if e.has_expire {
        n += expires_node(k.len());
    }
    Some(n)
}

/// MEMORY USAGE key [SAMPLES count]. Like Redis, it finds the key without
/// expiring it and without counting a keyspace hit or miss.
fn usage(ctx: &mut Ctx, args: &[Bytes]) {
    let mut samples = DEFAULT_SAMPLES;
    let mut j = 3;
    while j < args.len() {
        if args[j].eq_ignore_ascii_case(b"samples") && j + 1 < args.len() {
            let Some(n) = ctx.int_arg(&args[j + 1]) else { return };
            if n < 0 {
                ctx.syntax();
                return;
            }
            samples = if n == 0 { usize::MAX } else { n as usize };
            j += 2;
        } else {
            ctx.syntax();
            return;
        }
    }
    let db = ctx.client.db;
    match key_usage(&ctx.srv.dbs[db], &args[2], samples) {
        Some(n) => ctx.out.int(n as i64),
        None => ctx.out.null(),
    }
}

/// One database's table overheads (Redis's `overhead.hashtable.*`): the nodes
/// and bucket arrays of the keyspace and expires tables.
struct DbOverhead {
    id: usize,
    main: usize,
    expires: usize,
}

/// The memory figures behind INFO memory and MEMORY STATS/DOCTOR (Redis's
/// `getMemoryOverheadData`), computed once so that both report the same.
pub struct Figures {
    pub used: usize,
    pub rss: usize,
    pub peak: usize,
    pub startup: usize,
    pub clients_normal: usize,
    pub lua_caches: usize,
    pub functions_caches: usize,
    dbs: Vec<DbOverhead>,
    pub keys: usize,
    pub overhead: usize,
    pub dataset: usize,
    pub clients: usize,
    pub scripts: usize,
}

/// Functions' bookkeeping with no library loaded (Redis 7.0.15's figure).
const FUNCTIONS_CACHES: usize = 200;

/// Gathers the figures; `me` is the calling client (not in `srv.clients`
/// while it runs). Updates the peak, as INFO does.
pub fn figures(srv: &mut Server, me: &Client) -> Figures {
    let used = stats::used_memory();
    let rss = stats::rss_bytes();
    srv.stats.peak_memory = srv.stats.peak_memory.max(used);
    let peak = srv.stats.peak_memory;
    let startup = super::server::startup_memory(used).min(used);
    let clients_normal = srv.clients.values().map(|c| c.memory()).sum::<usize>() + me.memory();
    // The EVAL cache: per script its entry and sha (a short body included),
    // plus the table's buckets.
    let scripts = srv.lua.as_ref().map_or(0, |e| e.cached_scripts());
    let lua_caches = if scripts == 0 { 0 } else { scripts * 104 + scripts.next_power_of_two().max(4) * 8 };
    let functions_caches = FUNCTIONS_CACHES;
    let ptr = std::mem::size_of::<usize>();
    let mut dbs = Vec::new();
    let mut keys = 0;
    for (id, db) in srv.dbs.iter().enumerate() {
        if db.main().is_empty() {
            continue;
        }
        keys += db.main().len();
        let main = db.main().len() * main_node(0) + db.main().buckets() * ptr;
        let expires = db.expires().len() * expires_node(0) + db.expires().buckets() * ptr;
        dbs.push(DbOverhead { id, main, expires });
    }
    let overhead = startup
        + clients_normal
        + lua_caches
        + functions_caches
        + dbs.iter().map(|d| d.main + d.expires).sum::<usize>();
    Figures {
        used,
        rss,
        peak,
        startup,
        clients_normal,
        lua_caches,
        functions_caches,
        dbs,
        keys,
        overhead,
        dataset: used.saturating_sub(overhead),
        clients: srv.clients.len() + 1,
        scripts,
    }
}

/// `a / b` in single precision, as Redis computes its ratios (0 when b is 0).
fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        (a as f32 / b as f32) as f64
    }
}

fn stats_cmd(ctx: &mut Ctx, _args: &[Bytes]) {
    let f = figures(ctx.srv, ctx.client);
    let net = if f.used > f.startup { f.used - f.startup } else { 1 };
    // As INFO memory: the allocator's figures are ours, and what it holds
    // resident is the process's RSS.
    let (alloc, active, resident) = (f.used, f.used, f.rss);
    let out = &mut *ctx.out;
    out.map_len(27 + f.dbs.len());
    let int = |out: &mut crate::resp::Reply, name: &str, v: i64| {
        out.bulk(name.as_bytes());
        out.int(v);
    };
    int(out, "peak.allocated", f.peak as i64);
    int(out, "total.allocated", f.used as i64);
    int(out, "startup.allocated", f.startup as i64);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", f.clients_normal as i64);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", f.lua_caches as i64);
    int(out, "functions.caches", f.functions_caches as i64);
    for d in &f.dbs {
        out.bulk(format!("db.{}", d.id).as_bytes());
        out.map_len(3);
        int(out, "overhead.hashtable.main", d.main as i64);
        int(out, "overhead.hashtable.expires", d.expires as i64);
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    int(out, "overhead.total", f.overhead as i64);
    int(out, "keys.count", f.keys as i64);
    int(out, "keys.bytes-per-key", net.checked_div(f.keys).unwrap_or(0) as i64);
    int(out, "dataset.bytes", f.dataset as i64);
    let dbl = |out: &mut crate::resp::Reply, name: &str, v: f64| {
        out.bulk(name.as_bytes());
        out.double(v);
    };
    dbl(out, "dataset.percentage", ratio(f.dataset as f64 * 100.0, net as f64));
    dbl(out, "peak.percentage", ratio(f.used as f64 * 100.0, f.peak as f64));
    int(out, "allocator.allocated", alloc as i64);
    int(out, "allocator.active", active as i64);
    int(out, "allocator.resident", resident as i64);
    dbl(out, "allocator-fragmentation.ratio", ratio(active as f64, alloc as f64));
    int(out, "allocator-fragmentation.bytes", active as i64 - alloc as i64);
    dbl(out, "allocator-rss.ratio", ratio(resident as f64, active as f64));
    int(out, "allocator-rss.bytes", resident as i64 - active as i64);
    dbl(out, "rss-overhead.ratio", ratio(f.rss as f64, resident as f64));
    int(out, "rss-overhead.bytes", f.rss as i64 - resident as i64);
    dbl(out, "fragmentation", ratio(f.rss as f64, f.used as f64));
    int(out, "fragmentation.bytes", f.rss as i64 - f.used as i64);
}

const DOCTOR_FINE: &str =
    "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";
const DOCTOR_EMPTY: &str = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";
const DOCTOR_HEAD: &str = "Sam, I detected a few issues in this Redis instance memory implants:\n\n";
const DOCTOR_PEAK: &str = " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n";
const DOCTOR_FRAG_1: &str = " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"";
const DOCTOR_FRAG_2: &str = "\".\n\n";
const DOCTOR_ALLOC_FRAG: &str = " * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n";
const DOCTOR_ALLOC_RSS: &str = " * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n";
const DOCTOR_PROC_RSS: &str = " * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n";
const DOCTOR_CLIENT_BUF: &str = " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n";
const DOCTOR_SCRIPTS: &str = " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n";
const DOCTOR_TAIL: &str = "I'm here to keep you safe, Sam. I want to help you.\n";

/// Redis's `getMemoryDoctorReport` on our figures (the allocator's active and
/// resident bytes being, as in INFO, the allocated bytes and the RSS).
pub fn doctor_report(f: &Figures) -> String {
    const MB10: i64 = 10 << 20;
    if f.used < 5 * 1024 * 1024 {
        return DOCTOR_EMPTY.to_string();
    }
    let (alloc, active, resident) = (f.used as f64, f.used as f64, f.rss as f64);
    let total_frag = ratio(f.rss as f64, f.used as f64);
    let total_frag_bytes = f.rss as i64 - f.used as i64;
    let alloc_frag = ratio(active, alloc);
    let alloc_frag_bytes = (active - alloc) as i64;
    let alloc_rss = ratio(resident, active);
    let alloc_rss_bytes = (resident - active) as i64;
    let rss_extra = ratio(f.rss as f64, resident);
    let rss_extra_bytes = (f.rss as f64 - resident) as i64;
    let big_peak = ratio(f.peak as f64, f.used as f64) > 1.5;
    let high_frag = total_frag > 1.4 && total_frag_bytes > MB10;
    let high_alloc_frag = alloc_frag > 1.1 && alloc_frag_bytes > MB10;
    let high_alloc_rss = alloc_rss > 1.1 && alloc_rss_bytes > MB10;
    let high_proc_rss = rss_extra > 1.1 && rss_extra_bytes > MB10;
    let big_client_buf = f.clients_normal / f.clients.max(1) > 200 * 1024;
    let many_scripts = f.scripts > 1000;
    let issues = [big_peak, high_frag, high_alloc_frag, high_alloc_rss, high_proc_rss, big_client_buf, many_scripts];
    if !issues.contains(&true) {
        return DOCTOR_FINE.to_string();
    }
    let mut s = String::from(DOCTOR_HEAD);
    if big_peak {
        s.push_str(DOCTOR_PEAK);
    }
    if high_frag {
        s.push_str(DOCTOR_FRAG_1);
        s.push_str(ALLOCATOR);
        s.push_str(DOCTOR_FRAG_2);
    }
    if high_alloc_frag {
        s.push_str(DOCTOR_ALLOC_FRAG);
    }
    if high_alloc_rss {
        s.push_str(DOCTOR_ALLOC_RSS);
    }
    if high_proc_rss {
        s.push_str(DOCTOR_PROC_RSS);
    }
    // (Redis's check of replica output buffers waits for replication.)
    if big_client_buf {
        s.push_str(DOCTOR_CLIENT_BUF);
    }
    if many_scripts {
        s.push_str(DOCTOR_SCRIPTS);
    }
    s.push_str(DOCTOR_TAIL);
    s
}

fn doctor(ctx: &mut Ctx, _args: &[Bytes]) {
    let f = figures(ctx.srv, ctx.client);
    let report = doctor_report(&f);
    ctx.out.verbatim(report.as_bytes());
}

/// Collects the chunks mimalloc's statistics printer writes.
unsafe extern "C" fn collect_text(msg: *const c_char, arg: *mut c_void) {
    if msg.is_null() || arg.is_null() {
        return;
    }
    // SAFETY: `arg` is the `String` passed by `allocator_stats` for the
    // duration of the call, and mimalloc passes a NUL-terminated message.
    let (out, text) = unsafe { (&mut *(arg as *mut String), CStr::from_ptr(msg)) };
    out.push_str(&text.to_string_lossy());
}

/// mimalloc's statistics report (`mi_stats_print_out`).
pub fn allocator_stats() -> String {
    let mut text = String::new();
    // SAFETY: the callback only appends to `text`, which outlives the call;
    // mimalloc calls it synchronously.
    unsafe { mi_stats_print_out(Some(collect_text), &mut text as *mut String as *mut c_void) };
    text
}

fn malloc_stats(ctx: &mut Ctx, _args: &[Bytes]) {
    let text = allocator_stats();
    ctx.out.verbatim(text.as_bytes());
}

fn purge(ctx: &mut Ctx, _args: &[Bytes]) {
    // SAFETY: mi_collect only frees mimalloc's unused pages.
    unsafe { mi_collect(true) };
    ctx.out.ok();
}

fn help(ctx: &mut Ctx, _args: &[Bytes]) {
    reply_help(
        ctx,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mimalloc_size_classes() {
        let got: Vec<usize> = [1, 8, 9, 24, 40, 64, 65, 80, 81, 100, 128, 129, 160, 161, 200, 256, 257, 1000]
            .iter()
            .map(|&n| alloc_size(n))
            .collect();
        // Steps of 8 up to 64 bytes with mimalloc built as .cargo/config.toml asks.
        let fine = option_env!("CFLAGS").is_some_and(|f| f.contains("-DMI_MAX_ALIGN_SIZE=8"));
        let (c24, c40) = if fine { (24, 40) } else { (32, 48) };
        assert_eq!(got, [8, 8, 16, c24, c40, 64, 80, 80, 96, 112, 128, 160, 160, 192, 224, 256, 320, 1024]);
        assert_eq!(alloc_size(0), 0);
        assert_eq!(alloc_size(200_000), 229_376);
    }

    fn fig(used: usize, rss: usize, peak: usize) -> Figures {
        Figures {
            used,
            rss,
            peak,
            startup: 1 << 20,
            clients_normal: 2000,
            lua_caches: 0,
            functions_caches: FUNCTIONS_CACHES,
            dbs: Vec::new(),
            keys: 0,
            overhead: 0,
            dataset: 0,
            clients: 1,
            scripts: 0,
        }
    }

    #[test]
    fn doctor_reports_with_redis_thresholds() {
        const MB: usize = 1 << 20;
        assert_eq!(doctor_report(&fig(4 * MB, 100 * MB, 100 * MB)), DOCTOR_EMPTY);
        assert_eq!(doctor_report(&fig(20 * MB, 25 * MB, 25 * MB)), DOCTOR_FINE);
        // Peak above 150% of the usage.
        let r = doctor_report(&fig(20 * MB, 25 * MB, 31 * MB));
        assert_eq!(r, format!("{DOCTOR_HEAD}{DOCTOR_PEAK}{DOCTOR_TAIL}"));
        // RSS over 1.4 times and 10MB above the usage (also the allocator's RSS, as it is the RSS).
        let r = doctor_report(&fig(20 * MB, 31 * MB, 20 * MB));
        let frag = format!("{DOCTOR_FRAG_1}mimalloc{DOCTOR_FRAG_2}");
        assert_eq!(r, format!("{DOCTOR_HEAD}{frag}{DOCTOR_ALLOC_RSS}{DOCTOR_TAIL}"));
        // Ratio above 1.4 but less than 10MB: fine.
        assert_eq!(doctor_report(&fig(6 * MB, 15 * MB, 6 * MB)), DOCTOR_FINE);
        // Big clients and many scripts.
        let mut f = fig(20 * MB, 20 * MB, 20 * MB);
        f.clients = 2;
        f.clients_normal = 2 * 200 * 1024 + 2;
        f.scripts = 1001;
        assert_eq!(doctor_report(&f), format!("{DOCTOR_HEAD}{DOCTOR_CLIENT_BUF}{DOCTOR_SCRIPTS}{DOCTOR_TAIL}"));
        f.scripts = 1000;
        f.clients_normal = 2 * 200 * 1024 + 1;
        assert_eq!(doctor_report(&f), DOCTOR_FINE);
    }

    #[test]
    fn stats_text_and_purge() {
        let s = allocator_stats();
        assert!(!s.is_empty());
        // SAFETY: see `purge`.
        unsafe { mi_collect(true) };
    }
}
