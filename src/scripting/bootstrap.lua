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

-- Errors raised by the Rust functions (redis.call, redis.setresp, ...) arrive
-- as userdata whose text carries the Redis error between \1 and \2.
local function from_rust(err)
  if type(err) == 'userdata' then
    local m = smatch(tostring(err), '\1(.-)\2')
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
    if i.source == '@user_script' then
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

local function run(f)
  return xpcall(f, err_handler)
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
for _, name in ipairs({ 'redis', 'string', 'math', 'table', 'bit', 'coroutine' }) do
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

return redis, run, env
