//! Lua scripting (EVAL and friends) on Lua 5.1, as Redis embeds it.
//!
//! One interpreter per server, created on first use. Scripts are compiled
//! once into functions kept by SHA1; a run sets `KEYS`/`ARGV`, installs for the
//! duration of the run the raw command function behind `redis.call` /
//! `redis.pcall` (it borrows the server state, which is locked for the whole
//! script: a script is atomic like any command), and converts the result to a
//! reply. The environment (the `redis` library, the error handler, the
//! read-only globals) is set up by `bootstrap.lua`; conversions between
//! replies and Lua values are in `convert.rs`, the extra libraries in `libs.rs`.

mod cjson;
mod cmsgpack;
mod convert;
pub mod functions;
mod libs;
mod rawcall;
mod structlib;

use crate::commands::Ctx;
use bytes::Bytes;
use mlua::{Function, Lua, MultiValue, StdLib, Table, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

/// What other connections may know about a running script without taking the
/// server lock (which the script holds): since when it runs, whether it wrote,
/// and whether SCRIPT KILL asked it to stop.
#[derive(Default)]
pub struct Watch {
    /// Start time (ms) of the running script; 0 when none runs.
    started_ms: AtomicI64,
    /// `busy-reply-threshold` for the running script.
    threshold_ms: AtomicI64,
    kill: AtomicBool,
    wrote: AtomicBool,
    /// The running script is a library function (FCALL), for FUNCTION KILL.
    function: AtomicBool,
    /// The running script has handed its I/O worker to another thread
    /// (`release_worker`).
    handed_off: AtomicBool,
}

/// A script running this long hands its I/O worker's other connections to
/// another thread, so that they are answered (BUSY, SCRIPT KILL) while it runs.
const HANDOFF_MS: i64 = 10;

/// Moves the tokio worker this thread runs to a new thread, and returns once
/// that thread runs it; the script goes on here, off the worker. (Doing this
/// for every script call costs two thread switches each: short scripts never
/// get here.)
fn release_worker() {
    let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return;
    }
    tokio::task::block_in_place(|| {
        // A task spawned now runs once another thread has taken the worker.
        let (tx, rx) = std::sync::mpsc::channel();
        handle.spawn(async move {
            let _ = tx.send(());
        });
        let _ = rx.recv_timeout(std::time::Duration::from_millis(200));
    });
}

/// What SCRIPT KILL achieves against the running script.
pub enum KillOutcome {
    Killed,
    NotBusy,
    Unkillable,
    /// SCRIPT KILL while a function runs, or FUNCTION KILL while a script runs.
    WrongKind,
}

impl Watch {
    /// True once a running script has run past `busy-reply-threshold`: other
    /// clients then get BUSY instead of waiting.
    pub fn busy(&self, now: i64) -> bool {
        let s = self.started_ms.load(Ordering::Acquire);
        s != 0 && now - s >= self.threshold_ms.load(Ordering::Relaxed)
    }

    /// True when no script is running.
    pub fn idle(&self) -> bool {
        self.started_ms.load(Ordering::Acquire) == 0
    }

    /// SCRIPT KILL / FUNCTION KILL (`function`), or with `force` SHUTDOWN
    /// NOSAVE, while a script runs.
    pub fn kill(&self, force: bool, function: bool) -> KillOutcome {
        if self.started_ms.load(Ordering::Acquire) == 0 {
            return KillOutcome::NotBusy;
        }
        if !force && function != self.function.load(Ordering::Relaxed) {
            return KillOutcome::WrongKind;
        }
        if self.wrote.load(Ordering::Acquire) && !force {
            return KillOutcome::Unkillable;
        }
        self.kill.store(true, Ordering::Release);
        KillOutcome::Killed
    }

    /// True when the running script is a library function.
    pub fn is_function(&self) -> bool {
        self.function.load(Ordering::Relaxed)
    }

    pub fn note_write(&self) {
        self.wrote.store(true, Ordering::Release);
    }
}

/// Lua instructions between two looks at the kill flag.
const HOOK_EVERY: u32 = 100_000;

/// Script runs between two steps of the Lua collector (Redis's `LUA_GC_CYCLE_PERIOD`).
const GC_PERIOD: u32 = 50;

/// What a script may do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// EVAL / EVALSHA.
    ReadWrite,
    /// EVAL_RO / EVALSHA_RO: write commands are refused.
    ReadOnly,
}

/// What a script's shebang line or a function's flags declare.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct Declared {
    /// The script has a shebang (else it runs in compatibility mode, with
    /// the calling command's flags).
    pub shebang: bool,
    pub no_writes: bool,
    pub allow_oom: bool,
}

impl Declared {
    /// The script is refused, as a `denyoom` command, while memory is over
    /// `maxmemory` (Redis's `scriptFlagsToCmdFlags`).
    pub fn deny_oom(self) -> bool {
        self.shebang && !self.no_writes && !self.allow_oom
    }
}

/// The interpreter and the compiled scripts.
pub struct Engine {
    lua: Lua,
    /// `run(f)`: calls `f` under the error handler.
    runner: Function,
    /// `trampoline`, the C function every run goes through, in the registry
    /// (the key keeps its slot).
    tramp: mlua::RegistryKey,
    /// The scripts' environment (reads the globals, refuses assignments).
    env: Table,
    watch: Arc<Watch>,
    /// Function libraries (FUNCTION LOAD, FCALL).
    pub libs: functions::Libraries,
    /// SHA1 of the body as sent → (body, compiled function, shebang flags).
    /// The functions are kept in the Lua registry (a Rust-held handle per
    /// script would exhaust mlua's handle stack after a few thousand scripts).
    scripts: HashMap<String, (Bytes, mlua::RegistryKey, Declared), ahash::RandomState>,
    /// What `redis.call` runs commands as, between runs.
    client: Option<convert::LuaClient>,
    /// Script runs since the last collector step.
    gc_count: u32,
    /// The running script's `redis.call` state (see `ActiveRunner`).
    active: Arc<ActiveRunner>,
}

/// The id of the client a script's `redis.call` runs as (Redis's fake Lua client).
pub const LUA_CLIENT_ID: u64 = u64::MAX;

/// A script's outcome for the caller.
pub enum Outcome {
    Done,
    /// A compile error (already formatted as Redis's reply).
    Error(String),
}

impl Engine {
    pub fn new(watch: Arc<Watch>) -> mlua::Result<Engine> {
        // SAFETY: `unsafe_new_with` is needed only because the debug library is
        // loaded; bootstrap.lua keeps `debug.getinfo` in a local of the error
        // handler and removes `debug` from the globals before any script runs,
        // so scripts never reach the debug library.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                mlua::LuaOptions::default(),
            )
        };
        libs::install(&lua)?;
        libs::install_redis_functions(&lua)?;
        let (redis, runner, env, lib_env): (Table, Function, Table, Function) =
            lua.load(include_str!("bootstrap.lua")).set_name("=bootstrap").call(())?;
        let w = watch.clone();
        lua.set_hook(mlua::HookTriggers::new().every_nth_instruction(HOOK_EVERY), move |_, _| {
            if w.kill.load(Ordering::Acquire) {
                return Err(raise("ERR Script killed by user with SCRIPT KILL..."));
            }
            if !w.handed_off.load(Ordering::Relaxed) {
                let s = w.started_ms.load(Ordering::Acquire);
                if s != 0 && crate::util::now_ms() - s >= HANDOFF_MS {
                    w.handed_off.store(true, Ordering::Relaxed);
                    release_worker();
                }
            }
            Ok(mlua::VmState::Continue)
        })?;
        let libs = functions::Libraries::new(lib_env);
        let active = Arc::new(ActiveRunner::default());
        install_calls(&lua, &redis, &active)?;
        // SAFETY: `trampoline` follows the lua_CFunction contract (see it).
        let tramp_fn = unsafe { lua.create_c_function(trampoline) }?;
        let tramp = lua.create_registry_value(tramp_fn)?;
        Ok(Engine {
            lua,
            runner,
            tramp,
            env,
            watch,
            libs,
            scripts: HashMap::default(),
            client: None,
            gc_count: 0,
            active,
        })
    }

    /// Compiles `code` (the script `body` as sent, its shebang line turned
    /// into a comment) if new, and returns the SHA1 of `body`.
    pub fn load_as(&mut self, code: &Bytes, body: &Bytes, declared: Declared) -> Result<String, String> {
        let sha = sha1_hex(body);
        if !self.scripts.contains_key(&sha) {
            let f = self
                .lua
                .load(&code[..])
                .set_name("@user_script")
                .into_function()
                .map_err(|e| format!("ERR Error compiling script (new function): {}", lua_error_text(&e)))?;
            f.set_environment(self.env.clone()).map_err(|e| format!("ERR {}", lua_error_text(&e)))?;
            let key = self.lua.create_registry_value(f).map_err(|e| format!("ERR {}", lua_error_text(&e)))?;
            self.scripts.insert(sha.clone(), (body.clone(), key, declared));
        }
        Ok(sha)
    }

    /// What a loaded script's shebang declares.
    pub fn declared(&self, sha: &str) -> Option<Declared> {
        self.scripts.get(sha).map(|s| s.2)
    }

    pub fn exists(&self, sha: &[u8]) -> bool {
        std::str::from_utf8(sha).is_ok_and(|s| self.scripts.contains_key(&s.to_ascii_lowercase()))
    }

    /// Scripts in the EVAL cache.
    pub fn cached_scripts(&self) -> usize {
        self.scripts.len()
    }

    /// Bytes held by the interpreter (INFO `used_memory_lua`).
    pub fn memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// Runs the script `sha` with `keys` and `argv`, writing its reply to `ctx.out`.
    /// Returns false when no such script is loaded.
    pub fn run(&mut self, ctx: &mut Ctx, sha: &str, keys: &[Bytes], argv: &[Bytes], mode: Mode) -> bool {
        let Some((_, key, declared)) = self.scripts.get(sha) else { return false };
        let (allow_oom, id) = (declared.allow_oom, key.id());
        let invoke = |run: Run<'_>| {
            // SAFETY: (see `Run::call`) the closure pushes the script's
            // function (registry entry `id`, which the script cache keeps),
            // sets the KEYS and ARGV globals (3 slots each at most) and calls
            // the runner with the function, leaving its two results.
            unsafe {
                run.call(&[], |l| {
                    mlua::ffi::lua_rawgeti(l, mlua::ffi::LUA_REGISTRYINDEX, id as mlua::ffi::lua_Integer);
                    set_strings_global(l, c"KEYS", keys);
                    set_strings_global(l, c"ARGV", argv);
                    mlua::ffi::lua_call(l, 1, 2);
                })
            }
        };
        self.execute(ctx, invoke, (mode, allow_oom), sha, false);
        true
    }

    /// FCALL / FCALL_RO: runs a library function with its keys and arguments.
    pub fn fcall(&mut self, ctx: &mut Ctx, name: &[u8], keys: &[Bytes], argv: &[Bytes], read_only: bool) {
        let Some((f, flags)) = self.libs.function(name) else {
            ctx.err("ERR Function not found");
            return;
        };
        let no_writes = flags.contains(&functions::Flag::NoWrites);
        if read_only && !no_writes {
            ctx.err("ERR Can not execute a script with write flag using *_ro command.");
            return;
        }
        let mode = if no_writes { Mode::ReadOnly } else { Mode::ReadWrite };
        let name = String::from_utf8_lossy(name).into_owned();
        let allow_oom = flags.contains(&functions::Flag::AllowOom);
        let invoke = |run: Run<'_>| {
            // SAFETY: (see `Run::call`) with the runner and the function on
            // the stack, the closure pushes the keys and the arguments as two
            // tables (2 slots each at most) and calls the runner with the
            // three, leaving its two results.
            unsafe {
                run.call(&[&f], |l| {
                    push_strings(l, keys);
                    push_strings(l, argv);
                    mlua::ffi::lua_call(l, 3, 2);
                })
            }
        };
        self.execute(ctx, invoke, (mode, allow_oom), &name, true);
    }

    /// Runs a script body or a library function through `invoke` (which
    /// calls the runner of bootstrap.lua) with `redis.call` & co. bound to
    /// this command's context, and writes the reply. `name` is what error
    /// texts call the script; `allow_oom` what it declared.
    fn execute(
        &mut self,
        ctx: &mut Ctx,
        invoke: impl FnOnce(Run<'_>) -> mlua::Result<(bool, Value)>,
        (mode, allow_oom): (Mode, bool),
        name: &str,
        function: bool,
    ) {
        let lua = &self.lua;
        self.watch.function.store(function, Ordering::Relaxed);
        let threshold = ctx.srv.config.busy_reply_threshold;
        self.watch.threshold_ms.store(threshold, Ordering::Relaxed);
        self.watch.kill.store(false, Ordering::Relaxed);
        self.watch.wrote.store(false, Ordering::Relaxed);
        self.watch.handed_off.store(false, Ordering::Relaxed);
        // The command's start instant (read when it began).
        self.watch.started_ms.store(ctx.now.max(1), Ordering::Release);
        let mut runner = convert::Runner::new(ctx, mode, self.watch.clone(), self.client.take());
        runner.allow_oom = allow_oom;
        let result = {
            let _active = self.active.enter(&mut runner);
            invoke(Run { lua, runner: &self.runner, tramp: self.tramp.id() })
        };
        self.client = Some(runner.into_client());
        self.watch.started_ms.store(0, Ordering::Release);
        match result {
            Ok((ok, v)) => {
                if ok {
                    convert::lua_to_reply(ctx, &v, 0);
                } else {
                    convert::script_error(ctx, &v, name);
                }
            }
            Err(e) => ctx.err(&format!("ERR Error running script, {}", lua_error_text(&e))),
        }
        // Scripts leave garbage: a step of the collector every few runs, as
        // Redis does (the allocator's debt drives the rest).
        self.gc_count += 1;
        if self.gc_count >= GC_PERIOD {
            self.gc_count = 0;
            let _ = lua.gc_step();
        }
    }
}

/// What a run calls: bootstrap.lua's runner, through the trampoline.
#[derive(Clone, Copy)]
struct Run<'a> {
    lua: &'a Lua,
    runner: &'a Function,
    tramp: std::ffi::c_int,
}

impl Run<'_> {
    /// Calls the runner through `build`, which finds the runner and then
    /// `extra` on the stack and must leave the runner's two results there
    /// (the script's success and its value or error).
    ///
    /// The call is protected by `lua_pcall` of the trampoline, which the
    /// engine made once: unlike `Lua::exec_raw`, which makes two C closures
    /// per call, a run allocates nothing of its own.
    ///
    /// # Safety
    /// `build` runs in protected mode inside a C function (which Lua gives
    /// LUA_MINSTACK, 20, free slots) and may use at most 6 of them; it must
    /// own nothing, so that a Lua error unwinding through it (memory) has
    /// nothing to skip. The runner catches the script's own errors.
    unsafe fn call(
        self,
        extra: &[&Function],
        build: impl FnOnce(*mut mlua::ffi::lua_State),
    ) -> mlua::Result<(bool, Value)> {
        use mlua::ffi;
        let mut build = Some(build);
        let mut once = |l: *mut ffi::lua_State| {
            if let Some(b) = build.take() {
                b(l)
            }
        };
        let mut step: &mut dyn FnMut(*mut ffi::lua_State) = &mut once;
        let step_ptr: *mut &mut dyn FnMut(*mut ffi::lua_State) = &mut step;
        self.lua.exec_raw_lua(|raw| {
            let l = raw.state();
            // SAFETY: the stack is checked for the trampoline, the runner,
            // `extra` and the pointer; pushing a registry entry, references
            // and a light userdata allocates nothing (no error can escape
            // here), and `lua_pcall` catches any error of the call. The
            // pointer is to `step`, which outlives the call; the stack is
            // restored to its top before returning.
            unsafe {
                let top = ffi::lua_gettop(l);
                if ffi::lua_checkstack(l, extra.len() as std::ffi::c_int + 3) == 0 {
                    return Err(mlua::Error::StackError);
                }
                ffi::lua_rawgeti(l, ffi::LUA_REGISTRYINDEX, self.tramp as ffi::lua_Integer);
                raw.push(self.runner)?;
                for f in extra {
                    raw.push(*f)?;
                }
                ffi::lua_pushlightuserdata(l, step_ptr.cast());
                let rc = ffi::lua_pcall(l, extra.len() as std::ffi::c_int + 2, 2, 0);
                if rc != 0 {
                    let mut len = 0usize;
                    let p = ffi::lua_tolstring(l, -1, &mut len);
                    let msg = if p.is_null() {
                        String::new()
                    } else {
                        String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), len)).into_owned()
                    };
                    ffi::lua_settop(l, top);
                    return Err(if rc == ffi::LUA_ERRMEM {
                        mlua::Error::MemoryError(msg)
                    } else {
                        mlua::Error::RuntimeError(msg)
                    });
                }
                let v = raw.pop_value();
                let ok = ffi::lua_toboolean(l, -1) != 0;
                ffi::lua_settop(l, top);
                Ok((ok, v))
            }
        })
    }
}

/// The C function a run's `lua_pcall` calls: takes the light userdata on
/// top of the stack (a pointer to the run's build step, see `Run::call`),
/// runs the step on the arguments below it, and returns the two results it
/// leaves.
unsafe extern "C-unwind" fn trampoline(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    use mlua::ffi;
    // SAFETY: only `Run::call` calls this function (its registry slot is
    // private to the engine), with a pointer to a live build step on top.
    unsafe {
        let step = ffi::lua_touserdata(l, -1).cast::<&mut dyn FnMut(*mut ffi::lua_State)>();
        ffi::lua_pop(l, 1);
        (*step)(l);
    }
    2
}

/// Pushes a new array of `items` as strings.
///
/// # Safety
/// `l` must be a live state in protected mode with room for 2 more values;
/// may raise (memory), and owns nothing.
unsafe fn push_strings(l: *mut mlua::ffi::lua_State, items: &[Bytes]) {
    use mlua::ffi;
    // SAFETY: by the contract: the table is at -2 while each string is set.
    unsafe {
        ffi::lua_createtable(l, items.len().min(1 << 24) as std::ffi::c_int, 0);
        for (i, a) in items.iter().enumerate() {
            ffi::lua_pushlstring(l, a.as_ptr().cast(), a.len());
            ffi::lua_rawseti(l, -2, i as ffi::lua_Integer + 1);
        }
    }
}

/// Sets the global `name` to a new array of `items` as strings.
///
/// # Safety
/// As `push_strings`, with room for 3 more values.
unsafe fn set_strings_global(l: *mut mlua::ffi::lua_State, name: &std::ffi::CStr, items: &[Bytes]) {
    use mlua::ffi;
    // SAFETY: by the contract: the name, then the table; a raw set, as the
    // globals refuse writes.
    unsafe {
        ffi::lua_pushstring(l, name.as_ptr());
        push_strings(l, items);
        ffi::lua_rawset(l, ffi::LUA_GLOBALSINDEX);
    }
}

/// Where `redis.call`, `redis.pcall`, `redis.setresp` and
/// `redis.acl_check_cmd` find the state of the script now running. These
/// functions are created once (creating them for every run, as a scoped
/// borrow would, cost more than a small script itself); while a script runs,
/// the slot points at its `Runner`, and it is null otherwise.
#[derive(Default)]
struct ActiveRunner(std::sync::atomic::AtomicPtr<()>);

/// Clears the slot when the run ends, even by unwinding.
struct ActiveGuard<'s>(&'s ActiveRunner);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0 .0.store(std::ptr::null_mut(), Ordering::Release);
    }
}

impl ActiveRunner {
    /// Points the slot at `runner` until the guard is dropped. The guard
    /// borrows the slot, and `execute` drops it before `runner` goes.
    fn enter(&self, runner: &mut convert::Runner<'_, '_>) -> ActiveGuard<'_> {
        self.0.store((runner as *mut convert::Runner<'_, '_>).cast(), Ordering::Release);
        ActiveGuard(self)
    }

    /// Runs `f` on the running script's runner; an error when no script runs
    /// (a function kept from an earlier run) or when already inside `f`.
    fn with<R>(&self, f: impl FnOnce(&mut convert::Runner<'_, '_>) -> mlua::Result<R>) -> mlua::Result<R> {
        self.with_runner(f).unwrap_or_else(|| Err(raise(NO_ARGS)))
    }

    /// Runs `f` on the running script's runner; None when no script runs
    /// or when already inside `f`.
    fn with_runner<R>(&self, f: impl FnOnce(&mut convert::Runner<'_, '_>) -> R) -> Option<R> {
        // Taking the pointer out leaves null behind, so a nested use fails
        // instead of making a second `&mut` to the runner.
        let p = self.0.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if p.is_null() {
            return None;
        }
        // SAFETY: a non-null pointer was stored by `enter` from a
        // `&mut Runner` that `execute` keeps alive, and does not otherwise
        // use, until its guard (which nulls the slot) is dropped; the Lua
        // state calling this callback is only used by the thread running
        // `execute`, inside that window. The swap above makes this the only
        // reference made from the pointer until it is put back. The
        // lifetimes erased by the cast are those of that live borrow, and
        // the reference does not outlive this call.
        let runner = unsafe { &mut *p.cast::<convert::Runner<'static, 'static>>() };
        let out = f(runner);
        self.0.store(p, Ordering::Release);
        Some(out)
    }
}

/// Creates `redis.call` (see `rawcall.rs`) and its siblings, bound to `active`.
fn install_calls(lua: &Lua, redis: &Table, active: &Arc<ActiveRunner>) -> mlua::Result<()> {
    rawcall::install(lua, redis, active)?;
    let a = active.clone();
    let setresp = lua.create_function(move |_, v: Value| {
        let n = match v {
            Value::Integer(n @ (2 | 3)) => n as u8,
            Value::Number(n) if n == 2.0 || n == 3.0 => n as u8,
            _ => return Err(raise("ERR RESP version must be 2 or 3.")),
        };
        a.with(|r| {
            r.resp = n;
            Ok(())
        })
    })?;
    let a = active.clone();
    let acl_check = lua.create_function(move |_, args: MultiValue| {
        let Some(Value::String(name)) = args.into_iter().next() else {
            return Err(raise(NO_ARGS));
        };
        let known = a.with(|r| Ok(r.shared().table.lookup(&name.as_bytes()).is_some()))?;
        if known {
            Ok(true)
        } else {
            Err(raise("ERR Invalid command passed to redis.acl_check_cmd()"))
        }
    })?;
    redis.raw_set("acl_check_cmd", acl_check)?;
    redis.raw_set("setresp", setresp)?;
    Ok(())
}

/// Redis's error for a `redis` library call with nothing to run (also what
/// it says when no script is running).
const NO_ARGS: &str = "ERR Please specify at least one argument for this redis lib call";

/// A Lua error carrying a Redis error text (bootstrap.lua's handler turns it
/// into Redis's {err=...} table).
pub fn raise(msg: &str) -> mlua::Error {
    mlua::Error::external(format!("\u{1}{msg}\u{2}"))
}

/// The message of a Lua error without mlua's decorations.
pub fn lua_error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => lua_error_text(cause),
        other => other.to_string(),
    }
}

/// Lower-case hex SHA1, as SCRIPT LOAD replies.
pub fn sha1_hex(b: &[u8]) -> String {
    sha1_smol::Sha1::from(b).digest().to_string()
}
