//! The command table as data. Each command's arity, flags, key positions, key
//! specs, ACL categories and argument grammar come from one declaration: the
//! Redis 7.0 command reference kept beside this file (`redis-7.0-commands.json`).
//! A family module contributes only `(name, handler)` pairs; a command is in the
//! table exactly when a handler is registered for it, so commands not built yet
//! are absent rather than stubbed. The table drives arity and unknown-command
//! errors, COMMAND and its subcommands, and later ACL and cluster routing.

use super::Handler;
use serde_json::Value as Json;
use std::collections::HashMap;

/// Command flags as a bit set (names as in Redis's COMMAND reply).
pub mod flag {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 14;
    pub const NO_MULTI: u32 = 1 << 15;
    pub const ALLOW_BUSY: u32 = 1 << 16;
    pub const ASKING: u32 = 1 << 17;
    pub const NO_ASYNC_LOADING: u32 = 1 << 18;
    pub const MOVABLEKEYS: u32 = 1 << 19;
    /// Not a Redis flag: the command runs a script or function (EVAL,
    /// EVALSHA, FCALL and their read-only forms).
    pub const SCRIPT_CALL: u32 = 1 << 31;

    pub fn from_name(n: &str) -> u32 {
        match n {
            "write" => WRITE,
            "readonly" => READONLY,
            "denyoom" => DENYOOM,
            "admin" => ADMIN,
            "pubsub" => PUBSUB,
            "noscript" => NOSCRIPT,
            "blocking" => BLOCKING,
            "loading" => LOADING,
            "stale" => STALE,
            "skip_monitor" => SKIP_MONITOR,
            "skip_slowlog" => SKIP_SLOWLOG,
            "fast" => FAST,
            "no_auth" => NO_AUTH,
            "may_replicate" => MAY_REPLICATE,
            "no_mandatory_keys" => NO_MANDATORY_KEYS,
            "no_multi" => NO_MULTI,
            "allow_busy" => ALLOW_BUSY,
            "asking" => ASKING,
            "no_async_loading" => NO_ASYNC_LOADING,
            "movablekeys" => MOVABLEKEYS,
            _ => 0,
        }
    }
}

/// One command (or subcommand) of the table.
pub struct Command {
    /// Lower-case full name: `get`, or `config|get` for a subcommand.
    pub name: String,
    /// Index into the server's per-command statistics.
    pub id: usize,
    pub arity: i32,
    pub flags: u32,
    pub flag_names: Vec<String>,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub acl_categories: Vec<String>,
    /// The reference entry (key specs, argument grammar, docs).
    pub spec: &'static Json,
    pub handler: Option<Handler>,
    /// Subcommands by lower-case name (without the `parent|` prefix).
    pub subcommands: HashMap<String, Command>,
}

impl Command {
    #[inline]
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// The name Redis shows in errors and stats: `config|get`.
    pub fn full_name(&self) -> &str {
        &self.name
    }

    /// Arity check as Redis does: exact when positive, minimum when negative.
    #[inline]
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a > 0 && argc as i32 == a) || (a < 0 && argc as i32 >= -a)
    }

    /// Positions of the key arguments, from first/last/step (and the movable-keys
    /// rules of the commands that have them).
    pub fn key_positions(&self, argc: usize) -> Vec<usize> {
        let mut out = Vec::new();
        if self.first_key <= 0 {
            return out;
        }
        let last = if self.last_key < 0 { argc as i32 + self.last_key } else { self.last_key };
        let step = self.step.max(1);
        let mut i = self.first_key;
        while i <= last && (i as usize) < argc {
            out.push(i as usize);
            i += step;
        }
        out
    }
}

/// The whole table.
pub struct Table {
    pub commands: HashMap<String, Command>,
    /// Full names by statistics id.
    pub names: Vec<String>,
}

static REFERENCE: &str = include_str!("redis-7.0-commands.json");

fn reference() -> &'static Json {
    static DOC: std::sync::OnceLock<Json> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let doc: Json = serde_json::from_str(REFERENCE).expect("embedded command reference is valid JSON");
        doc
    })
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
}

/// Commands Redis 7.0 flags `may-replicate` (held by CLIENT PAUSE WRITE,
/// refused by read-only scripts). Redis's COMMAND output, our reference, does
/// not show that flag, so it is added here, and not to the flag names shown.
const MAY_REPLICATE: &[&str] = &["eval", "evalsha", "fcall", "publish", "spublish", "pfcount"];

fn build(name: &str, spec: &'static Json, handler: Option<Handler>, names: &mut Vec<String>) -> Command {
    let flag_names = strings(&spec["flags"]);
    let mut flags = flag_names.iter().fold(0, |acc, f| acc | flag::from_name(f));
    if MAY_REPLICATE.contains(&name) {
        flags |= flag::MAY_REPLICATE;
    }
    if matches!(name, "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro") {
        flags |= flag::SCRIPT_CALL;
    }
    let id = names.len();
    names.push(name.to_string());
    Command {
        name: name.to_string(),
        id,
        arity: spec["arity"].as_i64().unwrap_or(0) as i32,
        flags,
        flag_names,
        first_key: spec["first_key"].as_i64().unwrap_or(0) as i32,
        last_key: spec["last_key"].as_i64().unwrap_or(0) as i32,
        step: spec["step"].as_i64().unwrap_or(0) as i32,
        acl_categories: strings(&spec["acl_categories"]),
        spec,
        handler,
        subcommands: HashMap::new(),
    }
}

impl Table {
    /// Builds the table from the registered handlers. Panics (at startup, and in
    /// the table's unit test) if a handler names a command the reference lacks.
    pub fn new(handlers: &[(&'static str, Handler)]) -> Table {
        let all = &reference()["commands"];
        let mut commands: HashMap<String, Command> = HashMap::new();
        let mut names = Vec::new();
        let mut subs: Vec<(&str, &str, Handler)> = Vec::new();
        for &(name, h) in handlers {
            if let Some((parent, sub)) = name.split_once('|') {
                subs.push((parent, sub, h));
                continue;
            }
            let spec = all.get(name).unwrap_or_else(|| panic!("command {name} is not in the Redis 7.0 reference"));
            commands.insert(name.to_string(), build(name, spec, Some(h), &mut names));
        }
        for (parent, sub, h) in subs {
            let pspec = all.get(parent).unwrap_or_else(|| panic!("command {parent} is not in the Redis 7.0 reference"));
            let full = format!("{parent}|{sub}");
            let sspec = pspec["subcommands"]
                .as_array()
                .and_then(|a| a.iter().find(|s| s["name"].as_str() == Some(full.as_str())))
                .unwrap_or_else(|| panic!("subcommand {full} is not in the Redis 7.0 reference"));
            if !commands.contains_key(parent) {
                let c = build(parent, pspec, None, &mut names);
                commands.insert(parent.to_string(), c);
            }
            let c = build(&full, sspec, Some(h), &mut names);
            if let Some(p) = commands.get_mut(parent) {
                p.subcommands.insert(sub.to_string(), c);
            }
        }
        Table { commands, names }
    }

    /// Finds a command by its (any-case) name.
    #[inline]
    pub fn lookup(&self, name: &[u8]) -> Option<&Command> {
        let mut buf = [0u8; 32];
        if name.len() > buf.len() {
            return None;
        }
        for (d, s) in buf.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        let lower = std::str::from_utf8(&buf[..name.len()]).ok()?;
        self.commands.get(lower)
    }

    /// Every command and subcommand, for statistics and listings.
    pub fn all(&self) -> impl Iterator<Item = &Command> {
        self.commands.values().flat_map(|c| std::iter::once(c).chain(c.subcommands.values()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table holds exactly the registered commands, each with the arity,
    /// flags, key positions and ACL categories of the Redis 7.0 reference.
    #[test]
    fn table_matches_reference() {
        let t = Table::new(crate::commands::HANDLERS);
        let all = &reference()["commands"];
        let mut seen = 0;
        for &(name, _) in crate::commands::HANDLERS {
            let (cmd, spec) = match name.split_once('|') {
                Some((p, s)) => {
                    let c = &t.commands[p].subcommands[s];
                    let spec = all[p]["subcommands"]
                        .as_array()
                        .and_then(|a| a.iter().find(|x| x["name"] == name))
                        .expect("subcommand in reference");
                    (c, spec)
                }
                None => (&t.commands[name], &all[name]),
            };
            assert_eq!(cmd.arity as i64, spec["arity"].as_i64().unwrap_or(0), "{name}");
            assert_eq!(cmd.first_key as i64, spec["first_key"].as_i64().unwrap_or(0), "{name}");
            assert_eq!(cmd.last_key as i64, spec["last_key"].as_i64().unwrap_or(0), "{name}");
            assert_eq!(cmd.step as i64, spec["step"].as_i64().unwrap_or(0), "{name}");
            assert_eq!(cmd.flag_names, strings(&spec["flags"]), "{name}");
            assert_eq!(cmd.acl_categories, strings(&spec["acl_categories"]), "{name}");
            assert!(cmd.handler.is_some(), "{name}");
            seen += 1;
        }
        assert_eq!(seen, t.all().filter(|c| c.handler.is_some()).count(), "the table holds only registered commands");
        assert!(t.lookup(b"GeT").is_some());
        assert!(t.lookup(b"lpush").is_none() || crate::commands::HANDLERS.iter().any(|(n, _)| *n == "lpush"));
    }
}
