-- ferrokv: the Lua side of the scripting environment, run once when the
-- interpreter is created. It builds the Lua parts of the `redis` library
-- (Rust adds redis.call, redis.pcall and redis.setresp for each run, as C
-- functions so that the caller's frame stays visible for error positions),
-- the error handler that turns any error into Redis's {err=..., source=...,
-- line=...} form, the script runner, and locks the globals the way Redis 7.0
-- does. Returns the `redis` table, the runner and the scripts' environment.

local getinfo = debug.getinfo
local tostring, type, error, xpcall, rawset, select = tostring, type, error, xpcall, rawset, select
local base_pcall, unpack, smatch = pcall, unpack, string.match
local sgsub, schar, tonumber = string.gsub, string.char, tonumber
local function hexbyte(h) return schar(tonumber(h, 16)) end

-- Errors raised by the Rust functions (redis.call, redis.setresp, ...) arrive
-- as userdata whose text carries the Redis error between \1 and \2; those
-- that are plain Lua strings in Redis (luaL_error in cjson, cmsgpack, struct)
-- carry the string in hex between \3 and \4.
local function from_rust(err)
  if type(err) == 'userdata' then
    local s = tostring(err)
    local h = smatch(s, '\3(%x*)\4')
    if h then
      return (sgsub(h, '%x%x', hexbyte))
    end
    local m = smatch(s, '\1(.-)\2')
    if m then
      return { err = m }
    end
  end
  return err
end

-- Where an error happened: the innermost frame of the user's script.
local function err_handler(err)
  local info
  for level = 2, 64 do
    local i = getinfo(level, 'Sl')
    if not i then break end
    if i.source == '@user_script' or i.source == '@user_function' then
      info = i
      break
    end
  end
  err = from_rust(err)
  if type(err) ~= 'table' then
    err = { err = 'ERR ' .. tostring(err) }
  end
  if info then
    err.source = info.source
    err.line = info.currentline
  end
  return err
end

-- Runs a script body, or a library function with its keys and arguments.
local function run(f, keys, args)
  if keys == nil then
    return xpcall(f, err_handler)
  end
  return xpcall(function() return f(keys, args) end, err_handler)
end

-- pcall as Redis 7.0 gives it to scripts: an error table {err=...} comes
-- back as its text; xpcall handlers see Redis errors as {err=...} tables.
local function pack(...)
  return select('#', ...), { ... }
end
rawset(_G, 'pcall', function(...)
  local n, r = pack(base_pcall(...))
  if not r[1] then
    local e = from_rust(r[2])
    if type(e) == 'table' and e.err ~= nil then
      e = e.err
    end
    r[2] = e
  end
  return unpack(r, 1, n)
end)
rawset(_G, 'xpcall', function(f, handler)
  return xpcall(f, function(e) return handler(from_rust(e)) end)
end)

local redis = { sha1hex = __sha1hex, log = __log }
rawset(_G, '__sha1hex', nil)
rawset(_G, '__log', nil)

redis.error_reply = function(msg)
  if type(msg) ~= 'string' then
    error('wrong number or type of arguments', 2)
  end
  return { err = msg }
end

redis.status_reply = function(msg)
  if type(msg) ~= 'string' then
    error('wrong number or type of arguments', 2)
  end
  return { ok = msg }
end

redis.set_repl = function(flags)
  if type(flags) ~= 'number' then
    error('redis.set_repl() requires one argument.', 2)
  end
  if flags < 0 or flags > 3 then
    error('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.', 2)
  end
end

redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end

redis.REPL_NONE = 0
redis.REPL_AOF = 1
redis.REPL_SLAVE = 2
redis.REPL_REPLICA = 2
redis.REPL_ALL = 3
redis.LOG_DEBUG = 0
redis.LOG_VERBOSE = 1
redis.LOG_NOTICE = 2
redis.LOG_WARNING = 3
redis.REDIS_VERSION = '7.0.15'
redis.REDIS_VERSION_NUM = 458767

rawset(_G, 'redis', redis)

-- What Redis 7.0 leaves out of a script's reach.
for _, name in ipairs({ 'debug', 'print', 'dofile', 'loadfile', 'setfenv', 'getfenv', 'newproxy', 'module', 'require', 'package', 'os', 'io' }) do
  rawset(_G, name, nil)
end

-- The global table and the libraries are read-only, and reading an
-- undefined global is an error. Scripts see the libraries (and `_G`) through
-- proxies that read through and refuse assignments; `pairs`, `next`,
-- `rawget` and `rawset` see through (or refuse) the proxies. Scripts run with
-- `env` as their environment, which reads the globals and refuses assignments.
local G = _G
local function readonly() error('Attempt to modify a readonly table', 2) end
local base_next, base_rawset, base_rawget = next, rawset, rawget
local proxies = setmetatable({}, { __mode = 'k' })
local function protect(real)
  local p = setmetatable({}, { __index = real, __newindex = readonly, __metatable = false })
  proxies[p] = real
  return p
end
for _, name in ipairs({ 'redis', 'string', 'math', 'table', 'bit', 'coroutine', 'cjson', 'cmsgpack', 'struct' }) do
  base_rawset(G, name, protect(base_rawget(G, name)))
end
base_rawset(G, '_G', protect(G))
base_rawset(G, 'next', function(t, k) return base_next(proxies[t] or t, k) end)
base_rawset(G, 'pairs', function(t) return base_next, proxies[t] or t, nil end)
base_rawset(G, 'rawget', function(t, k) return base_rawget(proxies[t] or t, k) end)
base_rawset(G, 'rawset', function(t, k, v)
  if proxies[t] or t == G then
    error('Attempt to modify a readonly table', 0)
  end
  return base_rawset(t, k, v)
end)
setmetatable(G, {
  __newindex = readonly,
  __index = function(_, k) error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2) end,
  __metatable = false,
})
local env = setmetatable({}, { __index = G, __newindex = readonly, __metatable = false })

-- Function libraries: each library's code runs in its own environment. While
-- the library loads, only a reduced `redis` (register_function, log and the
-- constants) exists; afterwards its functions see the full environment.
local function missing(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local function lib_env(register)
  local state = { loading = true }
  local load_redis = setmetatable({
    register_function = register,
    log = redis.log,
    LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
    REDIS_VERSION = redis.REDIS_VERSION, REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
  }, { __index = missing, __newindex = readonly, __metatable = false })
  local e = setmetatable({}, {
    __index = function(_, k)
      if state.loading then
        if k == 'redis' then return load_redis end
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      local v = base_rawget(G, k)
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end,
    __newindex = readonly,
    __metatable = false,
  })
  return e, state
end

return redis, run, env, lib_env
