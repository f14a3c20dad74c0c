//! Function commands: FCALL, FCALL_RO and FUNCTION's subcommands (LOAD,
//! DELETE, FLUSH, LIST, STATS, DUMP, RESTORE, KILL, HELP). Libraries live in
//! the Lua engine (`crate::scripting::functions`).

use super::{Ctx, Handler};
use crate::persist::rdb::{self, encode};
use crate::scripting::Engine;
use crate::storage::glob::glob_match;
use bytes::Bytes;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("fcall", fcall),
    ("fcall_ro", fcall_ro),
    ("function|load", function_load),
    ("function|delete", function_delete),
    ("function|flush", function_flush),
    ("function|list", function_list),
    ("function|stats", function_stats),
    ("function|dump", function_dump),
    ("function|restore", function_restore),
    ("function|kill", function_kill),
    ("function|help", function_help),
];

/// The engine, taken out of the server state while in use (see `scripting`).
fn with_engine<R>(ctx: &mut Ctx, f: impl FnOnce(&mut Ctx, &mut Engine) -> R) -> Option<R> {
    let mut engine = super::scripting::take_engine(ctx)?;
    let r = f(ctx, &mut engine);
    ctx.srv.lua = Some(engine);
    Some(r)
}

fn fcall_generic(ctx: &mut Ctx, args: &[Bytes], read_only: bool) {
    let Some(n) = crate::util::parse_i64(&args[2]) else {
        ctx.err("ERR Bad number of keys provided");
        return;
    };
    if n < 0 {
        ctx.err("ERR Number of keys can't be negative");
        return;
    }
    let rest = &args[3..];
    if n as u64 > rest.len() as u64 {
        ctx.err("ERR Number of keys can't be greater than number of args");
        return;
    }
    let (keys, argv) = rest.split_at(n as usize);
    with_engine(ctx, |ctx, e| e.fcall(ctx, &args[1], keys, argv, read_only));
}

fn fcall(ctx: &mut Ctx, args: &[Bytes]) {
    fcall_generic(ctx, args, false)
}

fn fcall_ro(ctx: &mut Ctx, args: &[Bytes]) {
    fcall_generic(ctx, args, true)
}

fn function_load(ctx: &mut Ctx, args: &[Bytes]) {
    let (replace, code) = match args.len() {
        3 => (false, &args[2]),
        4 if args[2].eq_ignore_ascii_case(b"replace") => (true, &args[3]),
        4 => {
            let msg = format!("ERR Unknown option given: {}", String::from_utf8_lossy(&args[2]));
            ctx.err(&msg);
            return;
        }
        _ => {
            ctx.err("ERR wrong number of arguments for 'function|load' command");
            return;
        }
    };
    match with_engine(ctx, |_, e| e.load_library(code, replace)) {
        Some(Ok(name)) => {
            ctx.dirty(1);
            ctx.out.bulk(name.as_bytes());
        }
        Some(Err(msg)) => ctx.err(&msg),
        None => {}
    }
}

fn function_delete(ctx: &mut Ctx, args: &[Bytes]) {
    let deleted = ctx.srv.lua.as_mut().is_some_and(|e| e.libs.delete(&args[2]));
    if deleted {
        ctx.dirty(1);
        ctx.out.ok();
    } else {
        ctx.err("ERR Library not found");
    }
}

fn function_flush(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 || (args.len() == 3 && !matches!(args[2].to_ascii_lowercase().as_slice(), b"sync" | b"async")) {
        ctx.err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    if let Some(e) = ctx.srv.lua.as_mut() {
        e.libs.flush();
    }
    ctx.dirty(1);
    ctx.out.ok();
}

fn function_list(ctx: &mut Ctx, args: &[Bytes]) {
    let (mut pattern, mut code) = (None, false);
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if a.eq_ignore_ascii_case(b"withcode") && !code {
            code = true;
        } else if a.eq_ignore_ascii_case(b"libraryname") && pattern.is_none() {
            let Some(p) = args.get(i + 1) else {
                ctx.err("ERR library name argument was not given");
                return;
            };
            pattern = Some(p.clone());
            i += 1;
        } else {
            let msg = format!("ERR Unknown argument {}", String::from_utf8_lossy(a));
            ctx.err(&msg);
            return;
        }
        i += 1;
    }
    let engine = ctx.srv.lua.take();
    let libs: Vec<_> = engine
        .as_ref()
        .map(|e| {
            e.libs
                .libs
                .values()
                .filter(|l| pattern.as_ref().is_none_or(|p| glob_match(p, l.name.as_bytes(), false)))
                .collect()
        })
        .unwrap_or_default();
    let out = &mut *ctx.out;
    out.array_len(libs.len());
    for lib in libs {
        out.map_len(if code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(lib.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array_len(lib.functions.len());
        for f in &lib.functions {
            out.map_len(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            out.set_len(f.flags.len());
            for fl in &f.flags {
                out.status(fl.name());
            }
        }
        if code {
            out.bulk(b"library_code");
            out.bulk(&lib.code);
        }
    }
    ctx.srv.lua = engine;
}

fn function_stats(ctx: &mut Ctx, _args: &[Bytes]) {
    // A running function holds the server, so a client that gets here runs between functions.
    let (libs, funcs) = ctx.srv.lua.as_ref().map_or((0, 0), |e| e.libs.counts());
    let out = &mut *ctx.out;
    out.map_len(2);
    out.bulk(b"running_script");
    out.null();
    out.bulk(b"engines");
    out.map_len(1);
    out.bulk(b"LUA");
    out.map_len(2);
    out.bulk(b"libraries_count");
    out.int(libs as i64);
    out.bulk(b"functions_count");
    out.int(funcs as i64);
}

fn function_dump(ctx: &mut Ctx, _args: &[Bytes]) {
    let mut e = encode::Enc::new(encode::Opts::from_server(ctx.srv));
    if let Some(engine) = ctx.srv.lua.as_ref() {
        for lib in engine.libs.libs.values() {
            e.byte(rdb::OP_FUNCTION2);
            e.string(&lib.code);
        }
    }
    let payload = encode::with_footer(e.buf);
    ctx.out.bulk(&payload);
}

fn function_restore(ctx: &mut Ctx, args: &[Bytes]) {
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    let policy = match args.get(3).map(|a| a.to_ascii_lowercase()) {
        None => Policy::Append,
        Some(p) if p == b"flush" => Policy::Flush,
        Some(p) if p == b"append" => Policy::Append,
        Some(p) if p == b"replace" => Policy::Replace,
        Some(_) => {
            ctx.err("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
            return;
        }
    };
    if args.len() > 4 {
        ctx.syntax();
        return;
    }
    let payload = &args[2];
    if !rdb::decode::verify_payload(payload, ctx.srv.persist.skip_checksum_validation) {
        ctx.err("ERR DUMP payload version or checksum are wrong");
        return;
    }
    let Some(codes) = rdb::decode::function_codes(&payload[..payload.len() - 10]) else {
        ctx.err("ERR given type is not a function");
        return;
    };
    let result = with_engine(ctx, |_, e| -> Result<(), String> {
        // A failure leaves the libraries as they were.
        let before = e.libs.snapshot();
        if policy == Policy::Flush {
            e.libs.flush();
        }
        for code in &codes {
            if policy == Policy::Append {
                if let Ok(name) = crate::scripting::functions::metadata(code) {
                    if e.libs.exists(&name) {
                        e.libs.restore(before);
                        return Err(format!("ERR Library {name} already exists"));
                    }
                }
            }
            if let Err(msg) = e.load_library(&Bytes::copy_from_slice(code), policy == Policy::Replace) {
                e.libs.restore(before);
                return Err(msg);
            }
        }
        Ok(())
    });
    match result {
        Some(Ok(())) => {
            ctx.dirty(1);
            ctx.out.ok();
        }
        Some(Err(msg)) => ctx.err(&msg),
        None => {}
    }
}

fn function_kill(ctx: &mut Ctx, _args: &[Bytes]) {
    // Served here only between functions; while one runs, the connection
    // layer answers FUNCTION KILL without the lock.
    ctx.err("NOTBUSY No scripts in execution right now.");
}

fn function_help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::reply_help(
        ctx,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
}
