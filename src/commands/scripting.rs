//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT's
//! subcommands. The interpreter lives in `crate::scripting`.

use super::{Ctx, Handler};
use crate::scripting::{Declared, Engine, Mode};
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("eval", eval),
    ("evalsha", evalsha),
    ("eval_ro", eval_ro),
    ("evalsha_ro", evalsha_ro),
    ("script|load", script_load),
    ("script|exists", script_exists),
    ("script|flush", script_flush),
    ("script|kill", script_kill),
    ("script|help", script_help),
];

/// The server's interpreter, taken out of the server state while in use.
pub(crate) fn take_engine(ctx: &mut Ctx) -> Option<Box<Engine>> {
    if let Some(e) = ctx.srv.lua.take() {
        return Some(e);
    }
    match Engine::new(ctx.sh.script.clone()) {
        Ok(e) => Some(Box::new(e)),
        Err(e) => {
            ctx.err(&format!("ERR Failed to create the Lua interpreter: {e}"));
            None
        }
    }
}

/// What a script's shebang line (`#!lua flags=...`) declares; the error reply
/// for a malformed one. A script without a shebang runs in compatibility mode.
pub(crate) fn shebang_flags(body: &[u8]) -> Result<Declared, String> {
    if !body.starts_with(b"#!") {
        return Ok(Declared::default());
    }
    let end = body.iter().position(|&c| c == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[2..end]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "lua" {
        return Err(format!("ERR Unexpected engine in script shebang: #!{engine}"));
    }
    let mut d = Declared { shebang: true, ..Declared::default() };
    for p in parts {
        let Some(flags) = p.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {p}"));
        };
        for f in flags.split(',').filter(|f| !f.is_empty()) {
            match f {
                "no-writes" => d.no_writes = true,
                "allow-oom" => d.allow_oom = true,
                "allow-stale" | "no-cluster" | "allow-cross-slot-keys" => {}
                other => return Err(format!("ERR Unexpected flag in script shebang: {other}")),
            }
        }
    }
    Ok(d)
}

/// The body to compile (a shebang line becomes a comment, so line numbers
/// stay as written) and what the shebang declares. None after replying with
/// the error.
fn shebang(ctx: &mut Ctx, body: &Bytes) -> Option<(Bytes, Declared)> {
    match shebang_flags(body) {
        Err(e) => {
            ctx.err(&e);
            None
        }
        Ok(d) if !d.shebang => Some((body.clone(), d)),
        Ok(d) => {
            let mut b = b"--".to_vec();
            b.extend_from_slice(body);
            Some((Bytes::from(b), d))
        }
    }
}

/// What the script EVAL & co. (`args`) would run declares, as Redis's
/// `evalGetCommandFlags` finds it before running: from the cache, else from
/// the body's shebang; None when it cannot tell (an unknown SHA1).
pub(crate) fn eval_declared(engine: Option<&Engine>, args: &[Bytes], by_sha: bool) -> Option<Declared> {
    let script = args.get(1)?;
    let (key, hashed);
    let sha = if by_sha {
        key = sha_key(script)?;
        std::str::from_utf8(&key).ok()?
    } else {
        hashed = crate::scripting::sha1_hex(script);
        hashed.as_str()
    };
    match engine.and_then(|e| e.declared(sha)) {
        Some(d) => Some(d),
        None if by_sha => None,
        None => shebang_flags(script).ok(),
    }
}

/// An EVALSHA argument as the script cache keys it (lowercase), without
/// allocating; None when it is not 40 bytes long.
fn sha_key(arg: &[u8]) -> Option<[u8; 40]> {
    let k: [u8; 40] = arg.try_into().ok()?;
    Some(k.map(|c| c.to_ascii_lowercase()))
}

/// Parses EVAL's numkeys and splits the rest into keys and arguments.
fn split_keys<'b>(ctx: &mut Ctx, args: &'b [Bytes]) -> Option<(&'b [Bytes], &'b [Bytes])> {
    let n = ctx.int_arg(&args[2])?;
    if n < 0 {
        ctx.err("ERR Number of keys can't be negative");
        return None;
    }
    let rest = &args[3..];
    if n as u64 > rest.len() as u64 {
        ctx.err("ERR Number of keys can't be greater than number of args");
        return None;
    }
    Some(rest.split_at(n as usize))
}

fn eval_generic(ctx: &mut Ctx, args: &[Bytes], by_sha: bool, mode: Mode) {
    let Some((keys, argv)) = split_keys(ctx, args) else { return };
    let Some(mut engine) = take_engine(ctx) else { return };
    let (key, loaded);
    let sha = if by_sha {
        // A name that is no SHA1 finds no script.
        key = sha_key(&args[1]);
        Some(key.as_ref().and_then(|k| std::str::from_utf8(k).ok()).unwrap_or(""))
    } else {
        loaded = shebang(ctx, &args[1]).and_then(|(body, flags)| match engine.load_as(&body, &args[1], flags) {
            Ok(sha) => Some(sha),
            Err(e) => {
                ctx.err(&e);
                None
            }
        });
        loaded.as_deref()
    };
    if let Some(sha) = sha {
        let no_writes = engine.declared(sha).is_some_and(|d| d.no_writes);
        let mode = if no_writes { Mode::ReadOnly } else { mode };
        if !engine.run(ctx, sha, keys, argv, mode) {
            ctx.err("NOSCRIPT No matching script. Please use EVAL.");
        }
    }
    ctx.srv.lua = Some(engine);
}

fn eval(ctx: &mut Ctx, args: &[Bytes]) {
    eval_generic(ctx, args, false, Mode::ReadWrite)
}

fn evalsha(ctx: &mut Ctx, args: &[Bytes]) {
    eval_generic(ctx, args, true, Mode::ReadWrite)
}

fn eval_ro(ctx: &mut Ctx, args: &[Bytes]) {
    eval_generic(ctx, args, false, Mode::ReadOnly)
}

fn evalsha_ro(ctx: &mut Ctx, args: &[Bytes]) {
    eval_generic(ctx, args, true, Mode::ReadOnly)
}

fn script_load(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(mut engine) = take_engine(ctx) else { return };
    match shebang(ctx, &args[2]) {
        None => {}
        Some((body, flags)) => match engine.load_as(&body, &args[2], flags) {
            Ok(sha) => ctx.out.bulk(sha.as_bytes()),
            Err(e) => ctx.err(&e),
        },
    }
    ctx.srv.lua = Some(engine);
}

fn script_exists(ctx: &mut Ctx, args: &[Bytes]) {
    let engine = ctx.srv.lua.take();
    ctx.out.array_len(args.len() - 2);
    for sha in &args[2..] {
        let found = engine.as_ref().is_some_and(|e| e.exists(sha));
        ctx.out.int(found as i64);
    }
    ctx.srv.lua = engine;
}

fn script_flush(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 || (args.len() == 3 && !matches!(args[2].to_ascii_lowercase().as_slice(), b"sync" | b"async")) {
        ctx.err("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
        return;
    }
    // As Redis, a fresh interpreter (library settings such as cjson's reset);
    // function libraries, which Redis keeps in another interpreter, are reloaded.
    if let Some(old) = ctx.srv.lua.take() {
        let codes: Vec<Vec<u8>> = old.libs.libs.values().map(|l| l.code.to_vec()).collect();
        drop(old);
        if let Err(e) = crate::scripting::functions::restore_libraries(ctx.sh.script.clone(), ctx.srv, &codes) {
            crate::log::warning(&format!("Failed reloading the function libraries after SCRIPT FLUSH: {e}"));
        }
    }
    ctx.out.ok();
}

fn script_kill(ctx: &mut Ctx, _args: &[Bytes]) {
    // A script holds the server for its whole run, so a client that gets here
    // runs between scripts.
    ctx.err("NOTBUSY No scripts in execution right now.");
}

fn script_help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::reply_help(
        ctx,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
}
