-- moonrig's ds18b20: the NodeMCU Lua module of that name (docs/lua-modules/ds18b20.md),
-- written here over `ow` and `tmr`. read_temp finds the thermometers on a pin's bus (once, or
-- again on force_search), starts their conversions and, 750 ms later, reads each scratchpad
-- and hands the callback the temperatures by 8-byte address. Parasite-powered sensors need
-- the strong pull-up to themselves while converting, so after the first round (all powered
-- sensors and the first parasite one) the others convert one at a time.
local M = { C = "C", F = "F", K = "K", sens = {}, temp = {} }

local SAVE_FILE = "ds18b20_save.lc"
local CONVERT_MS = 750
-- Thermometer family codes: DS18S20, DS1822, DS18B20, DS1825/MAX31850.
local FAMILIES = { [0x10] = true, [0x22] = true, [0x28] = true, [0x3B] = true }

local debug = false
local unit = M.C
local busy = false

local function log(...)
  if debug then print("ds18b20:", ...) end
end

function M.enable_debug()
  debug = true
end

local function hex(addr)
  return (("%02X"):rep(8, ":")):format(addr:byte(1, 8))
end

local function parasite(pin, addr)
  ow.reset(pin)
  ow.select(pin, addr)
  ow.write(pin, 0xB4, 1)
  -- A parasite-powered part pulls the read slot low.
  return ow.read(pin) == 0 and 1 or 0
end

local function search(pin)
  local found = {}
  ow.setup(pin)
  ow.reset_search(pin)
  local addr = ow.search(pin)
  while addr do
    if FAMILIES[addr:byte(1)] and ow.crc8(addr:sub(1, 7)) == addr:byte(8) then
      local p = parasite(pin, addr)
      found[#found + 1] = addr .. string.char(p)
      log("found", hex(addr), p == 1 and "parasite" or "powered")
    else
      log("skipped", hex(addr))
    end
    addr = ow.search(pin)
  end
  ow.reset_search(pin)
  return found
end

local function save(list)
  local parts = {}
  for i, s in ipairs(list) do
    parts[i] = ("%q"):format(s)
  end
  file.putcontents(SAVE_FILE, "return {" .. table.concat(parts, ",") .. "}\n")
end

local function load()
  if not file.exists(SAVE_FILE) then return nil end
  local ok, list = pcall(dofile, SAVE_FILE)
  if ok and type(list) == "table" then return list end
  return nil
end

local function convert(value, family)
  local raw = value
  if raw >= 0x8000 then raw = raw - 0x10000 end
  local celsius
  if family == 0x10 then
    -- DS18S20: 9-bit value in half degrees.
    celsius = raw / 2
  else
    celsius = raw / 16
  end
  if unit == M.F then return celsius * 9 / 5 + 32 end
  if unit == M.K then return celsius + 273.15 end
  return celsius
end

local function readout(pin, addr)
  ow.reset(pin)
  ow.select(pin, addr)
  ow.write(pin, 0xBE, 1)
  local data = ow.read_bytes(pin, 9)
  if ow.crc8(data:sub(1, 8)) ~= data:byte(9) then
    log("crc error", hex(addr))
    return nil
  end
  return convert(data:byte(1) + data:byte(2) * 256, addr:byte(1))
end

local function start(pin, group)
  for _, s in ipairs(group) do
    ow.reset(pin)
    ow.select(pin, s:sub(1, 8))
    ow.write(pin, 0x44, 1)
  end
end

-- Rounds of sensors to convert together: the powered ones with the first parasite one, then
-- every other parasite one alone.
local function rounds(list)
  local first = {}
  local all = { first }
  local shared = false
  for _, s in ipairs(list) do
    if s:byte(9) ~= 1 then
      first[#first + 1] = s
    elseif not shared then
      shared = true
      first[#first + 1] = s
    else
      all[#all + 1] = { s }
    end
  end
  return all
end

function M.read_temp(self, callback, pin, u, force_search, save_search)
  pin = pin or 3
  if u ~= nil then unit = u end
  if busy then
    log("a read is already under way")
    return
  end
  if force_search then
    self.sens = search(pin)
  elseif #self.sens == 0 then
    self.sens = load() or search(pin)
  end
  if save_search then save(self.sens) end
  self.temp = {}
  local plan = rounds(self.sens)
  local index = 0
  local timer = tmr.create()
  local function step()
    index = index + 1
    local group = plan[index]
    if not group or #group == 0 then
      busy = false
      timer:unregister()
      if callback then callback(self.temp) end
      return
    end
    start(pin, group)
    timer:alarm(CONVERT_MS, tmr.ALARM_SINGLE, function()
      for _, s in ipairs(group) do
        local addr = s:sub(1, 8)
        local t = readout(pin, addr)
        if t then self.temp[addr] = t end
      end
      step()
    end)
  end
  busy = true
  step()
end

return M
