//! Connection commands: PING, ECHO, QUIT, RESET, AUTH, HELLO and the CLIENT
//! family (ID, INFO, LIST, KILL, SETNAME/GETNAME, PAUSE/UNPAUSE, REPLY,
//! NO-EVICT, TRACKING, CACHING, GETREDIR, TRACKINGINFO, HELP), with Redis 7.0's
//! replies and errors. What tracking does is in `server::tracking`.
//! SELECT lives with the keyspace commands.

use super::{err, reply_help, Ctx, Handler};
use crate::server::client::{Client, ClientType, ReplyMode};
use crate::server::PauseKind;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("ping", ping),
    ("echo", echo),
    ("quit", quit),
    ("reset", reset),
    ("auth", auth),
    ("hello", hello),
    ("client|id", client_id),
    ("client|info", client_info),
    ("client|list", client_list),
    ("client|kill", client_kill),
    ("client|setname", client_setname),
    ("client|getname", client_getname),
    ("client|pause", client_pause),
    ("client|unpause", client_unpause),
    ("client|reply", client_reply),
    ("client|no-evict", client_no_evict),
    ("client|tracking", client_tracking),
    ("client|caching", client_caching),
    ("client|getredir", client_getredir),
    ("client|trackinginfo", client_trackinginfo),
    ("client|help", client_help),
];

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// `ERR unknown subcommand or wrong number of arguments for 'x'. Try CMD HELP.`
pub fn subcommand_syntax_error(ctx: &mut Ctx, args: &[Bytes]) {
    let sub: String = String::from_utf8_lossy(args.get(1).map(|b| &b[..]).unwrap_or(b"")).chars().take(128).collect();
    let cmd = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    ctx.err(&format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {cmd} HELP."));
}

fn ping(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 2 {
        ctx.err("ERR wrong number of arguments for 'ping' command");
        return;
    }
    if ctx.client.in_pubsub() && ctx.out.resp == 2 {
        ctx.out.array_len(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).map(|b| &b[..]).unwrap_or(b""));
    } else if args.len() == 2 {
        ctx.out.bulk(&args[1]);
    } else {
        ctx.out.status("PONG");
    }
}

fn echo(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.out.bulk(&args[1]);
}

fn quit(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
}

/// Checks a username/password pair against the only user, `default`, whose
/// password is `requirepass` (no password: any password is accepted).
fn credentials_ok(ctx: &Ctx, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match &ctx.srv.config.requirepass {
        None => true,
        Some(p) => p.as_slice() == pass,
    }
}

fn authenticate(ctx: &mut Ctx) {
    ctx.client.authenticated = true;
    ctx.client.user = "default".into();
}

fn auth(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 {
        ctx.syntax();
        return;
    }
    let (user, pass): (&[u8], &[u8]) = if args.len() == 2 {
        if ctx.srv.config.requirepass.is_none() {
            ctx.err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            return;
        }
        (b"default", &args[1])
    } else {
        (&args[1], &args[2])
    };
    if credentials_ok(ctx, user, pass) {
        authenticate(ctx);
        ctx.out.ok();
    } else {
        ctx.err(WRONGPASS);
    }
}

fn hello(ctx: &mut Ctx, args: &[Bytes]) {
    let mut ver = 0;
    let mut next = 1;
    if args.len() >= 2 {
        next = 2;
        match crate::util::parse_i64(&args[1]) {
            None => {
                ctx.err("ERR Protocol version is not an integer or out of range");
                return;
            }
            Some(v) if !(2..=3).contains(&v) => {
                ctx.err("NOPROTO unsupported protocol version");
                return;
            }
            Some(v) => ver = v as u8,
        }
    }
    let mut creds: Option<(&[u8], &[u8])> = None;
    let mut name: Option<&Bytes> = None;
    let mut j = next;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = &args[j];
        if opt.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            creds = Some((&args[j + 1], &args[j + 2]));
            j += 3;
        } else if opt.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            name = Some(&args[j + 1]);
            j += 2;
        } else {
            ctx.err(&format!("ERR Syntax error in HELLO option '{}'", String::from_utf8_lossy(opt)));
            return;
        }
    }
    if let Some((u, p)) = creds {
        if !credentials_ok(ctx, u, p) {
            ctx.err(WRONGPASS);
            return;
        }
        authenticate(ctx);
    }
    if !ctx.client.authenticated {
        ctx.err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        return;
    }
    if let Some(n) = name {
        if !set_name(ctx, n) {
            return;
        }
    }
    if ver != 0 {
        ctx.client.resp = ver;
        ctx.out.resp = ver;
    }
    ctx.out.map_len(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(crate::startup::VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.int(ctx.out.resp as i64);
    ctx.out.bulk(b"id");
    ctx.out.int(ctx.client.id as i64);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(b"standalone");
    ctx.out.bulk(b"role");
    ctx.out.bulk(b"master");
    ctx.out.bulk(b"modules");
    ctx.out.array_len(0);
}

fn reset(ctx: &mut Ctx, _args: &[Bytes]) {
    let c = &mut *ctx.client;
    if c.monitor {
        c.monitor = false;
        c.monitor_tx = None;
        let id = c.id;
        ctx.srv.monitors.retain(|(mid, _)| *mid != id);
    }
    ctx.srv.pubsub.remove_client(c.id);
    c.sub_channels = 0;
    c.sub_patterns = 0;
    c.sub_shard = 0;
    c.db = 0;
    c.resp = 2;
    c.name = None;
    crate::commands::transactions::discard(ctx.srv, c);
    c.reply_mode = ReplyMode::On;
    crate::server::tracking::disable(ctx.srv, c);
    c.user = "default".into();
    c.authenticated = ctx.srv.config.requirepass.is_none();
    ctx.out.resp = 2;
    ctx.out.status("RESET");
}

fn client_id(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.out.int(ctx.client.id as i64);
}

fn client_info(ctx: &mut Ctx, _args: &[Bytes]) {
    let mut s = ctx.client.info_line(ctx.now);
    s.push('\n');
    ctx.out.verbatim(s.as_bytes());
}

/// Every connected client, the running one included, in connection order.
fn all_clients<'c>(srv: &'c crate::server::Server, me: &'c Client) -> Vec<&'c Client> {
    let mut v: Vec<&Client> = srv.clients.values().map(|b| &**b).collect();
    v.push(me);
    v.sort_by_key(|c| c.id);
    v
}

fn client_list(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let mut text = String::new();
    if args.len() == 4 && args[2].eq_ignore_ascii_case(b"TYPE") {
        let Some(t) = ClientType::from_name(&args[3]) else {
            ctx.err(&format!("ERR Unknown client type '{}'", String::from_utf8_lossy(&args[3])));
            return;
        };
        for c in all_clients(ctx.srv, ctx.client) {
            if c.client_type() == t {
                text.push_str(&c.info_line(now));
                text.push('\n');
            }
        }
    } else if args.len() > 3 && args[2].eq_ignore_ascii_case(b"ID") {
        let mut ids = Vec::new();
        for a in &args[3..] {
            match crate::util::parse_i64(a) {
                Some(id) => ids.push(id),
                None => {
                    ctx.err("ERR Invalid client ID");
                    return;
                }
            }
        }
        for id in ids {
            let c = if id >= 0 && id as u64 == ctx.client.id {
                Some(&*ctx.client)
            } else if id >= 0 {
                ctx.srv.clients.get(&(id as u64)).map(|b| &**b)
            } else {
                None
            };
            if let Some(c) = c {
                text.push_str(&c.info_line(now));
                text.push('\n');
            }
        }
    } else if args.len() != 2 {
        ctx.syntax();
        return;
    } else {
        for c in all_clients(ctx.srv, ctx.client) {
            text.push_str(&c.info_line(now));
            text.push('\n');
        }
    }
    ctx.out.verbatim(text.as_bytes());
}

/// What CLIENT KILL matches on.
#[derive(Default)]
struct KillFilter<'a> {
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    ctype: Option<ClientType>,
    id: u64,
    user: Option<&'a [u8]>,
    skipme: bool,
}

impl KillFilter<'_> {
    fn matches(&self, c: &Client) -> bool {
        self.addr.is_none_or(|a| a == c.addr.as_bytes())
            && self.laddr.is_none_or(|a| a == c.laddr.as_bytes())
            && self.ctype.is_none_or(|t| t == c.client_type())
            && (self.id == 0 || self.id == c.id)
            && self.user.is_none_or(|u| u == c.user.as_bytes())
    }
}

fn client_kill(ctx: &mut Ctx, args: &[Bytes]) {
    let old_form = args.len() == 3;
    let mut f = KillFilter { skipme: true, ..Default::default() };
    if old_form {
        f.addr = Some(&args[2]);
        f.skipme = false;
    } else {
        let mut i = 2;
        while i < args.len() {
            let opt = &args[i];
            let Some(val) = args.get(i + 1) else {
                ctx.syntax();
                return;
            };
            if opt.eq_ignore_ascii_case(b"ID") {
                match crate::util::parse_i64(val) {
                    Some(v) if v >= 1 => f.id = v as u64,
                    _ => {
                        ctx.err("ERR client-id should be greater than 0");
                        return;
                    }
                }
            } else if opt.eq_ignore_ascii_case(b"TYPE") {
                match ClientType::from_name(val) {
                    Some(t) => f.ctype = Some(t),
                    None => {
                        ctx.err(&format!("ERR Unknown client type '{}'", String::from_utf8_lossy(val)));
                        return;
                    }
                }
            } else if opt.eq_ignore_ascii_case(b"ADDR") {
                f.addr = Some(val);
            } else if opt.eq_ignore_ascii_case(b"LADDR") {
                f.laddr = Some(val);
            } else if opt.eq_ignore_ascii_case(b"USER") {
                if &val[..] != b"default" {
                    ctx.err(&format!("ERR No such user '{}'", String::from_utf8_lossy(val)));
                    return;
                }
                f.user = Some(val);
            } else if opt.eq_ignore_ascii_case(b"SKIPME") {
                if val.eq_ignore_ascii_case(b"yes") {
                    f.skipme = true;
                } else if val.eq_ignore_ascii_case(b"no") {
                    f.skipme = false;
                } else {
                    ctx.syntax();
                    return;
                }
            } else {
                ctx.syntax();
                return;
            }
            i += 2;
        }
    }
    let victims: Vec<u64> = ctx.srv.clients.values().filter(|c| f.matches(c)).map(|c| c.id).collect();
    let mut killed = victims.len();
    for id in victims {
        kill_client(ctx.srv, id);
    }
    let kill_self = !f.skipme && f.matches(ctx.client);
    if kill_self {
        killed += 1;
    }
    if old_form {
        if killed == 0 {
            ctx.err("ERR No such client");
        } else {
            ctx.out.ok();
        }
    } else {
        ctx.out.int(killed as i64);
    }
    if kill_self {
        ctx.client.close_after_reply = true;
    }
}

/// Disconnects an idle client now: it leaves the registry at once (so it no
/// longer shows in CLIENT LIST) and its connection task is told to close.
pub fn kill_client(srv: &mut crate::server::Server, id: u64) {
    if let Some(c) = srv.clients.remove(&id) {
        c.signal.kill();
    }
    srv.monitors.retain(|(mid, _)| *mid != id);
}

/// Sets (or with an empty name, clears) the client name; false after replying
/// with Redis's error for names with spaces or special characters.
fn set_name(ctx: &mut Ctx, name: &Bytes) -> bool {
    if name.is_empty() {
        ctx.client.name = None;
        return true;
    }
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        ctx.err("ERR Client names cannot contain spaces, newlines or special characters.");
        return false;
    }
    ctx.client.name = Some(name.clone());
    true
}

fn client_setname(ctx: &mut Ctx, args: &[Bytes]) {
    if set_name(ctx, &args[2]) {
        ctx.out.ok();
    }
}

fn client_getname(ctx: &mut Ctx, _args: &[Bytes]) {
    match ctx.client.name.clone() {
        Some(n) => ctx.out.bulk(&n),
        None => ctx.out.null(),
    }
}

fn client_pause(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 4 {
        subcommand_syntax_error(ctx, args);
        return;
    }
    let mut kind = PauseKind::All;
    if args.len() == 4 {
        if args[3].eq_ignore_ascii_case(b"WRITE") {
            kind = PauseKind::Write;
        } else if args[3].eq_ignore_ascii_case(b"ALL") {
            kind = PauseKind::All;
        } else {
            ctx.err("ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    let Some(ms) = crate::util::parse_i64(&args[2]) else {
        ctx.err("ERR timeout is not an integer or out of range");
        return;
    };
    if ms < 0 {
        ctx.err("ERR timeout is negative");
        return;
    }
    let end = if ms > 0 { ms.saturating_add(ctx.now) } else { 0 };
    // A pause already in force is only made longer or more restrictive.
    let (kind, end) = match ctx.srv.pause {
        Some((k, e)) if e > ctx.now => {
            let k = if k == PauseKind::All || kind == PauseKind::All { PauseKind::All } else { PauseKind::Write };
            (k, e.max(end))
        }
        _ => (kind, end),
    };
    ctx.srv.pause = Some((kind, end));
    ctx.out.ok();
}

fn client_unpause(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.srv.pause = None;
    ctx.out.ok();
}

fn client_reply(ctx: &mut Ctx, args: &[Bytes]) {
    let v = &args[2];
    if v.eq_ignore_ascii_case(b"ON") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if v.eq_ignore_ascii_case(b"OFF") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if v.eq_ignore_ascii_case(b"SKIP") {
        if ctx.client.reply_mode != ReplyMode::Off {
            ctx.client.reply_mode = ReplyMode::Skip;
        }
    } else {
        ctx.syntax();
    }
}

fn client_no_evict(ctx: &mut Ctx, args: &[Bytes]) {
    if args[2].eq_ignore_ascii_case(b"ON") {
        ctx.client.no_evict = true;
        ctx.out.ok();
    } else if args[2].eq_ignore_ascii_case(b"OFF") {
        ctx.client.no_evict = false;
        ctx.out.ok();
    } else {
        ctx.err(err::SYNTAX);
    }
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]
fn client_tracking(ctx: &mut Ctx, args: &[Bytes]) {
    use crate::server::tracking::{self, TrackState};
    let mut st = TrackState::default();
    let mut prefixes: Vec<Vec<u8>> = Vec::new();
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        let a = args[j].to_ascii_lowercase();
        match a.as_slice() {
            b"redirect" if more => {
                j += 1;
                if st.redirect != 0 {
                    ctx.err("ERR A client can only redirect to a single other client");
                    return;
                }
                let Some(id) = ctx.int_arg(&args[j]) else { return };
                let exists = id as u64 == ctx.client.id || ctx.srv.clients.contains_key(&(id as u64));
                if id <= 0 || !exists {
                    ctx.err("ERR The client ID you want redirect to does not exist");
                    return;
                }
                st.redirect = id as u64;
            }
            b"bcast" => st.bcast = true,
            b"optin" => st.optin = true,
            b"optout" => st.optout = true,
            b"noloop" => st.noloop = true,
            b"prefix" if more => {
                j += 1;
                prefixes.push(args[j].to_vec());
            }
            _ => {
                ctx.err(err::SYNTAX);
                return;
            }
        }
        j += 1;
    }
    if args[2].eq_ignore_ascii_case(b"off") {
        tracking::disable(ctx.srv, ctx.client);
        ctx.out.ok();
        return;
    }
    if !args[2].eq_ignore_ascii_case(b"on") {
        ctx.err(err::SYNTAX);
        return;
    }
    if !st.bcast && !prefixes.is_empty() {
        ctx.err("ERR PREFIX option requires BCAST mode to be enabled");
        return;
    }
    let old = ctx.client.tracking.as_deref();
    if old.is_some_and(|o| o.bcast != st.bcast) {
        ctx.err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
        return;
    }
    if st.bcast && (st.optin || st.optout) {
        ctx.err("ERR OPTIN and OPTOUT are not compatible with BCAST");
        return;
    }
    if st.optin && st.optout {
        ctx.err("ERR You can't specify both OPTIN mode and OPTOUT mode");
        return;
    }
    if old.is_some_and(|o| (st.optin && o.optout) || (st.optout && o.optin)) {
        ctx.err("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
        return;
    }
    if st.bcast {
        if let Some(e) = prefix_collision(old.map_or(&[][..], |o| &o.prefixes[..]), &prefixes) {
            ctx.err(&e);
            return;
        }
    }
    tracking::enable(ctx.srv, ctx.client, st, prefixes);
    ctx.out.ok();
}

/// Redis's prefix overlap check: a new prefix may not be a prefix of, or
/// start with, one the client has or another new one.
fn prefix_collision(existing: &[Vec<u8>], new: &[Vec<u8>]) -> Option<String> {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    for (i, p) in new.iter().enumerate() {
        let clash = existing
            .iter()
            .find(|e| overlap(e, p))
            .map(|e| ("an existing", e))
            .or_else(|| new[i + 1..].iter().find(|q| overlap(p, q)).map(|q| ("another provided", q)));
        if let Some((which, other)) = clash {
            return Some(format!(
                "ERR Prefix '{}' overlaps with {which} prefix '{}'. Prefixes for a single client must not overlap.",
                String::from_utf8_lossy(p),
                String::from_utf8_lossy(other)
            ));
        }
    }
    None
}

/// CLIENT CACHING YES|NO: track (OPTIN) or not (OPTOUT) the next command's keys.
fn client_caching(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(t) = ctx.client.tracking.as_mut() else {
        ctx.err("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
        return;
    };
    let opt = &args[2];
    if opt.eq_ignore_ascii_case(b"yes") {
        if !t.optin {
            ctx.err("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
            return;
        }
    } else if opt.eq_ignore_ascii_case(b"no") {
        if !t.optout {
            ctx.err("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
            return;
        }
    } else {
        ctx.err(err::SYNTAX);
        return;
    }
    t.caching = true;
    ctx.out.ok();
}

fn client_getredir(ctx: &mut Ctx, _args: &[Bytes]) {
    let r = ctx.client.tracking.as_ref().map_or(-1, |t| t.redirect as i64);
    ctx.out.int(r);
}

fn client_trackinginfo(ctx: &mut Ctx, _args: &[Bytes]) {
    let t = ctx.client.tracking.as_deref();
    let mut flags: Vec<&[u8]> = vec![if t.is_some() { b"on" } else { b"off" }];
    if let Some(t) = t {
        let named: [(bool, &[u8]); 7] = [
            (t.bcast, b"bcast"),
            (t.optin, b"optin"),
            (t.optin && t.caching, b"caching-yes"),
            (t.optout, b"optout"),
            (t.optout && t.caching, b"caching-no"),
            (t.noloop, b"noloop"),
            (t.broken, b"broken_redirect"),
        ];
        flags.extend(named.iter().filter(|(on, _)| *on).map(|(_, name)| *name));
    }
    ctx.out.map_len(3);
    ctx.out.bulk(b"flags");
    ctx.out.set_len(flags.len());
    for f in flags {
        ctx.out.bulk(f);
    }
    ctx.out.bulk(b"redirect");
    ctx.out.int(t.map_or(-1, |t| t.redirect as i64));
    ctx.out.bulk(b"prefixes");
    let prefixes = t.map(|t| t.prefixes.clone()).unwrap_or_default();
    ctx.out.array_len(prefixes.len());
    for p in prefixes {
        ctx.out.bulk(&p);
    }
}

fn client_help(ctx: &mut Ctx, _args: &[Bytes]) {
    reply_help(
        ctx,
        "CLIENT",
        &[
            "CACHING (YES|NO)",
            "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
            "GETREDIR",
            "    Return the client ID we are redirecting to when tracking is enabled.",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "UNPAUSE",
            "    Stop the current client pause, resuming traffic.",
            "PAUSE <timeout> [WRITE|ALL]",
            "    Suspend all, or just write, clients for <timeout> milliseconds.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
            "         [OPTIN] [OPTOUT] [NOLOOP]",
            "    Control server assisted client side caching.",
            "TRACKINGINFO",
            "    Report tracking status for the current connection.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
        ],
    );
}
