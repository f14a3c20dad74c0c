//! Redis 7.0 functions: libraries of Lua functions loaded with FUNCTION LOAD
//! and called with FCALL. A library's code starts with a `#!lua name=<lib>`
//! line and registers its functions with `redis.register_function` while it
//! loads; it runs in its own environment (see `lib_env` in bootstrap.lua), in
//! the same interpreter as EVAL scripts.

use super::{lua_error_text, raise, Engine};
use bytes::Bytes;
use mlua::{Function, MultiValue, Table, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

/// The flags a function may declare.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flag {
    NoWrites,
    AllowOom,
    AllowStale,
    NoCluster,
    AllowCrossSlotKeys,
}

impl Flag {
    fn parse(s: &[u8]) -> Option<Flag> {
        Some(match s {
            b"no-writes" => Flag::NoWrites,
            b"allow-oom" => Flag::AllowOom,
            b"allow-stale" => Flag::AllowStale,
            b"no-cluster" => Flag::NoCluster,
            b"allow-cross-slot-keys" => Flag::AllowCrossSlotKeys,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Flag::NoWrites => "no-writes",
            Flag::AllowOom => "allow-oom",
            Flag::AllowStale => "allow-stale",
            Flag::NoCluster => "no-cluster",
            Flag::AllowCrossSlotKeys => "allow-cross-slot-keys",
        }
    }
}

#[derive(Clone)]
pub struct FunctionDef {
    pub name: String,
    f: Function,
    pub flags: Vec<Flag>,
    pub description: Option<Bytes>,
}

#[derive(Clone)]
pub struct Library {
    pub name: String,
    pub code: Bytes,
    pub functions: Vec<FunctionDef>,
}

/// The loaded libraries and the index of their functions.
pub struct Libraries {
    /// bootstrap.lua's `lib_env(register)`.
    lib_env: Function,
    pub libs: BTreeMap<String, Library>,
    /// Function name → library name.
    index: HashMap<String, String>,
}

const NAME_ERROR: &str =
    "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

fn valid_name(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// The library name from the `#!lua name=<lib>` line, or the error.
pub fn metadata(code: &[u8]) -> Result<String, String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let end = code.iter().position(|&c| c == b'\n').unwrap_or(code.len());
    let line = String::from_utf8_lossy(&code[2..end]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("ERR Engine '{engine}' not found"));
    }
    let mut name = None;
    for p in parts {
        match p.strip_prefix("name=") {
            Some(n) if name.is_none() => name = Some(n.to_string()),
            Some(_) => return Err("ERR Invalid metadata value, name argument was given multiple times".into()),
            None => return Err(format!("ERR Invalid metadata value given: {p}")),
        }
    }
    let name = name.ok_or("ERR Library name was not given")?;
    if !valid_name(name.as_bytes()) {
        return Err(NAME_ERROR.into());
    }
    Ok(name)
}

/// One `redis.register_function` call's arguments, checked as Redis does.
fn registration(args: MultiValue) -> mlua::Result<FunctionDef> {
    let args: Vec<Value> = args.into_iter().collect();
    let as_bytes = |v: &Value| -> Option<Vec<u8>> {
        match v {
            Value::String(s) => Some(s.as_bytes().to_vec()),
            Value::Integer(n) => Some(n.to_string().into_bytes()),
            Value::Number(n) => Some(crate::util::fmt_g(*n, 14).into_bytes()),
            _ => None,
        }
    };
    let (name, callback, flags, description) = match args.as_slice() {
        [Value::Table(t)] => {
            let (mut name, mut cb, mut flags, mut desc) = (None, None, Vec::new(), None);
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair?;
                let key = as_bytes(&k).unwrap_or_default();
                match key.as_slice() {
                    b"function_name" => {
                        name = Some(as_bytes(&v).ok_or_else(|| {
                            raise("ERR function_name argument given to redis.register_function must be a string")
                        })?)
                    }
                    b"callback" => match v {
                        Value::Function(f) => cb = Some(f),
                        _ => return Err(raise("ERR callback argument given to redis.register_function must be a function")),
                    },
                    b"description" => {
                        desc = Some(as_bytes(&v).ok_or_else(|| {
                            raise("ERR description argument given to redis.register_function must be a string")
                        })?)
                    }
                    b"flags" => {
                        let Value::Table(ft) = v else {
                            return Err(raise("ERR flags argument to redis.register_function must be a table representing function flags"));
                        };
                        for f in ft.sequence_values::<Value>() {
                            let f = f?;
                            let flag = as_bytes(&f).and_then(|b| Flag::parse(&b)).ok_or_else(|| raise("ERR unknown flag given"))?;
                            if !flags.contains(&flag) {
                                flags.push(flag);
                            }
                        }
                    }
                    _ => return Err(raise("ERR unknown argument given to redis.register_function")),
                }
            }
            let name = name.ok_or_else(|| raise("ERR redis.register_function must get a function name argument"))?;
            let cb = cb.ok_or_else(|| raise("ERR redis.register_function must get a callback argument"))?;
            (name, cb, flags, desc)
        }
        [_] => {
            return Err(raise(
                "ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
            ))
        }
        [n, f] => {
            let name = as_bytes(n).ok_or_else(|| raise("ERR first argument to redis.register_function must be a string"))?;
            let Value::Function(f) = f else {
                return Err(raise("ERR second argument to redis.register_function must be a function"));
            };
            (name, f.clone(), Vec::new(), None)
        }
        _ => return Err(raise("ERR wrong number of arguments to redis.register_function")),
    };
    if !valid_name(&name) {
        return Err(raise(NAME_ERROR));
    }
    Ok(FunctionDef {
        name: String::from_utf8_lossy(&name).into_owned(),
        f: callback,
        flags,
        description: description.map(Bytes::from),
    })
}

impl Libraries {
    pub fn new(lib_env: Function) -> Libraries {
        Libraries { lib_env, libs: BTreeMap::new(), index: HashMap::new() }
    }

    /// A function and its flags.
    pub fn function(&self, name: &[u8]) -> Option<(Function, Vec<Flag>)> {
        let name = std::str::from_utf8(name).ok()?;
        let lib = self.libs.get(self.index.get(name)?)?;
        lib.functions.iter().find(|f| f.name == name).map(|f| (f.f.clone(), f.flags.clone()))
    }

    pub fn delete(&mut self, name: &[u8]) -> bool {
        let Some(lib) = std::str::from_utf8(name).ok().and_then(|n| self.libs.remove(n)) else { return false };
        for f in &lib.functions {
            self.index.remove(&f.name);
        }
        true
    }

    pub fn flush(&mut self) {
        self.libs.clear();
        self.index.clear();
    }

    pub fn counts(&self) -> (usize, usize) {
        (self.libs.len(), self.index.len())
    }

    /// A copy of the registry (function handles are shared), for `restore`.
    pub fn snapshot(&self) -> (BTreeMap<String, Library>, HashMap<String, String>) {
        (self.libs.clone(), self.index.clone())
    }

    pub fn restore(&mut self, s: (BTreeMap<String, Library>, HashMap<String, String>)) {
        (self.libs, self.index) = s;
    }

    pub fn exists(&self, name: &str) -> bool {
        self.libs.contains_key(name)
    }
}

/// Replaces every library with the given codes (an RDB file's FUNCTION2
/// records), creating the interpreter if needed.
pub fn restore_libraries(
    watch: std::sync::Arc<super::Watch>,
    srv: &mut crate::server::Server,
    codes: &[Vec<u8>],
) -> Result<(), String> {
    if codes.is_empty() && srv.lua.is_none() {
        return Ok(());
    }
    let mut engine = match srv.lua.take() {
        Some(e) => e,
        None => Box::new(Engine::new(watch).map_err(|e| e.to_string())?),
    };
    engine.libs.flush();
    let mut result = Ok(());
    for code in codes {
        if let Err(e) = engine.load_library(&Bytes::copy_from_slice(code), true) {
            result = Err(e);
            break;
        }
    }
    srv.lua = Some(engine);
    result
}

impl Engine {
    /// FUNCTION LOAD: compiles and runs a library's code, which registers its
    /// functions. Returns the library name, or the error reply.
    pub fn load_library(&mut self, code: &Bytes, replace: bool) -> Result<String, String> {
        let name = metadata(code)?;
        if self.libs.exists(&name) && !replace {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        // The metadata line becomes a comment, so line numbers stay as written.
        let mut src = b"--".to_vec();
        src.extend_from_slice(code);
        let chunk = self
            .lua
            .load(src)
            .set_name("@user_function")
            .into_function()
            .map_err(|e| format!("ERR Error compiling function: {}", lua_error_text(&e)))?;
        let registered: RefCell<Vec<FunctionDef>> = RefCell::new(Vec::new());
        let outcome = self.lua.scope(|scope| {
            let register = scope.create_function(|_, args: MultiValue| {
                let def = registration(args)?;
                let mut r = registered.borrow_mut();
                if r.iter().any(|f| f.name == def.name) {
                    return Err(raise("ERR Function already exists in the library"));
                }
                r.push(def);
                Ok(())
            })?;
            let (env, state): (Table, Table) = self.libs.lib_env.call(register)?;
            chunk.set_environment(env)?;
            let r = self.runner.call::<MultiValue>(chunk.clone());
            state.raw_set("loading", false)?;
            r
        });
        let values = outcome.map_err(|e| format!("ERR Error registering functions: {}", lua_error_text(&e)))?;
        let mut it = values.into_iter();
        if !matches!(it.next(), Some(Value::Boolean(true))) {
            let msg = match it.next() {
                Some(Value::Table(t)) => t.raw_get::<String>("err").unwrap_or_default(),
                _ => String::new(),
            };
            return Err(format!("ERR Error registering functions: {msg}"));
        }
        let functions = registered.into_inner();
        if functions.is_empty() {
            return Err("ERR No functions registered".into());
        }
        for f in &functions {
            if self.libs.index.get(&f.name).is_some_and(|lib| *lib != name) {
                return Err(format!("ERR Function {} already exists", f.name));
            }
        }
        self.libs.delete(name.as_bytes());
        for f in &functions {
            self.libs.index.insert(f.name.clone(), name.clone());
        }
        self.libs.libs.insert(name.clone(), Library { name: name.clone(), code: code.clone(), functions });
        Ok(name)
    }
}
