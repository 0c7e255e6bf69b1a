-- bh1750: the ROHM BH1750 ambient light sensor over LuatOS i2c, written for moonrig from the
-- API of LuatOS's script library and the chip's datasheet. Call from a task (it waits).
--   bh1750.init(i2c_id)     -> true, or false when no chip answers at 0x23
--   bh1750.read_light()     -> illuminance in lx, or nil when the read fails
--   bh1750.power_on(), bh1750.power_down()

local sys = require("sys")

local bh1750 = {}

local ADDRESS = 0x23
local POWER_DOWN = 0x00
local POWER_ON = 0x01
local RESET = 0x07
local CONTINUOUS_H_RES = 0x10

local i2cid

function bh1750.power_on()
  return i2c.send(i2cid, ADDRESS, POWER_ON)
end

function bh1750.power_down()
  return i2c.send(i2cid, ADDRESS, POWER_DOWN)
end

function bh1750.init(i2c_id)
  i2cid = i2c_id
  if not bh1750.power_on() then
    log.info("bh1750", "no chip at 0x23")
    return false
  end
  i2c.send(i2cid, ADDRESS, RESET)
  i2c.send(i2cid, ADDRESS, CONTINUOUS_H_RES)
  sys.wait(180) -- the first H-resolution measurement
  return true
end

function bh1750.read_light()
  local d = i2c.recv(i2cid, ADDRESS, 2)
  if #d ~= 2 then return nil end
  return ((d:byte(1) << 8) | d:byte(2)) / 1.2
end

return bh1750
