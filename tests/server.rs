//! Server commands (INFO, COMMAND *, TIME, LASTSAVE, SLOWLOG, LATENCY,
//! MONITOR, SHUTDOWN, DEBUG): compared with real Redis command by command where
//! the reply is deterministic (ferrokv has a subset of Redis's commands, so
//! introspection is compared per command it has), checked exactly otherwise.

mod common;
use common::*;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

fn hello3(c: &mut Conn) {
    let r = c.cmd(&["HELLO", "3"]);
    assert!(matches!(r, Resp::Map(_)), "{r:?}");
}

/// Every command and subcommand name ferrokv has.
fn ferrokv_names(c: &mut Conn) -> Vec<String> {
    c.cmd(&["COMMAND", "LIST"]).items().iter().map(Resp::text).collect()
}

fn sort_key(r: &Resp) -> String {
    format!("{r:?}")
}

/// A key spec without its `notes` (prose the reference leaves out).
fn drop_notes(spec: &Resp) -> Resp {
    match spec {
        Resp::Map(m) => Resp::Map(m.iter().filter(|(k, _)| k.text() != "notes").cloned().collect()),
        Resp::Array(Some(v)) => {
            let mut out = Vec::new();
            for p in v.chunks(2) {
                if p[0].text() != "notes" {
                    out.extend(p.iter().cloned());
                }
            }
            Resp::Array(Some(out))
        }
        other => other.clone(),
    }
}

/// A COMMAND INFO entry with its subcommands limited to `known` and sorted
/// (Redis lists them in hash order), and key-spec notes dropped.
fn norm_info(r: &Resp, known: &HashSet<String>) -> Resp {
    let Resp::Array(Some(v)) = r else { return r.clone() };
    let mut v = v.clone();
    if v.len() == 10 {
        v[8] = match &v[8] {
            Resp::Array(Some(specs)) => Resp::Array(Some(specs.iter().map(drop_notes).collect())),
            Resp::Set(specs) => Resp::Set(specs.iter().map(drop_notes).collect()),
            other => other.clone(),
        };
        if let Resp::Array(Some(subs)) = &v[9] {
            let mut subs: Vec<Resp> = subs
                .iter()
                .filter(|s| s.items().first().is_some_and(|n| known.contains(&n.text())))
                .map(|s| norm_info(s, known))
                .collect();
            subs.sort_by_key(sort_key);
            v[9] = Resp::Array(Some(subs));
        }
    }
    Resp::Array(Some(v))
}

/// Docs fields the reference does not carry (prose and history).
const PROSE: [&str; 5] = ["summary", "complexity", "history", "deprecated_since", "replaced_by"];

/// A COMMAND DOCS entry of Redis reduced to what ferrokv's reference holds:
/// prose fields ferrokv lacks dropped, subcommands limited to `known`, sorted.
fn norm_docs(r: &Resp, ours: Option<&Resp>, known: &HashSet<String>) -> Resp {
    let Resp::Map(m) = r else { return r.clone() };
    let our_keys: HashSet<String> = match ours {
        Some(Resp::Map(o)) => o.iter().map(|(k, _)| k.text()).collect(),
        _ => HashSet::new(),
    };
    let mut out = Vec::new();
    for (k, v) in m {
        let name = k.text();
        if PROSE.contains(&name.as_str()) && !our_keys.contains(&name) {
            continue;
        }
        if name == "subcommands" {
            let our_subs: BTreeMap<String, Resp> = match ours {
                Some(Resp::Map(o)) => o
                    .iter()
                    .find(|(k, _)| k.text() == "subcommands")
                    .map(|(_, v)| match v {
                        Resp::Map(s) => s.iter().map(|(k, v)| (k.text(), v.clone())).collect(),
                        _ => BTreeMap::new(),
                    })
                    .unwrap_or_default(),
                _ => BTreeMap::new(),
            };
            let Resp::Map(subs) = v else { continue };
            let mut subs: Vec<(Resp, Resp)> = subs
                .iter()
                .filter(|(n, _)| known.contains(&n.text()))
                .map(|(n, d)| (n.clone(), norm_docs(d, our_subs.get(&n.text()), known)))
                .collect();
            subs.sort_by_key(|(n, _)| n.text());
            out.push((k.clone(), Resp::Map(subs)));
            continue;
        }
        out.push((k.clone(), v.clone()));
    }
    Resp::Map(out)
}

fn sort_map(r: &Resp) -> Resp {
    match r {
        Resp::Map(m) => {
            let mut m: Vec<(Resp, Resp)> = m.iter().map(|(k, v)| (k.clone(), sort_map(v))).collect();
            if m.iter().any(|(k, _)| k.text().contains('|')) {
                m.sort_by_key(|(k, _)| k.text());
            }
            Resp::Map(m)
        }
        other => other.clone(),
    }
}

#[test]
fn command_info_matches_redis_per_command() {
    let mut d = Diff::new();
    let names = ferrokv_names(&mut d.f);
    assert!(names.len() > 20, "{names:?}");
    let known: HashSet<String> = names.iter().cloned().collect();
    for proto3 in [false, true] {
        if proto3 {
            hello3(&mut d.f);
            hello3(&mut d.r);
        }
        for n in &names {
            let f = d.f.cmd(&["COMMAND", "INFO", n]);
            let r = d.r.cmd(&["COMMAND", "INFO", n]);
            let (f, r) = (norm_info(&f.items()[0], &known), norm_info(&r.items()[0], &known));
            assert_eq!(f, r, "COMMAND INFO {n} (resp3: {proto3})");
        }
        // Unknown names and malformed full names give nil entries.
        let line = ["COMMAND", "INFO", "nosuch", "get|x", "a|b|c", "client|nosuch", "", "CLIENT|ID"];
        let b: Vec<&[u8]> = line.iter().map(|s| s.as_bytes()).collect();
        d.check_with(&b, |r| {
            Resp::arr(
                r.items()
                    .iter()
                    .map(|e| if matches!(e, Resp::Array(Some(_))) { Resp::int(1) } else { e.clone() })
                    .collect(),
            )
        });
    }
}

#[test]
fn command_docs_match_redis_per_command() {
    let mut d = Diff::new();
    hello3(&mut d.f);
    hello3(&mut d.r);
    let names = ferrokv_names(&mut d.f);
    let known: HashSet<String> = names.iter().cloned().collect();
    for n in &names {
        let f = d.f.cmd(&["COMMAND", "DOCS", n]);
        let r = d.r.cmd(&["COMMAND", "DOCS", n]);
        let (Resp::Map(fm), Resp::Map(rm)) = (&f, &r) else { panic!("COMMAND DOCS {n}: {f:?} / {r:?}") };
        assert_eq!(fm.len(), 1, "{n}");
        assert_eq!(fm[0].0, rm[0].0);
        let ours = sort_map(&fm[0].1);
        let theirs = sort_map(&norm_docs(&rm[0].1, Some(&fm[0].1), &known));
        assert_eq!(ours, theirs, "COMMAND DOCS {n}");
    }
    d.check_script("COMMAND DOCS nosuch\nCOMMAND DOCS nosuch a|b|c");
    // RESP2 shape of one entry: a flat array.
    let mut c = d.ferrokv.conn();
    let r = c.cmd(&["COMMAND", "DOCS", "get", "nosuch"]);
    let v = r.items();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0], Resp::bulk("get"));
    assert!(matches!(&v[1], Resp::Array(Some(_))));
}

#[test]
fn command_all_count_and_list() {
    let s = Server::ferrokv();
    let mut c = s.conn();
    let all = c.cmd(&["COMMAND"]).items();
    let count = c.cmd(&["COMMAND", "COUNT"]).as_int();
    assert_eq!(all.len() as i64, count);
    let names = ferrokv_names(&mut c);
    let top: HashSet<String> = names.iter().filter(|n| !n.contains('|')).cloned().collect();
    assert_eq!(top.len() as i64, count);
    for e in &all {
        let v = e.items();
        assert_eq!(v.len(), 10, "{e:?}");
        assert!(top.contains(&v[0].text()));
    }
    assert_eq!(c.cmd(&["COMMAND", "INFO"]).items().len() as i64, count);
    assert!(names.contains(&"client|list".to_string()));
    assert!(names.contains(&"command|getkeys".to_string()));
}

#[test]
fn command_list_filters_match_redis() {
    let mut d = Diff::new();
    let names = ferrokv_names(&mut d.f);
    let known: HashSet<String> = names.iter().cloned().collect();
    for filter in [
        vec!["FILTERBY", "ACLCAT", "connection"],
        vec!["FILTERBY", "aclcat", "READ"],
        vec!["FILTERBY", "ACLCAT", "nosuchcat"],
        vec!["FILTERBY", "PATTERN", "c*"],
        vec!["FILTERBY", "PATTERN", "CLIENT|*"],
        vec!["FILTERBY", "PATTERN", "*et"],
        vec!["FILTERBY", "MODULE", "x"],
    ] {
        let mut args = vec!["COMMAND", "LIST"];
        args.extend(filter.iter().copied());
        let f: HashSet<String> = d.f.cmd(&args).items().iter().map(Resp::text).collect();
        let r: HashSet<String> = d.r.cmd(&args).items().iter().map(Resp::text).collect();
        let expect: HashSet<String> = r.intersection(&known).cloned().collect();
        assert_eq!(f, expect, "{args:?}");
    }
    d.check_script(
        "COMMAND LIST x\nCOMMAND LIST FILTERBY\nCOMMAND LIST FILTERBY foo bar\nCOMMAND LIST FILTERBY ACLCAT\n\
         COMMAND LIST FILTERBY ACLCAT a b\nCOMMAND COUNT x",
    );
}

#[test]
fn command_getkeys_matches_redis() {
    let mut d = Diff::new();
    let names = ferrokv_names(&mut d.f);
    let known: HashSet<String> = names.iter().cloned().collect();
    // Errors that do not depend on which commands exist.
    d.check_script(
        "COMMAND GETKEYS\nCOMMAND GETKEYS get\nCOMMAND GETKEYS nosuch a b\nCOMMAND GETKEYS ping x\n\
         COMMAND GETKEYS get a b\nCOMMAND GETKEYS set a\nCOMMAND GETKEYS client list\nCOMMAND GETKEYSANDFLAGS get\n\
         COMMAND GETKEYS command info\nCOMMAND GETKEYS client nosuch x",
    );
    let lines = [
        "GET a",
        "SET a b",
        "SET a b GET",
        "SET a b EX 10 get",
        "DEL a b c",
        "EXISTS a",
        "MSET a 1 b 2",
        "MSET a 1 b",
        "MGET a b c",
        "RENAME a b",
        "COPY a b DB 1",
        "EXPIRE k 10",
        "OBJECT ENCODING k",
        "OBJECT FREQ k",
        "BITFIELD k GET u8 0",
        "BITFIELD k SET u8 0 1",
        "BITFIELD k OVERFLOW SAT GET u8 0",
        "BITFIELD_RO k GET u8 0",
        "BITOP AND d a b c",
        "BITCOUNT k",
        "SETRANGE k 0 v",
        "LCS a b",
        "EVAL s 2 a b c",
        "EVAL s 0",
        "EVAL s 5 a",
        "EVAL s x a",
        "ZUNIONSTORE d 2 a b",
        "ZUNIONSTORE d 3 a b",
        "ZUNION 2 a b WEIGHTS 1 2",
        "SORT k",
        "SORT k BY w GET g STORE d",
        "SORT k STORE d1 STORE d2 LIMIT 0 1",
        "SORT_RO k BY x",
        "MIGRATE h p k 0 0",
        "MIGRATE h p \"\" 0 0 KEYS a b",
        "MIGRATE h p \"\" 0 0 AUTH pw KEYS a b",
        "MIGRATE h p k 0 0 KEYS a b",
        "XREAD STREAMS a b 0 0",
        "XREAD COUNT 1 STREAMS a 0",
        "XREAD STREAMS a b 0",
        "GEORADIUS k 0 0 1 m STORE d",
        "GEORADIUS k 0 0 1 m",
        "LMPOP 2 a b LEFT",
        "BLMOVE a b LEFT RIGHT 0",
        "MEMORY USAGE k",
        "SINTERCARD 2 a b",
        "XGROUP CREATE s g $",
        "XINFO STREAM s",
        "PFCOUNT a b",
        "WATCH a b",
        "GETEX k PERSIST",
        "RPOPLPUSH a b",
        "SMOVE a b m",
        "ZRANGESTORE d s 0 1",
    ];
    for line in lines {
        let args = split(line);
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let sub = args.get(1).map(|s| format!("{name}|{}", String::from_utf8_lossy(s).to_ascii_lowercase()));
        let has = known.contains(&name) || sub.as_ref().is_some_and(|s| known.contains(s));
        for verb in ["GETKEYS", "GETKEYSANDFLAGS"] {
            let mut full: Vec<&[u8]> = vec![b"COMMAND", verb.as_bytes()];
            full.extend(args.iter().map(|a| a.as_slice()));
            if has {
                d.check_b(&full);
            } else {
                let r = d.f.cmd_b(&full);
                assert_eq!(r, Resp::err("ERR Invalid command specified"), "{line}");
            }
        }
    }
}

#[test]
fn command_help_and_errors() {
    let mut d = Diff::new();
    d.check_script("COMMAND HELP\nCOMMAND HELP x\nCOMMAND FOO\ncommand help\nCOMMAND GETKEYSANDFLAGS set a b get");
    hello3(&mut d.f);
    hello3(&mut d.r);
    d.check_script("COMMAND HELP\nCOMMAND GETKEYSANDFLAGS set a b\nCOMMAND GETKEYSANDFLAGS get k");
}

/// INFO text as sections of (field, value) pairs.
fn parse_info(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.split("\r\n") {
        if let Some(h) = line.strip_prefix("# ") {
            out.push((h.to_string(), Vec::new()));
        } else if let Some((k, v)) = line.split_once(':') {
            let last = out.last_mut().unwrap_or_else(|| panic!("field before any section: {line}"));
            last.1.push((k.to_string(), v.to_string()));
        } else {
            assert!(line.is_empty(), "bad INFO line {line:?}");
        }
    }
    out
}

fn info_field(c: &mut Conn, section: &str, name: &str) -> String {
    let t = c.cmd(&["INFO", section]).text();
    parse_info(&t)
        .into_iter()
        .flat_map(|(_, f)| f)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {name} in INFO {section}"))
}

#[test]
fn info_sections_and_field_names_match_redis() {
    let s = Server::ferrokv();
    let r = Server::redis();
    let mut c = s.conn();
    let mut rc = r.conn();
    for args in [
        vec!["INFO"],
        vec!["INFO", "default"],
        vec!["INFO", "all"],
        vec!["INFO", "everything"],
        vec!["INFO", "server", "clients"],
        vec!["INFO", "CLIENTS", "server"],
        vec!["INFO", "commandstats"],
        vec!["INFO", "foo"],
        vec!["INFO", "foo", "cpu"],
        vec!["INFO", "modules"],
        vec!["INFO", "default", "commandstats"],
        vec!["INFO", "keyspace", "errorstats", "latencystats"],
    ] {
        let ft = c.cmd(&args).text();
        let rt = rc.cmd(&args).text();
        let f = parse_info(&ft);
        let r = parse_info(&rt);
        let fh: Vec<&String> = f.iter().map(|(h, _)| h).collect();
        let rh: Vec<&String> = r.iter().map(|(h, _)| h).collect();
        assert_eq!(fh, rh, "sections of {args:?}");
        for ((h, ff), (_, rf)) in f.iter().zip(r.iter()) {
            if ["Commandstats", "Errorstats", "Latencystats", "Keyspace"].contains(&h.as_str()) {
                continue;
            }
            let fk: Vec<&String> = ff.iter().map(|(k, _)| k).collect();
            let rk: Vec<&String> = rf.iter().map(|(k, _)| k).collect();
            assert_eq!(fk, rk, "fields of section {h}");
        }
        assert_eq!(ft.is_empty(), rt.is_empty());
        if !ft.is_empty() {
            assert!(ft.ends_with("\r\n") && !ft.ends_with("\r\n\r\n"), "{ft:?}");
        }
    }
}

#[test]
fn info_values() {
    let s = Server::ferrokv();
    let mut c = s.conn();
    let mut c2 = s.conn();
    c2.cmd(&["PING"]);
    // The harness's startup probe may still be closing: wait for it to go.
    for _ in 0..100 {
        if info_field(&mut c, "clients", "connected_clients") == "2" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let t = c.cmd(&["INFO"]).text();
    let info = parse_info(&t);
    let get = |name: &str| -> String {
        info.iter().flat_map(|(_, f)| f.iter()).find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap()
    };
    assert_eq!(get("redis_version"), "7.0.15");
    assert_eq!(get("redis_mode"), "standalone");
    assert_eq!(get("arch_bits"), "64");
    assert_eq!(get("tcp_port"), s.port.to_string());
    assert_eq!(get("process_id"), s.child.id().to_string());
    assert_eq!(get("run_id").len(), 40);
    assert_eq!(get("master_replid").len(), 40);
    assert_eq!(get("role"), "master");
    assert_eq!(get("connected_clients"), "2");
    assert_eq!(get("loading"), "0");
    assert_eq!(get("aof_enabled"), "0");
    assert_eq!(get("cluster_enabled"), "0");
    for f in [
        "uptime_in_seconds",
        "uptime_in_days",
        "hz",
        "configured_hz",
        "lru_clock",
        "used_memory",
        "used_memory_rss",
        "used_memory_peak",
        "total_system_memory",
        "maxmemory",
        "rdb_changes_since_last_save",
        "rdb_last_save_time",
        "total_connections_received",
        "total_commands_processed",
        "instantaneous_ops_per_sec",
        "expired_keys",
        "keyspace_hits",
        "keyspace_misses",
        "total_error_replies",
        "master_repl_offset",
    ] {
        get(f).parse::<u64>().unwrap_or_else(|_| panic!("{f} is not a number: {}", get(f)));
    }
    for f in ["used_cpu_sys", "used_cpu_user", "expired_stale_perc", "mem_fragmentation_ratio"] {
        get(f).parse::<f64>().unwrap_or_else(|_| panic!("{f} is not a float: {}", get(f)));
    }
    assert!(get("used_memory_human").ends_with(['B', 'K', 'M', 'G']));
    assert!(get("used_memory") != "0");

    // Counters follow the traffic.
    let before: u64 = info_field(&mut c, "stats", "total_commands_processed").parse().unwrap();
    let dirty0: u64 = info_field(&mut c, "persistence", "rdb_changes_since_last_save").parse().unwrap();
    c2.cmd(&["SET", "a", "1"]);
    c2.cmd(&["SET", "b", "2", "PX", "100000"]);
    c2.cmd(&["GET", "a"]);
    c2.cmd(&["GET", "nokey"]);
    c2.cmd(&["NOSUCHCMD"]);
    c2.cmd(&["GET"]);
    c2.cmd(&["SELECT", "3"]);
    c2.cmd(&["SET", "c", "3"]);
    let after: u64 = info_field(&mut c, "stats", "total_commands_processed").parse().unwrap();
    assert!(after >= before + 8, "{before} -> {after}");
    let dirty1: u64 = info_field(&mut c, "persistence", "rdb_changes_since_last_save").parse().unwrap();
    assert!(dirty1 >= dirty0 + 3);
    let ks = c.cmd(&["INFO", "keyspace"]).text();
    assert!(ks.starts_with("# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl="), "{ks}");
    assert!(ks.ends_with("\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n"), "{ks}");
    assert_eq!(info_field(&mut c, "stats", "keyspace_hits"), "1");
    assert_eq!(info_field(&mut c, "stats", "keyspace_misses"), "1");
    let errs = c.cmd(&["INFO", "errorstats"]).text();
    assert_eq!(errs, "# Errorstats\r\nerrorstat_ERR:count=2\r\n");
    let cs = c.cmd(&["INFO", "commandstats"]).text();
    let get_line = cs.lines().find(|l| l.starts_with("cmdstat_get:")).expect("cmdstat_get");
    assert!(get_line.starts_with("cmdstat_get:calls=2,usec="), "{get_line}");
    assert!(get_line.ends_with(",rejected_calls=1,failed_calls=0"), "{get_line}");
    let per = get_line.split("usec_per_call=").nth(1).unwrap().split(',').next().unwrap();
    assert!(per.contains('.') && per.split('.').nth(1).unwrap().len() == 2, "{per}");
    assert!(cs.contains("cmdstat_info:calls="));
    assert_eq!(info_field(&mut c, "clients", "connected_clients"), "2");
    drop(c2);
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_field(&mut c, "clients", "connected_clients") != "1" {
        assert!(Instant::now() < deadline, "closed client still counted");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn info_is_verbatim_in_resp3() {
    let s = Server::ferrokv();
    let mut c = s.conn();
    hello3(&mut c);
    let r = c.cmd(&["INFO", "server"]);
    let Resp::Verbatim(fmt, body) = r else { panic!("INFO must be verbatim in RESP3: {r:?}") };
    assert_eq!(fmt, "txt");
    assert!(String::from_utf8_lossy(&body).starts_with("# Server\r\nredis_version:7.0.15\r\n"));
}

#[test]
fn time_and_lastsave() {
    let mut d = Diff::new();
    d.check_script("TIME x\nLASTSAVE x");
    let t = d.f.cmd(&["TIME"]).items();
    assert_eq!(t.len(), 2);
    let secs: i64 = t[0].text().parse().unwrap();
    let us: i64 = t[1].text().parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((secs - now).abs() <= 2);
    assert!((0..1_000_000).contains(&us));
    let ls = d.f.cmd(&["LASTSAVE"]).as_int();
    assert!(ls <= now && ls > now - 120);
}

/// SLOWLOG GET with the ids, times, durations and client addresses replaced.
fn norm_slowlog(r: Resp) -> Resp {
    match r {
        Resp::Array(Some(entries)) => Resp::arr(
            entries
                .iter()
                .map(|e| {
                    let mut v = e.items();
                    if v.len() == 6 {
                        v[0] = Resp::int(0);
                        v[1] = Resp::int(0);
                        v[2] = Resp::int(0);
                        v[4] = Resp::bulk("addr");
                    }
                    Resp::arr(v)
                })
                .collect(),
        ),
        other => other,
    }
}

#[test]
fn slowlog_matches_redis() {
    let mut d = Diff::with(&["--slowlog-log-slower-than", "0", "--slowlog-max-len", "5"]);
    d.check_script("SLOWLOG RESET\nSLOWLOG LEN\nCLIENT SETNAME slowpoke\nSET a 1\nGET a");
    let long = "x".repeat(200);
    d.check(&["SET", "big", &long]);
    let many: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
    let mut del: Vec<&str> = vec!["DEL"];
    del.extend(many.iter().map(String::as_str));
    d.check(&del);
    for line in ["SLOWLOG GET", "SLOWLOG GET 2", "SLOWLOG GET -1", "SLOWLOG GET 0"] {
        let args = split(line);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        d.check_with(&refs, norm_slowlog);
    }
    d.check_script(
        "SLOWLOG LEN\nSLOWLOG GET -2\nSLOWLOG GET abc\nSLOWLOG GET 1 2\nSLOWLOG LEN x\nSLOWLOG FOO\nSLOWLOG\n\
         SLOWLOG HELP\nSLOWLOG RESET x\nSLOWLOG RESET\nSLOWLOG LEN",
    );
    let e = d.f.cmd(&["SLOWLOG", "GET", "1"]).items();
    let entry = e[0].items();
    assert!(entry[1].as_int() > 1_600_000_000);
    assert!(entry[4].text().starts_with("127.0.0.1:"));
    assert_eq!(entry[5], Resp::bulk("slowpoke"));
}

#[test]
fn latency_commands_match_redis() {
    let mut d = Diff::new();
    d.check_script(
        "LATENCY LATEST\nLATENCY HISTORY command\nLATENCY HISTORY\nLATENCY RESET\nLATENCY RESET command x\n\
         LATENCY DOCTOR\nLATENCY HELP\nLATENCY FOO\nLATENCY HISTOGRAM nosuchcmd\nLATENCY LATEST x",
    );
    hello3(&mut d.f);
    hello3(&mut d.r);
    d.check_script("LATENCY DOCTOR\nLATENCY HISTOGRAM nosuch\nLATENCY LATEST");
}

#[test]
fn latency_doctor_with_monitor_enabled() {
    let mut d = Diff::with(&["--latency-monitor-threshold", "100"]);
    d.check_script("LATENCY DOCTOR\nLATENCY LATEST");
}

/// LATENCY HISTOGRAM entries: a map of command → {calls, histogram_usec}.
#[test]
fn latency_histogram_shape() {
    let s = Server::ferrokv();
    let mut c = s.conn();
    for _ in 0..3 {
        c.cmd(&["SET", "k", "v"]);
    }
    hello3(&mut c);
    let r = c.cmd(&["LATENCY", "HISTOGRAM", "set", "client"]);
    let Resp::Map(m) = r else { panic!("{r:?}") };
    if m.is_empty() {
        // Per-command histograms are recorded by the dispatcher (Stats::record_call);
        // without that, there is nothing to show.
        return;
    }
    let (name, body) = &m[0];
    assert_eq!(name.text(), "set");
    let Resp::Map(fields) = body else { panic!("{body:?}") };
    assert_eq!(fields[0], (Resp::bulk("calls"), Resp::int(3)));
    assert_eq!(fields[1].0, Resp::bulk("histogram_usec"));
    let Resp::Map(buckets) = &fields[1].1 else { panic!("{:?}", fields[1].1) };
    let counts: Vec<i64> = buckets.iter().map(|(_, v)| v.as_int()).collect();
    assert!(counts.windows(2).all(|w| w[0] < w[1]) && counts.last() == Some(&3), "{counts:?}");
    let bounds: Vec<i64> = buckets.iter().map(|(k, _)| k.as_int()).collect();
    let allowed = [1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454, 16909, 33817];
    assert!(bounds.iter().all(|b| allowed.contains(b) || *b > 33817), "{bounds:?}");
    let t = c.cmd(&["INFO", "latencystats"]).text();
    let line = t.lines().find(|l| l.starts_with("latency_percentiles_usec_set:")).expect("latencystats for set");
    let parts: Vec<&str> = line.split(':').nth(1).unwrap().split(',').collect();
    assert_eq!(parts.len(), 3);
    assert!(parts[0].starts_with("p50=") && parts[1].starts_with("p99=") && parts[2].starts_with("p99.9="));
}

#[test]
fn monitor_streams_commands() {
    let s = Server::ferrokv();
    let mut m = s.conn();
    let mut c = s.conn();
    assert_eq!(m.cmd(&["MONITOR"]), Resp::ok());
    let info = c.cmd(&["CLIENT", "INFO"]).text();
    let addr = info.split(' ').find_map(|f| f.strip_prefix("addr=")).unwrap().to_string();
    c.cmd(&["SET", "k", "with \"quote\"\n"]);
    c.cmd(&["SELECT", "2"]);
    c.cmd(&["GET", "k"]);
    // The first line is CLIENT INFO.
    let l0 = m.read().text();
    assert!(l0.ends_with(&format!("[0 {addr}] \"CLIENT\" \"INFO\"")), "{l0}");
    let l1 = m.read().text();
    let (ts, rest) = l1.split_once(' ').unwrap();
    let (secs, micros) = ts.split_once('.').unwrap();
    assert!(secs.parse::<u64>().unwrap() > 1_600_000_000);
    assert_eq!(micros.len(), 6);
    assert_eq!(rest, format!("[0 {addr}] \"SET\" \"k\" \"with \\\"quote\\\"\\n\""));
    assert!(m.read().text().ends_with("\"SELECT\" \"2\""));
    assert!(m.read().text().ends_with(&format!("[2 {addr}] \"GET\" \"k\"")));
    let list = c.cmd(&["CLIENT", "LIST"]).text();
    assert!(list.lines().any(|l| l.contains(" flags=O ") && l.contains(" cmd=monitor ")), "{list}");
}

#[test]
fn shutdown_errors_and_exit() {
    let mut d = Diff::new();
    d.check_script("SHUTDOWN ABORT\nSHUTDOWN foo\nSHUTDOWN SAVE NOSAVE\nSHUTDOWN ABORT NOW\nSHUTDOWN NOSAVE ABORT");
    let mut s = Server::ferrokv();
    let mut c = s.conn();
    c.send(&[b"SHUTDOWN", b"NOSAVE", b"NOW"]);
    assert!(c.is_closed());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(Some(_)) = s.child.try_wait() {
            break;
        }
        assert!(Instant::now() < deadline, "ferrokv did not exit after SHUTDOWN");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn debug_is_refused_by_default() {
    let mut d = Diff::new();
    d.check_script("DEBUG SLEEP 0\nDEBUG HELP\nDEBUG\nDEBUG foo");
}

/// DEBUG OBJECT without the address and LRU fields.
fn norm_debug_object(r: Resp) -> Resp {
    match r {
        Resp::Simple(s) => Resp::Simple(
            s.split(' ')
                .filter(|f| !f.starts_with("at:") && !f.starts_with("lru") && *f != "Value")
                .collect::<Vec<_>>()
                .join(" "),
        ),
        other => other,
    }
}

#[test]
fn debug_subcommands_match_redis() {
    let mut d = Diff::with(&["--enable-debug-command", "yes"]);
    d.check_script(
        "DEBUG HELP\nDEBUG foo\nDEBUG sleep\nDEBUG SLEEP 0\nDEBUG SLEEP abc\nDEBUG SET-ACTIVE-EXPIRE 0\n\
         DEBUG SET-ACTIVE-EXPIRE 1\nDEBUG QUICKLIST-PACKED-THRESHOLD 5gb\nDEBUG QUICKLIST-PACKED-THRESHOLD abc\n\
         DEBUG QUICKLIST-PACKED-THRESHOLD 100\nDEBUG QUICKLIST-PACKED-THRESHOLD 0\nDEBUG OBJECT nokey\nDEBUG OBJECT\n\
         DEBUG CHANGE-REPL-ID x\nDEBUG PROTOCOL nosuch\nDEBUG ERROR \"MYERR custom failure\"",
    );
    for p in [false, true] {
        if p {
            hello3(&mut d.f);
            hello3(&mut d.r);
        }
        for t in ["string", "integer", "double", "bignum", "null", "array", "set", "map", "true", "false", "verbatim"] {
            d.check(&["DEBUG", "PROTOCOL", t]);
        }
        if !p {
            d.check(&["DEBUG", "PROTOCOL", "push"]);
            d.check(&["DEBUG", "PROTOCOL", "attrib"]);
        }
    }
    // Sizes of strings as RDB would store them, including LZF compression.
    let mut d = Diff::with(&["--enable-debug-command", "yes"]);
    let pattern: String = (0..300).map(|i| char::from(b'a' + ((i * 7 + i / 13) % 26) as u8)).collect();
    let values = [
        "1".to_string(),
        "9999".into(),
        "10000".into(),
        "-5".into(),
        "123456".into(),
        "12345678901".into(),
        "hello".into(),
        "a".repeat(56),
        "ab".repeat(40),
        "abcdefghij".repeat(30),
        pattern,
        "x".repeat(10000),
        "0123456789".repeat(3),
    ];
    for (i, v) in values.iter().enumerate() {
        let k = format!("k{i}");
        d.check(&["SET", &k, v]);
        let b: Vec<&[u8]> = vec![b"DEBUG", b"OBJECT", k.as_bytes()];
        d.check_with(&b, norm_debug_object);
    }
    // Collections: the RDB size of every encoding, and a list's quicklist
    // fields (nodes, average fill, fill, compression, listpack bytes).
    let long = "v".repeat(80);
    let script = format!(
        "RPUSH l1 a b c\nRPUSH l2 1 -5 300 70000 5000000000 x {long}\nHSET h1 f v n 12\nSADD s1 1 2 300\n\
         SADD s2 a b c\nZADD z1 1 a 2.5 b\nCONFIG SET list-max-listpack-size 2\nCONFIG SET list-compress-depth 1\n\
         RPUSH l3 {long} {long} 1 2 3 4 5 6 7 8\nLPUSH l4 x\nCONFIG SET list-max-listpack-size -1\n\
         RPUSH l5 {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long} {long}"
    );
    d.check_script(&script);
    for k in ["l1", "l2", "h1", "s1", "s2", "z1", "l3", "l4", "l5"] {
        let b: Vec<&[u8]> = vec![b"DEBUG", b"OBJECT", k.as_bytes()];
        d.check_with(&b, norm_debug_object);
    }
}

#[test]
fn debug_change_repl_id_and_sleep() {
    let s = Server::ferrokv_with(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let before = info_field(&mut c, "replication", "master_replid");
    assert_eq!(c.cmd(&["DEBUG", "CHANGE-REPL-ID"]), Resp::ok());
    let after = info_field(&mut c, "replication", "master_replid");
    assert_ne!(before, after);
    assert_eq!(after.len(), 40);
    let t = Instant::now();
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "0.2"]), Resp::ok());
    assert!(t.elapsed() >= Duration::from_millis(190));
    c.cmd(&["SET", "k", "v"]);
    let r = c.cmd(&["DEBUG", "OBJECT", "k"]).text();
    assert!(r.starts_with("Value at:0x") && r.contains(" refcount:1 encoding:embstr serializedlength:2 lru:"), "{r}");
    assert!(r.ends_with(" lru_seconds_idle:0"), "{r}");
}

#[test]
fn debug_local_allows_loopback() {
    let s = Server::ferrokv_with(&["--enable-debug-command", "local"]);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "0"]), Resp::ok());
}
