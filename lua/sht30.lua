-- sht30: the Sensirion SHT30 temperature and humidity sensor over LuatOS i2c, written for
-- moonrig from the chip's datasheet (LuatOS ships no sht30 library; the API follows its
-- aht10 library, plus the read() of its AirSHT30_1000 accessory module). Call from a task.
--   sht30.init(i2c_id[, addr])  -> true, or false when no chip answers (addr 0x44 by default)
--   sht30.get_data()            -> { T = °C, RH = % }, or nil on no answer or a CRC error
--   sht30.read()                -> T, RH, or false

local sys = require("sys")

local sht30 = {}

local i2cid
local address = 0x44

local function crc8(s, first, last)
  local crc = 0xFF
  for i = first, last do
    crc = crc ~ s:byte(i)
    for _ = 1, 8 do
      crc = crc & 0x80 ~= 0 and ((crc << 1) ~ 0x31) & 0xFF or (crc << 1) & 0xFF
    end
  end
  return crc
end

function sht30.init(i2c_id, addr)
  i2cid = i2c_id
  address = addr or 0x44
  if not i2c.send(i2cid, address, { 0x30, 0xA2 }) then -- soft reset
    log.info("sht30", "no chip at", address)
    return false
  end
  sys.wait(2)
  i2c.send(i2cid, address, { 0x30, 0x41 }) -- clear status
  return true
end

function sht30.get_data()
  if not i2c.send(i2cid, address, { 0x24, 0x00 }) then return nil end -- single shot, high repeatability
  sys.wait(16)
  local d = i2c.recv(i2cid, address, 6)
  if #d ~= 6 or crc8(d, 1, 2) ~= d:byte(3) or crc8(d, 4, 5) ~= d:byte(6) then return nil end
  local st = (d:byte(1) << 8) | d:byte(2)
  local srh = (d:byte(4) << 8) | d:byte(5)
  return { T = -45 + 175 * st / 65535, RH = 100 * srh / 65535 }
end

function sht30.read()
  local data = sht30.get_data()
  if not data then return false end
  return data.T, data.RH
end

return sht30
