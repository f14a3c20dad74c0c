//! Server commands: INFO, COMMAND (COUNT, INFO, DOCS, LIST, GETKEYS,
//! GETKEYSANDFLAGS, HELP), TIME, SLOWLOG, LATENCY, MONITOR, SHUTDOWN
//! and DEBUG, with Redis 7.0's reply shapes in RESP2 and RESP3. Command
//! introspection is generated from the command table and its reference entries.

use super::connection::subcommand_syntax_error;
use super::reply_help;
use super::table::{flag, Command};
use super::{err, Ctx, Handler};
use crate::resp::Reply;
use crate::server::client::Client;
use crate::server::stats::{self, Hdr};
use crate::server::{Server, Shared};
use bytes::Bytes;
use serde_json::Value as Json;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("info", info),
    ("command", command_all),
    ("command|count", command_count),
    ("command|info", command_info),
    ("command|docs", command_docs),
    ("command|list", command_list),
    ("command|getkeys", command_getkeys),
    ("command|getkeysandflags", command_getkeysandflags),
    ("command|help", command_help),
    ("time", time),
    ("slowlog|get", slowlog_get),
    ("slowlog|len", slowlog_len),
    ("slowlog|reset", slowlog_reset),
    ("slowlog|help", slowlog_help),
    ("latency|latest", latency_latest),
    ("latency|history", latency_history),
    ("latency|reset", latency_reset),
    ("latency|doctor", latency_doctor),
    ("latency|histogram", latency_histogram),
    ("latency|help", latency_help),
    ("monitor", monitor),
    ("shutdown", shutdown),
    ("debug", debug),
];

// ---------------------------------------------------------------------------
// TIME, MONITOR, SHUTDOWN

fn time(ctx: &mut Ctx, _args: &[Bytes]) {
    let us = crate::util::now_us();
    ctx.out.array_len(2);
    ctx.out.bulk_int(us / 1_000_000);
    ctx.out.bulk_int(us % 1_000_000);
}

fn monitor(ctx: &mut Ctx, _args: &[Bytes]) {
    // A client already monitoring gets no reply, as in Redis.
    if ctx.client.monitor {
        return;
    }
    ctx.client.monitor = true;
    ctx.out.ok();
}

fn shutdown(ctx: &mut Ctx, args: &[Bytes]) {
    let (mut nosave, mut save, mut abort, mut other, mut force) = (false, false, false, false, false);
    for a in &args[1..] {
        if a.eq_ignore_ascii_case(b"NOSAVE") {
            nosave = true;
        } else if a.eq_ignore_ascii_case(b"SAVE") {
            save = true;
        } else if a.eq_ignore_ascii_case(b"NOW") {
            other = true;
        } else if a.eq_ignore_ascii_case(b"FORCE") {
            other = true;
            force = true;
        } else if a.eq_ignore_ascii_case(b"ABORT") {
            abort = true;
        } else {
            ctx.syntax();
            return;
        }
    }
    if (abort && (nosave || save || other)) || (nosave && save) {
        ctx.syntax();
        return;
    }
    if abort {
        // Shutting down is immediate here, so there is never one to abort.
        ctx.err("ERR No shutdown in progress.");
        return;
    }
    crate::log::warning("User requested shutdown...");
    if crate::persist::prepare_shutdown(ctx.srv, save, nosave, force).is_err() {
        ctx.err("ERR Errors trying to SHUTDOWN. Check logs.");
        return;
    }
    ctx.srv.shutdown_requested = true;
    ctx.client.close_after_reply = true;
    ctx.sh.request_shutdown();
}

// ---------------------------------------------------------------------------
// INFO

/// Which INFO sections a request asked for.
struct Sections {
    all: bool,
    names: Vec<String>,
}

impl Sections {
    const DEFAULT: [&'static str; 11] = [
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "cpu",
        "module_list",
        "errorstats",
        "cluster",
        "keyspace",
    ];

    fn parse(args: &[Bytes]) -> Sections {
        let mut s = Sections { all: false, names: Vec::new() };
        if args.is_empty() {
            s.names.extend(Self::DEFAULT.iter().map(|x| x.to_string()));
        }
        for a in args {
            let n = String::from_utf8_lossy(a).to_ascii_lowercase();
            match n.as_str() {
                "default" => s.names.extend(Self::DEFAULT.iter().map(|x| x.to_string())),
                "all" | "everything" => s.all = true,
                _ => s.names.push(n),
            }
        }
        s
    }

    fn has(&self, name: &str) -> bool {
        self.all || self.names.iter().any(|n| n == name)
    }
}

fn info(ctx: &mut Ctx, args: &[Bytes]) {
    let sections = Sections::parse(&args[1..]);
    let text = info_string(ctx.sh, ctx.srv, ctx.client, &sections);
    ctx.out.verbatim(text.as_bytes());
}

/// `%.2f` of a ratio, 0 when the divisor is 0.
fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// Memory right after startup (approximated by the first INFO memory).
/// `used_memory_startup`: the first call (made at startup) fixes the value.
pub fn startup_memory(used: usize) -> usize {
    static STARTUP: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *STARTUP.get_or_init(|| used)
}

fn uname() -> (String, String, String) {
    // SAFETY: utsname is plain old data; uname fills it with NUL-terminated strings.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a valid, writable utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return ("Linux".into(), String::new(), String::new());
    }
    let field = |f: &[libc::c_char]| -> String {
        let bytes: Vec<u8> = f.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (field(&u.sysname), field(&u.release), field(&u.machine))
}

fn rusage(who: libc::c_int) -> (String, String) {
    // SAFETY: rusage is plain old data and getrusage only writes into it.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `r` is a valid, writable rusage.
    if unsafe { libc::getrusage(who, &mut r) } != 0 {
        return ("0.000000".into(), "0.000000".into());
    }
    (
        format!("{}.{:06}", r.ru_stime.tv_sec, r.ru_stime.tv_usec),
        format!("{}.{:06}", r.ru_utime.tv_sec, r.ru_utime.tv_usec),
    )
}

/// Formats a percentile the way Redis names it (`50`, `99`, `99.9`).
fn percentile_name(p: f64) -> String {
    let s = format!("{p:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The percentiles INFO latencystats reports (`latency-tracking-info-percentiles`).
fn info_percentiles(srv: &Server) -> Vec<f64> {
    srv.config
        .get("latency-tracking-info-percentiles")
        .unwrap_or("50 99 99.9")
        .split_whitespace()
        .filter_map(|p| p.parse::<f64>().ok())
        .collect()
}

/// The text of INFO for the given sections (Redis's order, `\r\n` lines, a
/// blank line between sections).
fn info_string(sh: &Shared, srv: &mut Server, me: &Client, sec: &Sections) -> String {
    let mut out = String::new();
    let mut n = 0;
    let mut header = |out: &mut String, title: &str| {
        if n > 0 {
            out.push_str("\r\n");
        }
        n += 1;
        out.push_str("# ");
        out.push_str(title);
        out.push_str("\r\n");
    };
    macro_rules! line {
        ($out:expr, $($arg:tt)*) => {{
            let _ = write!($out, $($arg)*);
            $out.push_str("\r\n");
        }};
    }
    let now_ms = crate::util::now_ms();
    if sec.has("server") {
        header(&mut out, "Server");
        let (sys, rel, mach) = uname();
        let uptime = (now_ms - sh.start_ms).max(0) / 1000;
        line!(out, "redis_version:{}", crate::startup::VERSION);
        line!(out, "redis_git_sha1:00000000");
        line!(out, "redis_git_dirty:0");
        line!(out, "redis_build_id:{}", "f3a2e1c0b9d8e7f6");
        line!(out, "redis_mode:standalone");
        line!(out, "os:{sys} {rel} {mach}");
        line!(out, "arch_bits:{}", usize::BITS);
        line!(out, "monotonic_clock:POSIX clock_gettime");
        line!(out, "multiplexing_api:epoll");
        line!(out, "atomicvar_api:c11-builtin");
        line!(out, "gcc_version:0.0.0");
        line!(out, "process_id:{}", std::process::id());
        line!(out, "process_supervised:no");
        line!(out, "run_id:{}", sh.run_id);
        line!(out, "tcp_port:{}", sh.tcp_port.load(Ordering::Relaxed));
        line!(out, "server_time_usec:{}", crate::util::now_us());
        line!(out, "uptime_in_seconds:{uptime}");
        line!(out, "uptime_in_days:{}", uptime / 86400);
        line!(out, "hz:{}", srv.config.hz);
        line!(out, "configured_hz:{}", srv.config.hz);
        line!(out, "lru_clock:{}", crate::storage::db::lru_clock(now_ms));
        line!(out, "executable:{}", sh.executable);
        line!(out, "config_file:{}", sh.config_file.as_deref().unwrap_or(""));
        line!(out, "io_threads_active:0");
    }
    if sec.has("clients") {
        header(&mut out, "Clients");
        let others = srv.clients.values();
        let blocked = others.clone().filter(|c| c.blocked.is_some()).count() + me.blocked.is_some() as usize;
        let max_in = others.map(|c| c.qbuf).max().unwrap_or(0).max(me.qbuf);
        line!(out, "connected_clients:{}", srv.clients.len() + 1);
        line!(out, "cluster_connections:0");
        line!(out, "maxclients:{}", srv.config.maxclients);
        line!(out, "client_recent_max_input_buffer:{max_in}");
        line!(out, "client_recent_max_output_buffer:0");
        line!(out, "blocked_clients:{blocked}");
        line!(out, "tracking_clients:{}", srv.tracking.clients);
        line!(out, "clients_in_timeout_table:0");
    }
    if sec.has("memory") {
        header(&mut out, "Memory");
        // The same figures as MEMORY STATS (Redis's getMemoryOverheadData).
        let fig = super::memory::figures(srv, me);
        let (used, rss, peak, startup) = (fig.used, fig.rss, fig.peak, fig.startup);
        let (overhead, dataset) = (fig.overhead, fig.dataset);
        let total_sys = stats::total_system_memory();
        let maxmemory = srv.config.maxmemory;
        let policy = srv.config.get("maxmemory-policy").unwrap_or("noeviction").to_string();
        let h = |v: u64| stats::bytes_to_human(v);
        line!(out, "used_memory:{used}");
        line!(out, "used_memory_human:{}", h(used as u64));
        line!(out, "used_memory_rss:{rss}");
        line!(out, "used_memory_rss_human:{}", h(rss as u64));
        line!(out, "used_memory_peak:{peak}");
        line!(out, "used_memory_peak_human:{}", h(peak as u64));
        line!(out, "used_memory_peak_perc:{:.2}%", ratio(used as f64 * 100.0, peak as f64));
        line!(out, "used_memory_overhead:{overhead}");
        line!(out, "used_memory_startup:{startup}");
        line!(out, "used_memory_dataset:{dataset}");
        line!(out, "used_memory_dataset_perc:{:.2}%", ratio(dataset as f64 * 100.0, (used - startup).max(1) as f64));
        line!(out, "allocator_allocated:{used}");
        line!(out, "allocator_active:{used}");
        line!(out, "allocator_resident:{rss}");
        line!(out, "total_system_memory:{total_sys}");
        line!(out, "total_system_memory_human:{}", h(total_sys));
        // The interpreter's own figures once it exists (Redis's idle Lua state before).
        let (lua_mem, scripts, (libs, funcs)) =
            srv.lua.as_ref().map_or((31744, 0, (0, 0)), |e| (e.memory(), e.cached_scripts(), e.libs.counts()));
        line!(out, "used_memory_lua:{lua_mem}");
        line!(out, "used_memory_vm_eval:{lua_mem}");
        line!(out, "used_memory_lua_human:{}", h(lua_mem as u64));
        line!(out, "used_memory_scripts_eval:{}", fig.lua_caches);
        line!(out, "number_of_cached_scripts:{scripts}");
        line!(out, "number_of_functions:{funcs}");
        line!(out, "number_of_libraries:{libs}");
        line!(out, "used_memory_vm_functions:32768");
        line!(out, "used_memory_vm_total:64512");
        line!(out, "used_memory_vm_total_human:63.00K");
        line!(out, "used_memory_functions:{}", fig.functions_caches);
        let scripts_mem = (fig.lua_caches + fig.functions_caches) as u64;
        line!(out, "used_memory_scripts:{scripts_mem}");
        line!(out, "used_memory_scripts_human:{}", h(scripts_mem));
        line!(out, "maxmemory:{maxmemory}");
        line!(out, "maxmemory_human:{}", h(maxmemory));
        line!(out, "maxmemory_policy:{policy}");
        line!(out, "allocator_frag_ratio:1.00");
        line!(out, "allocator_frag_bytes:0");
        line!(out, "allocator_rss_ratio:{:.2}", ratio(rss as f64, used as f64));
        line!(out, "allocator_rss_bytes:{}", rss as i64 - used as i64);
        line!(out, "rss_overhead_ratio:1.00");
        line!(out, "rss_overhead_bytes:0");
        line!(out, "mem_fragmentation_ratio:{:.2}", ratio(rss as f64, used as f64));
        line!(out, "mem_fragmentation_bytes:{}", rss as i64 - used as i64);
        line!(out, "mem_not_counted_for_evict:0");
        line!(out, "mem_replication_backlog:0");
        line!(out, "mem_total_replication_buffers:0");
        line!(out, "mem_clients_slaves:0");
        line!(out, "mem_clients_normal:{}", srv.client_memory);
        line!(out, "mem_cluster_links:0");
        line!(out, "mem_aof_buffer:{}", srv.aof.buffered());
        line!(out, "mem_allocator:mimalloc");
        line!(out, "active_defrag_running:0");
        line!(out, "lazyfree_pending_objects:{}", crate::storage::lazyfree::pending());
        line!(out, "lazyfreed_objects:{}", crate::storage::lazyfree::freed());
    }
    if sec.has("persistence") {
        header(&mut out, "Persistence");
        line!(out, "loading:{}", srv.persist.loading.is_some() as u8);
        line!(out, "async_loading:0");
        line!(out, "current_cow_peak:0");
        line!(out, "current_cow_size:0");
        line!(out, "current_cow_size_age:0");
        line!(out, "current_fork_perc:0.00");
        let ps = &srv.persist;
        let (processed, total) = ps.save_keys();
        line!(out, "current_save_keys_processed:{}", processed);
        line!(out, "current_save_keys_total:{}", total);
        line!(out, "rdb_changes_since_last_save:{}", srv.dirty);
        line!(out, "rdb_bgsave_in_progress:{}", ps.bgsave_in_progress() as u8);
        line!(out, "rdb_last_save_time:{}", srv.lastsave);
        line!(out, "rdb_last_bgsave_status:{}", if ps.last_bgsave_ok { "ok" } else { "err" });
        line!(out, "rdb_last_bgsave_time_sec:{}", ps.last_bgsave_secs);
        line!(out, "rdb_current_bgsave_time_sec:{}", ps.current_secs(crate::persist::ChildKind::Rdb));
        line!(out, "rdb_saves:{}", ps.saves);
        line!(out, "rdb_last_cow_size:0");
        line!(out, "rdb_last_load_keys_expired:{}", ps.last_load_keys_expired);
        line!(out, "rdb_last_load_keys_loaded:{}", ps.last_load_keys_loaded);
        let aof = &srv.aof;
        line!(out, "aof_enabled:{}", aof.on as u8);
        line!(out, "aof_rewrite_in_progress:{}", ps.child_is(crate::persist::ChildKind::Aof) as u8);
        line!(out, "aof_rewrite_scheduled:{}", aof.rewrite_scheduled as u8);
        line!(out, "aof_last_rewrite_time_sec:{}", aof.last_rewrite_secs);
        line!(out, "aof_current_rewrite_time_sec:{}", ps.current_secs(crate::persist::ChildKind::Aof));
        line!(out, "aof_last_bgrewrite_status:{}", if aof.last_rewrite_ok { "ok" } else { "err" });
        line!(out, "aof_rewrites:{}", aof.rewrites);
        line!(out, "aof_rewrites_consecutive_failures:{}", (!aof.last_rewrite_ok) as u8);
        line!(out, "aof_last_write_status:{}", if aof.last_write_ok { "ok" } else { "err" });
        line!(out, "aof_last_cow_size:0");
        line!(out, "module_fork_in_progress:0");
        line!(out, "module_fork_last_cow_size:0");
        if aof.on {
            line!(out, "aof_current_size:{}", aof.current_size);
            line!(out, "aof_base_size:{}", aof.base_size);
            line!(out, "aof_pending_rewrite:0");
            line!(out, "aof_buffer_length:{}", aof.buffered());
            line!(out, "aof_pending_bio_fsync:0");
            line!(out, "aof_delayed_fsync:0");
        }
        if let Some(l) = &srv.persist.loading {
            let loaded = l.loaded_bytes.load(std::sync::atomic::Ordering::Relaxed);
            let elapsed = crate::util::now_ms() / 1000 - l.start_s;
            let remaining = l.total_bytes.saturating_sub(loaded);
            let eta = if elapsed == 0 { 1 } else { elapsed * remaining as i64 / (loaded as i64 + 1) };
            line!(out, "loading_start_time:{}", l.start_s);
            line!(out, "loading_total_bytes:{}", l.total_bytes);
            line!(out, "loading_rdb_used_mem:{}", l.rdb_used_mem.load(std::sync::atomic::Ordering::Relaxed));
            line!(out, "loading_loaded_bytes:{}", loaded);
            line!(out, "loading_loaded_perc:{:.2}", loaded as f64 * 100.0 / l.total_bytes.max(1) as f64);
            line!(out, "loading_eta_seconds:{}", eta);
        }
    }
    if sec.has("stats") {
        header(&mut out, "Stats");
        let st = &srv.stats;
        line!(out, "total_connections_received:{}", st.total_connections_received);
        line!(out, "total_commands_processed:{}", st.total_commands_processed);
        line!(out, "instantaneous_ops_per_sec:{}", st.inst_ops.value());
        line!(out, "total_net_input_bytes:{}", st.net_input_bytes);
        line!(out, "total_net_output_bytes:{}", st.net_output_bytes);
        line!(out, "total_net_repl_input_bytes:0");
        line!(out, "total_net_repl_output_bytes:0");
        line!(out, "instantaneous_input_kbps:{:.2}", st.inst_input.value() as f64 / 1024.0);
        line!(out, "instantaneous_output_kbps:{:.2}", st.inst_output.value() as f64 / 1024.0);
        line!(out, "instantaneous_input_repl_kbps:0.00");
        line!(out, "instantaneous_output_repl_kbps:0.00");
        line!(out, "rejected_connections:{}", st.rejected_connections);
        line!(out, "sync_full:0");
        line!(out, "sync_partial_ok:0");
        line!(out, "sync_partial_err:0");
        line!(out, "expired_keys:{}", srv.expired_keys());
        line!(out, "expired_stale_perc:{:.2}", st.expired_stale_perc * 100.0);
        line!(out, "expired_time_cap_reached_count:{}", st.expired_time_cap_reached_count);
        line!(out, "expire_cycle_cpu_milliseconds:{}", st.expire_cycle_cpu_ms);
        line!(out, "evicted_keys:{}", srv.evict.evicted_keys);
        line!(out, "evicted_clients:{}", srv.stats.evicted_clients);
        line!(out, "total_eviction_exceeded_time:{}", srv.evict.total_exceeded_ms());
        line!(out, "current_eviction_exceeded_time:{}", srv.evict.current_exceeded_ms());
        line!(out, "keyspace_hits:{}", st.keyspace_hits);
        line!(out, "keyspace_misses:{}", st.keyspace_misses);
        {
            use crate::server::pubsub::Kind;
            line!(out, "pubsub_channels:{}", srv.pubsub.num_channels(Kind::Channel));
            line!(out, "pubsub_patterns:{}", srv.pubsub.num_patterns());
            line!(out, "pubsubshard_channels:{}", srv.pubsub.num_channels(Kind::Shard));
        }
        line!(out, "latest_fork_usec:0");
        line!(out, "total_forks:0");
        line!(out, "migrate_cached_sockets:0");
        line!(out, "slave_expires_tracked_keys:0");
        line!(out, "active_defrag_hits:0");
        line!(out, "active_defrag_misses:0");
        line!(out, "active_defrag_key_hits:0");
        line!(out, "active_defrag_key_misses:0");
        line!(out, "total_active_defrag_time:0");
        line!(out, "current_active_defrag_time:0");
        line!(out, "tracking_total_keys:{}", srv.tracking.total_keys());
        line!(out, "tracking_total_items:{}", srv.tracking.total_items());
        line!(out, "tracking_total_prefixes:{}", srv.tracking.total_prefixes());
        line!(out, "unexpected_error_replies:{}", st.unexpected_error_replies);
        line!(out, "total_error_replies:{}", st.total_error_replies);
        line!(out, "dump_payload_sanitizations:0");
        line!(out, "total_reads_processed:{}", st.total_commands_processed);
        line!(out, "total_writes_processed:{}", st.total_commands_processed);
        line!(out, "io_threaded_reads_processed:0");
        line!(out, "io_threaded_writes_processed:0");
        line!(out, "reply_buffer_shrinks:0");
        line!(out, "reply_buffer_expands:0");
    }
    if sec.has("replication") {
        header(&mut out, "Replication");
        let backlog = srv.config.get("repl-backlog-size").unwrap_or("1048576").to_string();
        line!(out, "role:master");
        line!(out, "connected_slaves:0");
        line!(out, "master_failover_state:no-failover");
        line!(out, "master_replid:{}", srv.replid);
        line!(out, "master_replid2:{}", srv.replid2);
        line!(out, "master_repl_offset:0");
        line!(out, "second_repl_offset:-1");
        line!(out, "repl_backlog_active:0");
        line!(out, "repl_backlog_size:{backlog}");
        line!(out, "repl_backlog_first_byte_offset:0");
        line!(out, "repl_backlog_histlen:0");
    }
    if sec.has("cpu") {
        header(&mut out, "CPU");
        let (sys, user) = rusage(libc::RUSAGE_SELF);
        let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
        let (tsys, tuser) = rusage(libc::RUSAGE_THREAD);
        line!(out, "used_cpu_sys:{sys}");
        line!(out, "used_cpu_user:{user}");
        line!(out, "used_cpu_sys_children:{csys}");
        line!(out, "used_cpu_user_children:{cuser}");
        line!(out, "used_cpu_sys_main_thread:{tsys}");
        line!(out, "used_cpu_user_main_thread:{tuser}");
    }
    if sec.has("module_list") || sec.has("modules") {
        header(&mut out, "Modules");
    }
    if sec.has("commandstats") {
        header(&mut out, "Commandstats");
        let mut cmds: Vec<&Command> = sh.table.all().collect();
        cmds.sort_by_key(|c| c.id);
        for c in cmds {
            let Some(st) = srv.stats.commands.get(c.id) else { continue };
            if st.calls == 0 && st.failed_calls == 0 && st.rejected_calls == 0 {
                continue;
            }
            let per = if st.calls == 0 { 0.0 } else { st.usec as f32 / st.calls as f32 };
            line!(
                out,
                "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}",
                c.name,
                st.calls,
                st.usec,
                per,
                st.rejected_calls,
                st.failed_calls
            );
        }
    }
    if sec.has("errorstats") {
        header(&mut out, "Errorstats");
        let mut errs: Vec<(&String, &u64)> = srv.stats.errors.iter().collect();
        errs.sort();
        for (name, count) in errs {
            line!(out, "errorstat_{name}:count={count}");
        }
    }
    if sec.has("latencystats") {
        header(&mut out, "Latencystats");
        if srv.config.get("latency-tracking") != Some("no") {
            let ps = info_percentiles(srv);
            let mut cmds: Vec<&Command> = sh.table.all().collect();
            cmds.sort_by_key(|c| c.id);
            for c in cmds {
                let Some(Some(h)) = srv.stats.latency_hist.get(c.id) else { continue };
                let parts: Vec<String> = ps
                    .iter()
                    .map(|&p| format!("p{}={:.3}", percentile_name(p), h.value_at_percentile(p) as f64 / 1000.0))
                    .collect();
                line!(out, "latency_percentiles_usec_{}:{}", c.name, parts.join(","));
            }
        }
    }
    if sec.has("cluster") {
        header(&mut out, "Cluster");
        line!(out, "cluster_enabled:0");
    }
    if sec.has("keyspace") {
        header(&mut out, "Keyspace");
        for (i, db) in srv.dbs.iter().enumerate() {
            let keys = db.main().len();
            let expires = db.expires().len();
            if keys > 0 || expires > 0 {
                line!(out, "db{i}:keys={keys},expires={expires},avg_ttl={}", db.avg_ttl);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// COMMAND

/// Subcommand tips and key specs Redis reports that the reference entries of
/// subcommands leave out: (name, tips, key-spec flags). Every such key spec is
/// "index 2, range lastkey 0 keystep 1 limit 0".
static SUBCOMMAND_EXTRA: &[(&str, &[&str], &[&str])] = &[
    ("latency|graph", &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"], &[]),
    ("latency|histogram", &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"], &[]),
    ("latency|reset", &["request_policy:all_nodes", "response_policy:all_succeeded"], &[]),
    ("latency|history", &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"], &[]),
    ("latency|doctor", &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"], &[]),
    ("latency|latest", &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"], &[]),
    ("module|list", &["nondeterministic_output_order"], &[]),
    ("memory|doctor", &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], &[]),
    ("memory|malloc-stats", &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], &[]),
    ("memory|usage", &[], &["RO"]),
    ("memory|purge", &["request_policy:all_shards", "response_policy:all_succeeded"], &[]),
    ("memory|stats", &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], &[]),
    ("command|list", &["nondeterministic_output_order"], &[]),
    ("command|info", &["nondeterministic_output_order"], &[]),
    ("command|docs", &["nondeterministic_output_order"], &[]),
    ("xgroup|destroy", &[], &["RW", "delete"]),
    ("xgroup|createconsumer", &[], &["RW", "insert"]),
    ("xgroup|delconsumer", &[], &["RW", "delete"]),
    ("xgroup|setid", &[], &["RW", "update"]),
    ("xgroup|create", &[], &["RW", "insert"]),
    ("xinfo|consumers", &["nondeterministic_output"], &["RO", "access"]),
    ("xinfo|stream", &[], &["RO", "access"]),
    ("xinfo|groups", &[], &["RO", "access"]),
    ("client|info", &["nondeterministic_output"], &[]),
    ("client|list", &["nondeterministic_output"], &[]),
    ("function|load", &["request_policy:all_shards", "response_policy:all_succeeded"], &[]),
    ("function|list", &["nondeterministic_output_order"], &[]),
    ("function|restore", &["request_policy:all_shards", "response_policy:all_succeeded"], &[]),
    ("function|flush", &["request_policy:all_shards", "response_policy:all_succeeded"], &[]),
    ("function|kill", &["request_policy:all_shards", "response_policy:one_succeeded"], &[]),
    ("function|delete", &["request_policy:all_shards", "response_policy:all_succeeded"], &[]),
    ("function|stats", &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"], &[]),
    ("config|set", &["request_policy:all_nodes", "response_policy:all_succeeded"], &[]),
    ("cluster|getkeysinslot", &["nondeterministic_output"], &[]),
    ("cluster|slaves", &["nondeterministic_output"], &[]),
    ("cluster|info", &["nondeterministic_output"], &[]),
    ("cluster|links", &["nondeterministic_output"], &[]),
    ("cluster|nodes", &["nondeterministic_output"], &[]),
    ("cluster|bumpepoch", &["nondeterministic_output"], &[]),
    ("cluster|shards", &["nondeterministic_output"], &[]),
    ("cluster|slots", &["nondeterministic_output"], &[]),
    ("cluster|replicas", &["nondeterministic_output"], &[]),
    ("cluster|count-failure-reports", &["nondeterministic_output"], &[]),
    ("slowlog|reset", &["request_policy:all_nodes", "response_policy:all_succeeded"], &[]),
    ("slowlog|len", &["request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"], &[]),
    ("slowlog|get", &["request_policy:all_nodes", "nondeterministic_output"], &[]),
    ("object|freq", &["nondeterministic_output"], &["RO"]),
    ("object|encoding", &["nondeterministic_output"], &["RO"]),
    ("object|idletime", &["nondeterministic_output"], &["RO"]),
    ("object|refcount", &["nondeterministic_output"], &["RO"]),
    ("script|flush", &["request_policy:all_nodes", "response_policy:all_succeeded"], &[]),
    ("script|exists", &["request_policy:all_shards", "response_policy:agg_logical_and"], &[]),
    ("script|load", &["request_policy:all_nodes", "response_policy:all_succeeded"], &[]),
    ("script|kill", &["request_policy:all_shards", "response_policy:one_succeeded"], &[]),
];

fn json_strings(v: &Json) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Where a key spec starts looking for keys.
#[derive(Clone, Debug)]
enum BeginSearch {
    Index(i64),
    Keyword(String, i64),
    Unknown,
}

/// How a key spec finds the keys from where the search began.
#[derive(Clone, Debug)]
enum FindKeys {
    Range { lastkey: i64, keystep: i64, limit: i64 },
    Keynum { keynumidx: i64, firstkey: i64, keystep: i64 },
    Unknown,
}

/// One key specification (Redis 7 key specs).
#[derive(Clone, Debug)]
struct KeySpec {
    flags: Vec<String>,
    bs: BeginSearch,
    fk: FindKeys,
}

/// Reads a flat `[name, value, name, value...]` array as pairs.
fn pairs(v: &Json) -> Vec<(&str, &Json)> {
    v.as_array()
        .map(|a| a.chunks(2).filter_map(|p| Some((p.first()?.as_str()?, p.get(1)?))).collect())
        .unwrap_or_default()
}

fn pair<'a>(v: &'a Json, name: &str) -> Option<&'a Json> {
    pairs(v).into_iter().find(|(k, _)| *k == name).map(|(_, v)| v)
}

fn pair_int(v: &Json, name: &str) -> i64 {
    pair(v, name).and_then(Json::as_i64).unwrap_or(0)
}

impl KeySpec {
    fn from_json(spec: &Json) -> KeySpec {
        let flags = pair(spec, "flags").map(json_strings).unwrap_or_default();
        let bs = match pair(spec, "begin_search") {
            Some(b) => {
                let s = pair(b, "spec").cloned().unwrap_or(Json::Null);
                match pair(b, "type").and_then(Json::as_str) {
                    Some("index") => BeginSearch::Index(pair_int(&s, "index")),
                    Some("keyword") => BeginSearch::Keyword(
                        pair(&s, "keyword").and_then(Json::as_str).unwrap_or_default().to_string(),
                        pair_int(&s, "startfrom"),
                    ),
                    _ => BeginSearch::Unknown,
                }
            }
            None => BeginSearch::Unknown,
        };
        let fk = match pair(spec, "find_keys") {
            Some(f) => {
                let s = pair(f, "spec").cloned().unwrap_or(Json::Null);
                match pair(f, "type").and_then(Json::as_str) {
                    Some("range") => FindKeys::Range {
                        lastkey: pair_int(&s, "lastkey"),
                        keystep: pair_int(&s, "keystep"),
                        limit: pair_int(&s, "limit"),
                    },
                    Some("keynum") => FindKeys::Keynum {
                        keynumidx: pair_int(&s, "keynumidx"),
                        firstkey: pair_int(&s, "firstkey"),
                        keystep: pair_int(&s, "keystep"),
                    },
                    _ => FindKeys::Unknown,
                }
            }
            None => FindKeys::Unknown,
        };
        KeySpec { flags, bs, fk }
    }

    fn has(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }

    /// Writes the spec as COMMAND INFO does (a map; a flat array in RESP2).
    fn reply(&self, out: &mut Reply) {
        out.map_len(3);
        out.bulk(b"flags");
        out.set_len(self.flags.len());
        for f in &self.flags {
            out.status(f);
        }
        out.bulk(b"begin_search");
        out.map_len(2);
        out.bulk(b"type");
        match &self.bs {
            BeginSearch::Index(i) => {
                out.bulk(b"index");
                out.bulk(b"spec");
                out.map_len(1);
                out.bulk(b"index");
                out.int(*i);
            }
            BeginSearch::Keyword(k, from) => {
                out.bulk(b"keyword");
                out.bulk(b"spec");
                out.map_len(2);
                out.bulk(b"keyword");
                out.bulk(k.as_bytes());
                out.bulk(b"startfrom");
                out.int(*from);
            }
            BeginSearch::Unknown => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map_len(0);
            }
        }
        out.bulk(b"find_keys");
        out.map_len(2);
        out.bulk(b"type");
        match &self.fk {
            FindKeys::Range { lastkey, keystep, limit } => {
                out.bulk(b"range");
                out.bulk(b"spec");
                out.map_len(3);
                out.bulk(b"lastkey");
                out.int(*lastkey);
                out.bulk(b"keystep");
                out.int(*keystep);
                out.bulk(b"limit");
                out.int(*limit);
            }
            FindKeys::Keynum { keynumidx, firstkey, keystep } => {
                out.bulk(b"keynum");
                out.bulk(b"spec");
                out.map_len(3);
                out.bulk(b"keynumidx");
                out.int(*keynumidx);
                out.bulk(b"firstkey");
                out.int(*firstkey);
                out.bulk(b"keystep");
                out.int(*keystep);
            }
            FindKeys::Unknown => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map_len(0);
            }
        }
    }
}

fn extra(name: &str) -> Option<&'static (&'static str, &'static [&'static str], &'static [&'static str])> {
    SUBCOMMAND_EXTRA.iter().find(|e| e.0 == name)
}

/// A command's key specs (from its reference entry, or for subcommands the
/// supplement above).
fn key_specs(cmd: &Command) -> Vec<KeySpec> {
    if let Some(a) = cmd.spec["key_specs"].as_array() {
        return a.iter().map(KeySpec::from_json).collect();
    }
    match extra(&cmd.name) {
        Some((_, _, flags)) if !flags.is_empty() => vec![KeySpec {
            flags: flags.iter().map(|s| s.to_string()).collect(),
            bs: BeginSearch::Index(2),
            fk: FindKeys::Range { lastkey: 0, keystep: 1, limit: 0 },
        }],
        _ => Vec::new(),
    }
}

fn tips(cmd: &Command) -> Vec<String> {
    if cmd.spec.get("tips").is_some() {
        return json_strings(&cmd.spec["tips"]);
    }
    extra(&cmd.name).map(|e| e.1.iter().map(|s| s.to_string()).collect()).unwrap_or_default()
}

fn status_set(out: &mut Reply, items: &[String]) {
    out.set_len(items.len());
    for i in items {
        out.status(i);
    }
}

/// One COMMAND INFO entry (Redis's 10 fields).
fn reply_command_info(out: &mut Reply, cmd: &Command) {
    out.array_len(10);
    out.bulk(cmd.name.as_bytes());
    out.int(cmd.arity as i64);
    status_set(out, &cmd.flag_names);
    out.int(cmd.first_key as i64);
    out.int(cmd.last_key as i64);
    out.int(cmd.step as i64);
    status_set(out, &cmd.acl_categories);
    let t = tips(cmd);
    out.set_len(t.len());
    for tip in &t {
        out.bulk(tip.as_bytes());
    }
    let specs = key_specs(cmd);
    out.set_len(specs.len());
    for s in &specs {
        s.reply(out);
    }
    if cmd.subcommands.is_empty() {
        out.set_len(0);
    } else {
        let subs = sorted_subcommands(cmd);
        out.array_len(subs.len());
        for s in subs {
            reply_command_info(out, s);
        }
    }
}

fn sorted_subcommands(cmd: &Command) -> Vec<&Command> {
    let mut v: Vec<&Command> = cmd.subcommands.values().collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

fn sorted_commands(sh: &Shared) -> Vec<&Command> {
    let mut v: Vec<&Command> = sh.table.commands.values().collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Finds `name` or `parent|sub` (any case) as COMMAND INFO / DOCS do.
fn lookup_by_fullname<'t>(sh: &'t Shared, name: &[u8]) -> Option<&'t Command> {
    let parts: Vec<&[u8]> = name.split(|&b| b == b'|').collect();
    match parts.as_slice() {
        [one] => sh.table.lookup(one),
        [parent, sub] => {
            let p = sh.table.lookup(parent)?;
            p.subcommands.get(&String::from_utf8_lossy(sub).to_ascii_lowercase())
        }
        _ => None,
    }
}

fn command_all(ctx: &mut Ctx, _args: &[Bytes]) {
    let cmds = sorted_commands(ctx.sh);
    ctx.out.array_len(cmds.len());
    for c in cmds {
        reply_command_info(ctx.out, c);
    }
}

fn command_count(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.int(ctx.sh.table.commands.len() as i64);
}

fn command_info(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() == 2 {
        command_all(ctx, args);
        return;
    }
    ctx.out.array_len(args.len() - 2);
    for a in &args[2..] {
        match lookup_by_fullname(ctx.sh, a) {
            Some(c) => reply_command_info(ctx.out, c),
            None => ctx.out.null(),
        }
    }
}

/// The docs entry of a subcommand, from its parent's reference entry.
fn subcommand_doc<'a>(parent: &'a Json, full: &str) -> Option<&'a Json> {
    match &parent["subcommand_docs"] {
        Json::Array(a) => a.chunks(2).find(|p| p.first().and_then(Json::as_str) == Some(full)).and_then(|p| p.get(1)),
        Json::Object(m) => m.get(full),
        _ => None,
    }
}

/// Writes an argument list as COMMAND DOCS does.
fn reply_args(out: &mut Reply, args: &[Json]) {
    out.array_len(args.len());
    for a in args {
        let ty = a["type"].as_str().unwrap_or("string");
        let flags = json_strings(&a["flags"]);
        let nested = ty == "oneof" || ty == "block";
        let opt = |k: &str| a.get(k).filter(|v| !v.is_null());
        let n = 2
            + opt("key_spec_index").is_some() as usize
            + opt("token").is_some() as usize
            + opt("summary").is_some() as usize
            + opt("since").is_some() as usize
            + opt("deprecated_since").is_some() as usize
            + !flags.is_empty() as usize
            + nested as usize;
        out.map_len(n);
        out.bulk(b"name");
        out.bulk(a["name"].as_str().unwrap_or_default().as_bytes());
        out.bulk(b"type");
        out.bulk(ty.as_bytes());
        if let Some(i) = opt("key_spec_index") {
            out.bulk(b"key_spec_index");
            out.int(i.as_i64().unwrap_or(0));
        }
        for k in ["token", "summary", "since", "deprecated_since"] {
            if let Some(v) = opt(k) {
                out.bulk(k.as_bytes());
                out.bulk(v.as_str().unwrap_or_default().as_bytes());
            }
        }
        if !flags.is_empty() {
            out.bulk(b"flags");
            status_set(out, &flags);
        }
        if nested {
            out.bulk(b"arguments");
            let sub = a["arguments"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            reply_args(out, sub);
        }
    }
}

/// Writes one COMMAND DOCS entry: the reference's docs fields in Redis's order,
/// then the documentation of the subcommands this server has.
fn reply_docs(out: &mut Reply, doc: &Json, cmd: &Command) {
    let text = |k: &str| doc.get(k).and_then(Json::as_str);
    let doc_flags = json_strings(&doc["doc_flags"]);
    let history = doc["history"].as_array().filter(|h| !h.is_empty());
    let args = doc["arguments"].as_array().filter(|a| !a.is_empty());
    let n = 1
        + text("summary").is_some() as usize
        + text("since").is_some() as usize
        + text("complexity").is_some() as usize
        + !doc_flags.is_empty() as usize
        + text("deprecated_since").is_some() as usize
        + text("replaced_by").is_some() as usize
        + history.is_some() as usize
        + args.is_some() as usize
        + !cmd.subcommands.is_empty() as usize;
    out.map_len(n);
    for k in ["summary", "since"] {
        if let Some(v) = text(k) {
            out.bulk(k.as_bytes());
            out.bulk(v.as_bytes());
        }
    }
    out.bulk(b"group");
    out.bulk(text("group").unwrap_or("generic").as_bytes());
    if let Some(v) = text("complexity") {
        out.bulk(b"complexity");
        out.bulk(v.as_bytes());
    }
    if !doc_flags.is_empty() {
        out.bulk(b"doc_flags");
        status_set(out, &doc_flags);
    }
    for k in ["deprecated_since", "replaced_by"] {
        if let Some(v) = text(k) {
            out.bulk(k.as_bytes());
            out.bulk(v.as_bytes());
        }
    }
    if let Some(h) = history {
        out.bulk(b"history");
        out.set_len(h.len());
        for e in h {
            let pair = json_strings(e);
            out.array_len(pair.len());
            for p in pair {
                out.bulk(p.as_bytes());
            }
        }
    }
    if let Some(a) = args {
        out.bulk(b"arguments");
        reply_args(out, a);
    }
    if !cmd.subcommands.is_empty() {
        out.bulk(b"subcommands");
        let subs = sorted_subcommands(cmd);
        out.map_len(subs.len());
        for s in subs {
            out.bulk(s.name.as_bytes());
            let sdoc = subcommand_doc(cmd.spec, &s.name).unwrap_or(&Json::Null);
            reply_docs(out, sdoc, s);
        }
    }
}

/// The docs entry of any command or subcommand.
fn docs_of<'t>(sh: &'t Shared, cmd: &'t Command) -> &'t Json {
    match cmd.name.split_once('|') {
        Some((parent, _)) => {
            sh.table.commands.get(parent).and_then(|p| subcommand_doc(p.spec, &cmd.name)).unwrap_or(&Json::Null)
        }
        None => cmd.spec,
    }
}

fn command_docs(ctx: &mut Ctx, args: &[Bytes]) {
    let cmds: Vec<&Command> = if args.len() == 2 {
        sorted_commands(ctx.sh)
    } else {
        args[2..].iter().filter_map(|a| lookup_by_fullname(ctx.sh, a)).collect()
    };
    ctx.out.map_len(cmds.len());
    for c in cmds {
        ctx.out.bulk(c.name.as_bytes());
        reply_docs(ctx.out, docs_of(ctx.sh, c), c);
    }
}

/// COMMAND LIST filters.
enum ListFilter {
    None,
    Module,
    AclCat(String),
    Pattern(Vec<u8>),
}

impl ListFilter {
    fn matches(&self, c: &Command) -> bool {
        match self {
            ListFilter::None => true,
            ListFilter::Module => false,
            ListFilter::AclCat(cat) => {
                c.acl_categories.iter().any(|a| a.trim_start_matches('@').eq_ignore_ascii_case(cat))
            }
            ListFilter::Pattern(p) => crate::storage::glob::glob_match(p, c.name.as_bytes(), true),
        }
    }
}

fn command_list(ctx: &mut Ctx, args: &[Bytes]) {
    let mut filter = ListFilter::None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if args[i].eq_ignore_ascii_case(b"FILTERBY") && more == 2 {
            let ty = &args[i + 1];
            let arg = &args[i + 2];
            filter = if ty.eq_ignore_ascii_case(b"MODULE") {
                ListFilter::Module
            } else if ty.eq_ignore_ascii_case(b"ACLCAT") {
                ListFilter::AclCat(String::from_utf8_lossy(arg).into_owned())
            } else if ty.eq_ignore_ascii_case(b"PATTERN") {
                ListFilter::Pattern(arg.to_vec())
            } else {
                ctx.syntax();
                return;
            };
            i += 3;
        } else {
            ctx.syntax();
            return;
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for c in sorted_commands(ctx.sh) {
        if filter.matches(c) {
            names.push(&c.name);
        }
        for s in sorted_subcommands(c) {
            if filter.matches(s) {
                names.push(&s.name);
            }
        }
    }
    ctx.out.array_len(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
}

/// Key positions (into `argv`, which starts at the command name) with their
/// flags, from the key specs; `None` when a spec cannot be applied.
fn keys_from_specs(specs: &[KeySpec], argv: &[Bytes]) -> Option<Vec<(usize, Vec<String>)>> {
    let argc = argv.len() as i64;
    let mut out = Vec::new();
    for spec in specs {
        let mut first = match &spec.bs {
            BeginSearch::Index(i) => *i,
            BeginSearch::Keyword(kw, startfrom) => {
                let start = if *startfrom > 0 { *startfrom } else { argc + startfrom };
                let end = if *startfrom > 0 { argc - 1 } else { 0 };
                let mut found = 0;
                let mut i = start;
                while i != end {
                    if i >= argc || i < 1 {
                        break;
                    }
                    if argv[i as usize].eq_ignore_ascii_case(kw.as_bytes()) {
                        found = i + 1;
                        break;
                    }
                    i = if start <= end { i + 1 } else { i - 1 };
                }
                if found == 0 {
                    continue;
                }
                found
            }
            BeginSearch::Unknown => return None,
        };
        let (last, step) = match &spec.fk {
            FindKeys::Range { lastkey, keystep, limit } => {
                let last = if *lastkey >= 0 {
                    first + lastkey
                } else if *limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit + lastkey)
                };
                (last, *keystep)
            }
            FindKeys::Keynum { keynumidx, firstkey, keystep } => {
                if *keynumidx >= argc - first {
                    return None;
                }
                let idx = (first + keynumidx) as usize;
                let n = crate::util::parse_i64(argv.get(idx)?)?;
                if n < 0 {
                    return None;
                }
                first += firstkey;
                (first + n - 1, *keystep)
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let step = step.max(1);
        let mut i = first;
        while i <= last {
            out.push((i as usize, spec.flags.clone()));
            i += step;
        }
        if spec.has("incomplete") {
            return None;
        }
    }
    Some(out)
}

fn flags_of(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The getkeys procedures Redis falls back on when the key specs cannot say.
fn keys_by_procedure(cmd: &Command, argv: &[Bytes]) -> Vec<(usize, Vec<String>)> {
    let argc = argv.len();
    let is = |i: usize, w: &str| argv.get(i).is_some_and(|a| a.eq_ignore_ascii_case(w.as_bytes()));
    match cmd.name.as_str() {
        "sort" => {
            let mut keys = vec![(1, flags_of(&["RO", "access"]))];
            let mut store = None;
            let mut i = 2;
            while i < argc {
                if is(i, "limit") {
                    i += 2;
                } else if is(i, "get") || is(i, "by") {
                    i += 1;
                } else if is(i, "store") && i + 1 < argc {
                    store = Some(i + 1);
                }
                i += 1;
            }
            if let Some(s) = store {
                keys.push((s, flags_of(&["OW", "update"])));
            }
            keys
        }
        "sort_ro" => vec![(1, flags_of(&["RO", "access"]))],
        "migrate" => {
            let (mut first, mut num) = (3, 1);
            if argc > 6 {
                let mut i = 6;
                while i < argc {
                    if is(i, "keys") {
                        if argv.get(3).is_some_and(|k| !k.is_empty()) {
                            return Vec::new();
                        }
                        first = i + 1;
                        num = argc - first;
                        break;
                    }
                    if is(i, "auth") {
                        i += 1;
                    } else if is(i, "auth2") {
                        i += 2;
                    }
                    i += 1;
                }
            }
            (first..first + num).map(|p| (p, flags_of(&["RW", "access", "delete"]))).collect()
        }
        "set" => {
            let get = argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"GET"));
            let f = if get { flags_of(&["RW", "access", "update"]) } else { flags_of(&["OW", "update"]) };
            vec![(1, f)]
        }
        "bitfield" => {
            let mut readonly = true;
            let mut i = 2;
            while i < argc {
                let rem = argc - i - 1;
                if is(i, "get") && rem >= 2 {
                    i += 2;
                } else if (is(i, "set") || is(i, "incrby")) && rem >= 3 {
                    readonly = false;
                    break;
                } else if is(i, "overflow") && rem >= 1 {
                    i += 1;
                } else {
                    readonly = false;
                    break;
                }
                i += 1;
            }
            let f = if readonly { flags_of(&["RO", "access"]) } else { flags_of(&["RW", "access", "update"]) };
            vec![(1, f)]
        }
        // The other procedures (EVAL, ZUNIONSTORE, XREAD...) only disagree with
        // the specs on malformed input, where they find no keys.
        _ => Vec::new(),
    }
}

/// Keys of a full command line, as COMMAND GETKEYS finds them.
pub(crate) fn get_keys(cmd: &Command, argv: &[Bytes]) -> Vec<(usize, Vec<String>)> {
    let specs = key_specs(cmd);
    let has_keyspec = specs.iter().any(|s| !s.has("not_key"));
    let varflags = specs.iter().any(|s| s.has("variable_flags"));
    if has_keyspec && !varflags {
        if let Some(k) = keys_from_specs(&specs, argv) {
            return k;
        }
    }
    if cmd.has(flag::MOVABLEKEYS) || varflags {
        return keys_by_procedure(cmd, argv);
    }
    Vec::new()
}

fn getkeys(ctx: &mut Ctx, args: &[Bytes], with_flags: bool) {
    let argv = &args[2..];
    let base = ctx.sh.table.lookup(&argv[0]);
    let cmd = match base {
        Some(b) if !b.subcommands.is_empty() && argv.len() >= 2 => {
            b.subcommands.get(&String::from_utf8_lossy(&argv[1]).to_ascii_lowercase())
        }
        other => other,
    };
    let Some(cmd) = cmd else {
        ctx.err("ERR Invalid command specified");
        return;
    };
    let has_keys = !key_specs(cmd).is_empty() || cmd.has(flag::MOVABLEKEYS);
    if !has_keys {
        ctx.err("ERR The command has no key arguments");
        return;
    }
    if !cmd.arity_ok(argv.len()) {
        ctx.err("ERR Invalid number of arguments specified for command");
        return;
    }
    let keys = get_keys(cmd, argv);
    if keys.is_empty() && !cmd.has(flag::NO_MANDATORY_KEYS) {
        ctx.err("ERR Invalid arguments specified for command");
        return;
    }
    ctx.out.array_len(keys.len());
    for (pos, flags) in keys {
        let key = argv.get(pos).map(|b| &b[..]).unwrap_or(b"");
        if with_flags {
            ctx.out.array_len(2);
            ctx.out.bulk(key);
            status_set(ctx.out, &flags);
        } else {
            ctx.out.bulk(key);
        }
    }
}

fn command_getkeys(ctx: &mut Ctx, args: &[Bytes]) {
    getkeys(ctx, args, false);
}

fn command_getkeysandflags(ctx: &mut Ctx, args: &[Bytes]) {
    getkeys(ctx, args, true);
}

fn command_help(ctx: &mut Ctx, _args: &[Bytes]) {
    reply_help(
        ctx,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
}

// ---------------------------------------------------------------------------
// SLOWLOG

fn slowlog_get(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 {
        subcommand_syntax_error(ctx, args);
        return;
    }
    let mut count: usize = 10;
    if args.len() == 3 {
        match crate::util::parse_i64(&args[2]) {
            Some(-1) => count = ctx.srv.slowlog.len(),
            Some(n) if n >= 0 => count = n as usize,
            _ => {
                ctx.err("ERR count should be greater than or equal to -1");
                return;
            }
        }
    }
    let n = count.min(ctx.srv.slowlog.len());
    ctx.out.array_len(n);
    for e in ctx.srv.slowlog.iter().take(n) {
        ctx.out.array_len(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.time);
        ctx.out.int(e.duration_us);
        ctx.out.array_len(e.args.len());
        for a in &e.args {
            ctx.out.bulk(a);
        }
        ctx.out.bulk(e.addr.as_bytes());
        ctx.out.bulk(e.name.as_bytes());
    }
}

fn slowlog_len(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.int(ctx.srv.slowlog.len() as i64);
}

fn slowlog_reset(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.srv.slowlog.clear();
    ctx.out.ok();
}

fn slowlog_help(ctx: &mut Ctx, _args: &[Bytes]) {
    reply_help(
        ctx,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
}

// ---------------------------------------------------------------------------
// LATENCY

/// Samples kept per latency event (Redis's LATENCY_TS_LEN).
const LATENCY_TS_LEN: usize = 160;

/// Records a latency sample for `event` (ms), merging samples of the same second.
pub fn latency_add_sample(srv: &mut Server, event: &str, ms: u64) {
    let now = crate::util::now_ms() / 1000;
    let max = srv.latency_max.entry(event.to_string()).or_insert(0);
    *max = (*max).max(ms);
    let ts = srv.latency.entry(event.to_string()).or_default();
    if let Some(last) = ts.last_mut() {
        if last.0 == now {
            last.1 = last.1.max(ms);
            return;
        }
    }
    ts.push((now, ms));
    if ts.len() > LATENCY_TS_LEN {
        ts.remove(0);
    }
}

/// Adds a sample when the latency monitor is on and `ms` reaches its threshold.
pub fn latency_add_sample_if_needed(srv: &mut Server, event: &str, ms: u64) {
    let threshold: u64 = srv.config.get("latency-monitor-threshold").and_then(|v| v.parse().ok()).unwrap_or(0);
    if threshold > 0 && ms >= threshold {
        latency_add_sample(srv, event, ms);
    }
}

fn latency_events(srv: &Server) -> Vec<String> {
    let mut v: Vec<String> = srv.latency.keys().cloned().collect();
    v.sort();
    v
}

fn latency_latest(ctx: &mut Ctx, _args: &[Bytes]) {
    let events = latency_events(ctx.srv);
    ctx.out.array_len(events.len());
    for e in events {
        let (t, ms) = ctx.srv.latency.get(&e).and_then(|s| s.last().copied()).unwrap_or((0, 0));
        let max = ctx.srv.latency_max.get(&e).copied().unwrap_or(0);
        ctx.out.array_len(4);
        ctx.out.bulk(e.as_bytes());
        ctx.out.int(t);
        ctx.out.int(ms as i64);
        ctx.out.int(max as i64);
    }
}

fn latency_history(ctx: &mut Ctx, args: &[Bytes]) {
    let name = String::from_utf8_lossy(&args[2]).into_owned();
    let samples = ctx.srv.latency.get(&name).cloned().unwrap_or_default();
    ctx.out.array_len(samples.len());
    for (t, ms) in samples {
        ctx.out.array_len(2);
        ctx.out.int(t);
        ctx.out.int(ms as i64);
    }
}

fn latency_reset(ctx: &mut Ctx, args: &[Bytes]) {
    let events = latency_events(ctx.srv);
    let mut resets = 0;
    for e in events {
        let hit = args.len() == 2 || args[2..].iter().any(|a| a.eq_ignore_ascii_case(e.as_bytes()));
        if hit {
            ctx.srv.latency.remove(&e);
            ctx.srv.latency_max.remove(&e);
            resets += 1;
        }
    }
    ctx.out.int(resets);
}

fn latency_doctor(ctx: &mut Ctx, _args: &[Bytes]) {
    let threshold = ctx.srv.config.get("latency-monitor-threshold").unwrap_or("0") == "0";
    let events = latency_events(ctx.srv);
    let mut report = String::new();
    if events.is_empty() && threshold {
        report.push_str("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n");
    } else if events.is_empty() {
        report.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
    } else {
        report.push_str(
            "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n",
        );
        let now = crate::util::now_ms() / 1000;
        for (i, e) in events.iter().enumerate() {
            let samples = ctx.srv.latency.get(e).cloned().unwrap_or_default();
            let n = samples.len().max(1) as u64;
            let avg = samples.iter().map(|s| s.1).sum::<u64>() / n;
            let mad = samples.iter().map(|s| s.1.abs_diff(avg)).sum::<u64>() / n;
            let oldest = samples.iter().map(|s| s.0).min().unwrap_or(now);
            let period = (now - oldest).max(1);
            let max = ctx.srv.latency_max.get(e).copied().unwrap_or(0);
            let _ = writeln!(
                report,
                "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
                i + 1,
                e,
                samples.len(),
                avg,
                mad,
                period as f64 / n as f64,
                max
            );
        }
        report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your request.\n");
    }
    ctx.out.verbatim(report.as_bytes());
}

fn reply_histogram(out: &mut Reply, h: &Hdr) {
    out.map_len(2);
    out.bulk(b"calls");
    out.int(h.total as i64);
    out.bulk(b"histogram_usec");
    let buckets = h.log_buckets();
    out.map_len(buckets.len());
    for (us, count) in buckets {
        out.int(us);
        out.int(count as i64);
    }
}

fn latency_histogram(ctx: &mut Ctx, args: &[Bytes]) {
    let mut cmds: Vec<&Command> = Vec::new();
    if args.len() == 2 {
        cmds = ctx.sh.table.all().collect();
        cmds.sort_by_key(|c| c.id);
    } else {
        for a in &args[2..] {
            if let Some(c) = lookup_by_fullname(ctx.sh, a) {
                cmds.push(c);
                cmds.extend(sorted_subcommands(c));
            }
        }
    }
    let hist = &ctx.srv.stats.latency_hist;
    let with: Vec<(&Command, &Hdr)> =
        cmds.into_iter().filter_map(|c| hist.get(c.id).and_then(|h| h.as_deref()).map(|h| (c, h))).collect();
    ctx.out.map_len(with.len());
    for (c, h) in with {
        ctx.out.bulk(c.name.as_bytes());
        reply_histogram(ctx.out, h);
    }
}

fn latency_help(ctx: &mut Ctx, _args: &[Bytes]) {
    reply_help(
        ctx,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
}

// ---------------------------------------------------------------------------
// DEBUG

/// True for clients on the loopback interface or a unix socket.
fn is_local(c: &Client) -> bool {
    c.unix_socket || c.addr.starts_with("127.") || c.addr.starts_with("[::1]") || c.addr.starts_with("::1")
}

/// The rejection of DEBUG when `enable-debug-command` does not allow it.
pub(crate) const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

/// Whether `enable-debug-command` lets this client run DEBUG (the dispatcher
/// rejects it before running it otherwise, as Redis does).
pub(crate) fn debug_allowed(srv: &crate::server::Server, c: &Client) -> bool {
    match srv.config.get("enable-debug-command").unwrap_or("no") {
        "yes" => true,
        "local" => is_local(c),
        _ => false,
    }
}

fn debug(ctx: &mut Ctx, args: &[Bytes]) {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match (sub.as_str(), args.len()) {
        ("help", 2) => debug_help(ctx),
        ("sleep", 3) => {
            let secs = strtod_prefix(&args[2]);
            let us = (secs * 1_000_000.0) as i64;
            if us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(us as u64));
            }
            ctx.out.ok();
        }
        ("reload", _) => {
            // Loading creates keys without `new` events, as Redis's loading does.
            for db in ctx.srv.dbs.iter_mut() {
                db.notify = 0;
            }
            crate::persist::debug_reload(ctx, args);
            crate::server::notify::sync(ctx.srv);
        }
        ("digest", 2) => {
            let d = crate::server::digest::dataset(&ctx.srv.dbs);
            ctx.out.status(&d);
        }
        ("digest-value", _) => {
            let now = ctx.now;
            ctx.out.array_len(args.len() - 2);
            for k in &args[2..] {
                let db = ctx.db();
                let d = crate::server::digest::value(db.peek(k, now).map(|e| (&e.value, e.has_expire)));
                ctx.out.status(&d);
            }
        }
        ("populate", 3..=5) => debug_populate(ctx, args),
        ("htstats", 3) => {
            let Some(id) = ctx.int_arg(&args[2]) else { return };
            let Some(db) = usize::try_from(id).ok().and_then(|i| ctx.srv.dbs.get(i)) else {
                ctx.err("ERR Out of range database");
                return;
            };
            let text = format!("[Dictionary HT]\n{}[Expires HT]\n{}", db.main().stats(), db.expires().stats());
            ctx.out.verbatim(text.as_bytes());
        }
        ("htstats-key", 3) => debug_htstats_key(ctx, &args[2]),
        ("set-skip-checksum-validation", 3) => {
            ctx.srv.persist.skip_checksum_validation = atoi(&args[2]) != 0;
            ctx.out.ok();
        }
        ("aof-flush-sleep", 3) => {
            ctx.srv.aof.flush_sleep_us = atoi(&args[2]).max(0) as u64;
            ctx.out.ok();
        }
        ("loadaof", 2) => {
            for db in ctx.srv.dbs.iter_mut() {
                db.notify = 0;
            }
            crate::persist::aof::debug_loadaof(ctx);
            crate::server::notify::sync(ctx.srv);
        }
        ("set-active-expire", 3) => {
            ctx.srv.active_expire_enabled = atoi(&args[2]) != 0;
            ctx.out.ok();
        }
        ("object", 3) => debug_object(ctx, &args[2]),
        ("change-repl-id", 2) => {
            crate::log::warning("Changing replication IDs after receiving DEBUG change-repl-id");
            ctx.srv.replid = crate::server::random_hex40();
            ctx.srv.replid2 = "0".repeat(40);
            ctx.out.ok();
        }
        ("quicklist-packed-threshold", 3) => {
            let v = std::str::from_utf8(&args[2]).ok().and_then(crate::util::parse_memory);
            match v {
                Some(sz) if sz >= 0 && (sz as u64) <= (1u64 << 32) - (1 << 20) => {
                    ctx.srv.quicklist_packed_threshold = if sz == 0 { 1 << 30 } else { sz as usize };
                    ctx.out.ok();
                }
                _ => ctx.err("ERR argument must be a memory value bigger than 1 and smaller than 4gb"),
            }
        }
        ("protocol", 3) => debug_protocol(ctx, &args[2]),
        ("log", 3) => {
            crate::log::warning(&format!("DEBUG LOG: {}", String::from_utf8_lossy(&args[2])));
            ctx.out.ok();
        }
        ("error", 3) => {
            let msg = String::from_utf8_lossy(&args[2]).into_owned();
            ctx.err(&msg);
        }
        _ => subcommand_syntax_error(ctx, args),
    }
}

/// C's `strtod` on a prefix (what DEBUG SLEEP accepts): 0 when nothing parses.
fn strtod_prefix(b: &[u8]) -> f64 {
    let s = String::from_utf8_lossy(&b[..b.len().min(64)]);
    let s = s.trim_start();
    let best = s
        .char_indices()
        .map(|(i, c)| i + c.len_utf8())
        .rev()
        .find_map(|end| s[..end].parse::<f64>().ok())
        .unwrap_or(0.0);
    if best.is_finite() {
        best
    } else {
        0.0
    }
}

/// C's `atoi`: optional sign and leading digits.
fn atoi(b: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(b);
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for c in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.wrapping_mul(10).wrapping_add((c - b'0') as i64);
    }
    if neg {
        -n
    } else {
        n
    }
}

/// What a value takes in an RDB file, type byte excluded (Redis's
/// `rdbSavedObjectLen`, which DEBUG OBJECT reports as `serializedlength`).
fn serialized_len(v: &crate::storage::Value, o: crate::persist::rdb::encode::Opts) -> usize {
    let mut enc = crate::persist::rdb::encode::Enc::new(o);
    enc.value(v);
    enc.buf.len()
}

fn debug_object(ctx: &mut Ctx, key: &[u8]) {
    let shared_ints = ctx.srv.config.get("maxmemory").unwrap_or("0") == "0";
    let now = ctx.now;
    let db = ctx.client.db;
    let Some(e) = ctx.srv.dbs[db].main().get(key) else {
        ctx.err(err::NO_SUCH_KEY);
        return;
    };
    let v = &e.value;
    let refcount = match v {
        crate::storage::Value::Int(n) if shared_ints && (0..10000).contains(n) => i32::MAX as i64,
        _ => 1,
    };
    let serialized = serialized_len(v, crate::persist::rdb::encode::Opts::from_server(ctx.srv));
    let extra = match v {
        crate::storage::Value::List(l) => l.debug_fields(),
        _ => String::new(),
    };
    let line = format!(
        "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}{extra}",
        e as *const _,
        refcount,
        v.encoding(),
        serialized,
        e.lru,
        crate::storage::db::idle_secs(e.lru, now)
    );
    ctx.out.status(&line);
}

/// DEBUG POPULATE count [prefix] [size]: adds the absent keys
/// `<prefix>:<n>` (prefix `key`) for n below count, holding `value:<n>` cut
/// or zero-padded to `size` bytes when a size is given. As in Redis the keys
/// are neither propagated nor counted as changes, and existing keys stay.
fn debug_populate(ctx: &mut Ctx, args: &[Bytes]) {
    const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
    let positive = |a: &[u8]| crate::util::parse_i64(a).filter(|n| *n >= 0);
    let Some(count) = positive(&args[2]) else {
        ctx.err(NOT_POSITIVE);
        return;
    };
    let Some(size) = args.get(4).map_or(Some(0), |a| positive(a)) else {
        ctx.err(NOT_POSITIVE);
        return;
    };
    let prefix: &[u8] = args.get(3).map_or(b"key", |p| &p[..]);
    let now = ctx.now;
    let db = ctx.db();
    // Sized up front as Redis does, up to a bound a typo cannot turn into an
    // allocation failure.
    db.reserve((count as usize).min(1 << 24), 0);
    let mut key = Vec::new();
    for n in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.extend_from_slice(format!(":{n}").as_bytes());
        // Redis formats the key into a 128-byte buffer.
        key.truncate(127);
        if db.contains(&key, now) {
            continue;
        }
        let mut value = format!("value:{n}").into_bytes();
        if size > 0 {
            value.resize(size as usize, 0);
        }
        db.add(&key, crate::storage::Value::from_bytes(&value), now);
    }
    ctx.out.ok();
}

/// DEBUG HTSTATS-KEY: the chain statistics of a value held in a hash table.
fn debug_htstats_key(ctx: &mut Ctx, key: &[u8]) {
    use crate::storage::Value;
    let now = ctx.now;
    let Some(e) = ctx.db().peek(key, now) else {
        ctx.err(err::NO_SUCH_KEY);
        return;
    };
    let stats = match &e.value {
        Value::Hash(h) => h.table_stats(),
        Value::Set(s) => s.table_stats(),
        Value::ZSet(z) => z.table_stats(),
        _ => None,
    };
    match stats {
        Some(text) => ctx.out.verbatim(text.as_bytes()),
        None => ctx.err("ERR The value stored at the specified key is not represented using an hash table"),
    }
}

fn debug_protocol(ctx: &mut Ctx, ty: &[u8]) {
    let resp3 = ctx.out.resp >= 3;
    match String::from_utf8_lossy(ty).to_ascii_lowercase().as_str() {
        "string" => ctx.out.bulk(b"Hello World"),
        "integer" => ctx.out.int(12345),
        // Redis's fixed test value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        "double" => ctx.out.double(3.141),
        "bignum" => {
            let n = "1234567999999999999999999999999999999";
            if resp3 {
                ctx.out.raw(format!("({n}\r\n").as_bytes());
            } else {
                ctx.out.bulk(n.as_bytes());
            }
        }
        "null" => ctx.out.null(),
        "array" | "set" => {
            if ty.eq_ignore_ascii_case(b"set") {
                ctx.out.set_len(3);
            } else {
                ctx.out.array_len(3);
            }
            for j in 0..3 {
                ctx.out.int(j);
            }
        }
        "map" => {
            ctx.out.map_len(3);
            for j in 0..3 {
                ctx.out.int(j);
                ctx.out.boolean(j == 1);
            }
        }
        "attrib" => {
            if resp3 {
                ctx.out.raw(b"|1\r\n");
                ctx.out.bulk(b"key-popularity");
                ctx.out.array_len(2);
                ctx.out.bulk(b"key:123");
                ctx.out.int(90);
            }
            ctx.out.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if !resp3 {
                ctx.err("ERR RESP2 is not supported by this command");
                return;
            }
            ctx.out.push_len(2);
            ctx.out.bulk(b"server-cpu-usage");
            ctx.out.int(42);
            ctx.out.bulk(b"Some real reply following the push reply");
        }
        "true" => ctx.out.boolean(true),
        "false" => ctx.out.boolean(false),
        "verbatim" => ctx.out.verbatim(b"This is a verbatim\nstring"),
        _ => ctx.err("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"),
    }
}

fn debug_help(ctx: &mut Ctx) {
    reply_help(
        ctx,
        "DEBUG",
        &[
            "AOF-FLUSH-SLEEP <microsec>",
            "    Server will sleep before flushing the AOF, this is used for testing.",
            "ASSERT",
            "    Crash by assertion failed.",
            "CHANGE-REPL-ID",
            "    Change the replication IDs of the instance.",
            "    Dangerous: should be used only for testing the replication subsystem.",
            "CONFIG-REWRITE-FORCE-ALL",
            "    Like CONFIG REWRITE but writes all configuration options, including",
            "    keywords not listed in original configuration file or default values.",
            "CRASH-AND-RECOVER [<milliseconds>]",
            "    Hard crash and restart after a <milliseconds> delay (default 0).",
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
            "ERROR <string>",
            "    Return a Redis protocol error with <string> as message. Useful for clients",
            "    unit tests to simulate Redis errors.",
            "LEAK <string>",
            "    Create a memory leak of the input string.",
            "LOG <message>",
            "    Write <message> to the server log.",
            "HTSTATS <dbid>",
            "    Return hash table statistics of the specified Redis database.",
            "HTSTATS-KEY <key>",
            "    Like HTSTATS but for the hash table stored at <key>'s value.",
            "LOADAOF",
            "    Flush the AOF buffers on disk and reload the AOF in memory.",
            "REPLICATE <string>",
            "    Replicates the provided string to replicas, allowing data divergence.",
            "MALLCTL <key> [<val>]",
            "    Get or set a malloc tuning integer.",
            "MALLCTL-STR <key> [<val>]",
            "    Get or set a malloc tuning string.",
            "OBJECT <key>",
            "    Show low level info about `key` and associated value.",
            "DROP-CLUSTER-PACKET-FILTER <packet-type>",
            "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
            "OOM",
            "    Crash the server simulating an out-of-memory error.",
            "PANIC",
            "    Crash the server simulating a panic.",
            "POPULATE <count> [<prefix>] [<size>]",
            "    Create <count> string keys named key:<num>. If <prefix> is specified then",
            "    it is used instead of the 'key' prefix. These are not propagated to",
            "    replicas. Cluster slots are not respected so keys not belonging to the",
            "    current node can be created in cluster mode.",
            "PROTOCOL <type>",
            "    Reply with a test value of the specified type. <type> can be: string,",
            "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
            "    true, false.",
            "RELOAD [option ...]",
            "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
            "    * MERGE: conflicting keys will be loaded from RDB.",
            "    * NOFLUSH: the existing database will not be removed before load, but",
            "      conflicting keys will generate an exception and kill the server.",
            "    * NOSAVE: the database will be loaded from an existing RDB file.",
            "    Examples:",
            "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
            "      the database.",
            "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
            "      existing RDB file.",
            "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
            "      file to the database.",
            "RESTART [<milliseconds>]",
            "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
            "SDSLEN <key>",
            "    Show low level SDS string info representing `key` and value.",
            "SEGFAULT",
            "    Crash the server with sigsegv.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "QUICKLIST-PACKED-THRESHOLD <size>",
            "    Sets the threshold for elements to be inserted as plain vs packed nodes",
            "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
            "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
            "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "STRINGMATCH-TEST",
            "    Run a fuzz tester against the stringmatchlen() function.",
            "STRUCTSIZE",
            "    Return the size of different Redis core C structures.",
            "LISTPACK <key>",
            "    Show low level info about the listpack encoding of <key>.",
            "QUICKLIST <key> [<0|1>]",
            "    Show low level info about the quicklist encoding of <key>.",
            "    The optional argument (0 by default) sets the level of detail",
            "CLIENT-EVICTION",
            "    Show low level client eviction pools info (maxmemory-clients).",
            "PAUSE-CRON <0|1>",
            "    Stop periodic cron job processing.",
            "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
            "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
            "    In case NEVER is provided the last observed peak will never be reset",
            "    In case RESET is provided the peak reset time will be restored to the default value",
            "REPLYBUFFER RESIZING <0|1>",
            "    Enable or disable the reply buffer resize cron job",
            "CLUSTERLINK KILL <to|from|all> <node-id>",
            "    Kills the link based on the direction to/from (both) with the provided node.",
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdb_sizes_match_redis() {
        let o = crate::persist::rdb::encode::Opts { compress: true, packed_threshold: 1 << 30 };
        let len = |b: &[u8]| serialized_len(&crate::storage::Value::from_bytes(b), o);
        assert_eq!(len(b"1"), 2);
        assert_eq!(len(b"123456"), 5);
        assert_eq!(len(b"12345678901"), 12);
        assert_eq!(len(b"hello"), 6);
        assert_eq!(len(&[b'a'; 56]), 12);
    }

    #[test]
    fn c_number_prefixes() {
        assert_eq!(atoi(b"12abc"), 12);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(strtod_prefix(b"0.5s"), 0.5);
        assert_eq!(strtod_prefix(b"abc"), 0.0);
    }
}
