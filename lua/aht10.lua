-- aht10: the AHT10 temperature and humidity sensor over LuatOS i2c, written for moonrig from
-- the API of LuatOS's script library and the chip's datasheet. Call from a task (it waits).
--   aht10.init(i2c_id)   -> true, or false when no chip answers at 0x38
--   aht10.get_data()     -> { RH = fraction 0..1, T = °C }, or nil when the read fails

local sys = require("sys")

local aht10 = {}

local ADDRESS = 0x38
local CMD_INIT = { 0xE1, 0x08, 0x00 }
local CMD_MEASURE = { 0xAC, 0x33, 0x00 }
local CMD_SOFT_RESET = 0xBA
local STATUS_BUSY = 0x80
local STATUS_CALIBRATED = 0x08

local i2cid

local function status()
  local s = i2c.recv(i2cid, ADDRESS, 1)
  return #s == 1 and s:byte(1) or nil
end

function aht10.init(i2c_id)
  i2cid = i2c_id
  sys.wait(40) -- power-up time
  if not i2c.send(i2cid, ADDRESS, CMD_SOFT_RESET) then
    log.info("aht10", "no chip at 0x38")
    return false
  end
  sys.wait(20)
  local s = status()
  if s and s & STATUS_CALIBRATED == 0 then
    i2c.send(i2cid, ADDRESS, CMD_INIT)
    sys.wait(10)
    s = status()
  end
  return s ~= nil and s & STATUS_CALIBRATED ~= 0
end

function aht10.get_data()
  if not i2c.send(i2cid, ADDRESS, CMD_MEASURE) then return nil end
  sys.wait(80) -- conversion time
  local d = i2c.recv(i2cid, ADDRESS, 6)
  if #d ~= 6 or d:byte(1) & STATUS_BUSY ~= 0 then return nil end
  local h = (d:byte(2) << 12) | (d:byte(3) << 4) | (d:byte(4) >> 4)
  local t = ((d:byte(4) & 0x0F) << 16) | (d:byte(5) << 8) | d:byte(6)
  return { RH = h / 0x100000, T = t / 0x100000 * 200 - 50 }
end

return aht10
