//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP, with Redis 7.0's replies and
//! error texts. CONFIG SET is atomic: every pair is checked and applied to a
//! copy, which replaces the live configuration only when all succeeded.

use super::{Ctx, Handler};
use crate::config::registry::{self, IMMUTABLE, PROTECTED};
use bytes::Bytes;
use std::collections::HashSet;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("config|get", config_get),
    ("config|set", config_set),
    ("config|resetstat", config_resetstat),
    ("config|rewrite", config_rewrite),
    ("config|help", config_help),
];

fn text(a: &[u8]) -> String {
    String::from_utf8_lossy(a).into_owned()
}

fn config_get(ctx: &mut Ctx, args: &[Bytes]) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for pat in &args[2..] {
        let p = text(pat);
        if !p.contains(['[', '*', '?']) {
            if seen.contains(&p.to_ascii_lowercase()) {
                continue;
            }
            if let Some(d) = registry::lookup(&p) {
                seen.insert(p.to_ascii_lowercase());
                out.push((p, d.name));
            }
            continue;
        }
        for d in registry::DIRECTIVES.iter().filter(|d| !d.is(registry::HIDDEN)) {
            if seen.contains(d.name) {
                continue;
            }
            if crate::storage::glob::glob_match(pat, d.name.as_bytes(), true) {
                seen.insert(d.name.to_string());
                out.push((d.name.to_string(), d.name));
            }
        }
    }
    ctx.out.map_len(out.len());
    for (key, name) in out {
        ctx.out.bulk(key.as_bytes());
        let v = ctx.srv.config.get(name).unwrap_or("");
        ctx.out.bulk(v.as_bytes());
    }
}

/// True for a client on the loopback interface or the unix socket.
fn is_local(ctx: &Ctx) -> bool {
    if ctx.client.unix_socket {
        return true;
    }
    let ip = match ctx.client.addr.rsplit_once(':') {
        Some((ip, _)) => ip,
        None => ctx.client.addr.as_str(),
    };
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    ip == "127.0.0.1" || ip == "::1"
}

fn config_set(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() % 2 == 1 {
        ctx.syntax();
        return;
    }
    let protected_ok = match ctx.srv.config.get("enable-protected-configs") {
        Some("yes") => true,
        Some("local") => is_local(ctx),
        _ => false,
    };
    let mut pairs: Vec<(&'static registry::Directive, String)> = Vec::new();
    let mut unknown: Option<String> = None;
    let mut failure: Option<(String, &str)> = None;
    for pair in args[2..].chunks(2) {
        let name = text(&pair[0]);
        let Some(d) = registry::lookup(&name) else {
            if unknown.is_none() && failure.is_none() {
                unknown = Some(name);
            }
            continue;
        };
        if unknown.is_some() || failure.is_some() {
            continue;
        }
        if d.is(IMMUTABLE) {
            failure = Some((name, "can't set immutable config"));
            continue;
        }
        if d.is(PROTECTED) && !protected_ok {
            failure = Some((name, "can't set protected config"));
            continue;
        }
        if pairs.iter().any(|(p, _)| std::ptr::eq(*p, d)) {
            failure = Some((name, "duplicate parameter"));
            continue;
        }
        pairs.push((d, text(&pair[1])));
    }
    if let Some(name) = unknown {
        ctx.err(&format!("ERR Unknown option or number of arguments for CONFIG SET - '{name}'"));
        return;
    }
    if let Some((name, why)) = failure {
        ctx.err(&format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"));
        return;
    }
    let old_dir = std::env::current_dir().ok();
    let mut next = ctx.srv.config.clone();
    for (d, value) in &pairs {
        if let Err(why) = next.set_value(d, value) {
            if let Some(dir) = &old_dir {
                let _ = std::env::set_current_dir(dir);
            }
            ctx.err(&format!("ERR CONFIG SET failed (possibly related to argument '{}') - {why}", d.name));
            return;
        }
    }
    // Side effects outside the configuration itself.
    let (old_port, old_bind) = (ctx.srv.config.port, ctx.srv.config.bind.clone());
    if next.port != old_port || next.bind != old_bind {
        if let Err(why) = crate::startup::rebind(next.port, &next.bind, old_port, &old_bind) {
            if let Some(dir) = &old_dir {
                let _ = std::env::set_current_dir(dir);
            }
            let name = if next.port != old_port { "port" } else { "bind" };
            crate::log::warning(&format!(
                "Failed applying new configuration. Possibly related to new {name} setting. Restoring previous settings."
            ));
            ctx.err(&format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"));
            return;
        }
    }
    if let Some(l) = crate::log::parse_level(&next.loglevel) {
        crate::log::set_level(l);
    }
    let maxmemory_set = pairs.iter().any(|(d, _)| d.name == "maxmemory") && next.maxmemory != 0;
    let appendonly = (next.get("appendonly") == Some("yes"), ctx.srv.config.get("appendonly") == Some("yes"));
    ctx.srv.config = next;
    // The databases record expiries and creations only while they are notified.
    crate::server::notify::sync(ctx.srv);
    crate::server::evict::sync(ctx.srv);
    match appendonly {
        (true, false) if crate::persist::aof::start(ctx.srv).is_err() => {
            ctx.srv.config.set_internal("appendonly", "no");
            ctx.err("ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs.");
            return;
        }
        (false, true) => crate::persist::aof::stop(ctx.srv),
        _ => {}
    }
    if maxmemory_set {
        // Redis's updateMaxmemory: warn when already over, and evict now.
        let used = crate::server::evict::counted_memory();
        let max = ctx.srv.config.maxmemory;
        if max < used as u64 {
            crate::log::warning(&format!("WARNING: the new maxmemory value set via CONFIG SET ({max}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy."));
        }
        crate::server::evict::perform(ctx.srv, ctx.client, ctx.out);
        if ctx.srv.evict.running {
            ctx.sh.evict_wake.notify_one();
        }
    }
    ctx.out.ok();
}

fn config_resetstat(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.srv.stats.reset();
    ctx.srv.evict.reset_stats();
    crate::storage::lazyfree::reset_stats();
    ctx.out.ok();
}

fn config_rewrite(ctx: &mut Ctx, _args: &[Bytes]) {
    let Some(path) = ctx.sh.config_file.clone() else {
        ctx.err("ERR The server is running without a config file");
        return;
    };
    match crate::config::rewrite::rewrite(&ctx.srv.config, &path) {
        Ok(()) => {
            crate::log::warning("CONFIG REWRITE executed with success.");
            ctx.out.ok();
        }
        Err(e) => {
            let why = crate::config::strerror(&e);
            crate::log::warning(&format!("CONFIG REWRITE failed: {why}"));
            ctx.err(&format!("ERR Rewriting config file: {why}"));
        }
    }
}

fn config_help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::reply_help(
        ctx,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
}
