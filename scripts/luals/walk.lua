-- Lists what a fresh Lua state holds, for the editor definitions (scripts/luals/generate.ts):
-- one line per value, tab-separated: KIND, PATH, then details. The generator defines
-- MODULES (the names of the flavor's lazily opened globals), PROBES and CANDIDATES (below)
-- as locals before this chunk; it returns the listing.
local lines = {}
local function emit(...) lines[#lines + 1] = table.concat({...}, "\t") end

local function hex(s)
  return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function signature(f)
  local info = debug.getinfo(f, "Su")
  if info.what ~= "Lua" then return "native" end
  local names = {}
  for i = 1, info.nparams do names[i] = debug.getlocal(f, i) end
  if info.isvararg then names[#names + 1] = "..." end
  return "lua", table.concat(names, ",")
end

local function walk(path, v, seen)
  local t = type(v)
  if t == "function" then
    emit("function", path, signature(v))
  elseif t == "table" then
    if seen[v] and seen[v] ~= path then emit("alias", path, seen[v]) return end
    seen[v] = path
    emit("table", path)
    local keys = {}
    for k in pairs(v) do if type(k) == "string" then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do walk(path .. "." .. k, rawget(v, k), seen) end
  elseif t == "number" then
    emit("number", path, math.type(v), string.format(math.type(v) == "integer" and "%d" or "%.17g", v))
  elseif t == "string" then
    emit("string", path, hex(v))
  elseif t == "boolean" then
    emit("boolean", path, tostring(v))
  else
    emit("value", path, t)
  end
end

local registry = debug.getregistry()
local function metatables()
  local found = {}
  for k, v in pairs(registry) do
    if type(k) == "string" and type(v) == "table" and k ~= "_LOADED" and k ~= "_PRELOAD" then found[k] = v end
  end
  return found
end

-- Opening a module may register its objects' metatables: note whose they are. Some
-- register theirs with the first object made: a PROBES chunk makes one and returns it
-- ({module name, chunk}). An object whose __index is a function (zbuff: buff[i] is a
-- byte) cannot list its methods: CANDIDATES names those to look for, by metatable.
local owner = {}
local before = metatables()
local function claim(name)
  for k in pairs(metatables()) do
    if not before[k] then owner[k] = name; before[k] = true end
  end
end
for _, name in ipairs(MODULES) do
  local _ = _G[name]
  claim(name)
end
local probed = {}
for _, probe in ipairs(PROBES) do
  local object = assert(load(probe[2], "=(probe)"))()
  claim(probe[1])
  local mt = getmetatable(object)
  if type(mt) == "table" and type(rawget(mt, "__name")) == "string" then probed[mt.__name] = object end
end

local names = {}
for k in pairs(_G) do if type(k) == "string" and k ~= "_G" then names[#names + 1] = k end end
table.sort(names)
-- A table reachable from several places (string and package.loaded.string) is listed
-- under its global's name, the others as aliases of it.
local seen = {[_G] = "_G", [registry] = "(registry)"}
for _, name in ipairs(names) do
  local v = rawget(_G, name)
  if type(v) == "table" and not seen[v] then seen[v] = name end
end
for _, name in ipairs(names) do walk(name, rawget(_G, name), seen) end

local regnames = {}
for k in pairs(metatables()) do regnames[#regnames + 1] = k end
table.sort(regnames)
for _, k in ipairs(regnames) do
  local index = rawget(registry[k], "__index")
  local methods, lookup = {}, nil
  if type(index) == "table" then
    for m, f in pairs(index) do if type(m) == "string" and type(f) == "function" then methods[#methods + 1] = m end end
    lookup = function(m) return index[m] end
  elseif type(index) == "function" and probed[k] ~= nil then
    local object = probed[k]
    for _, m in ipairs(CANDIDATES[k] or {}) do if type(object[m]) == "function" then methods[#methods + 1] = m end end
    lookup = function(m) return object[m] end
  end
  if lookup then
    emit("metatable", k, owner[k] or "")
    table.sort(methods)
    for _, m in ipairs(methods) do emit("method", k .. ":" .. m, signature(lookup(m))) end
  end
end
return table.concat(lines, "\n")
