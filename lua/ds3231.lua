-- ds3231: the Maxim DS3231 real-time clock over LuatOS i2c, written for moonrig from the API
-- of LuatOS's script library and the chip's datasheet. Time tables are C's struct tm: a full
-- year, month 0-11, weekday 0-6 (0 = Sunday).
--   ds3231.init(i2c_id)        -> true, or false when no chip answers at 0x68
--   ds3231.read_time()         -> { tm_year, tm_mon, tm_mday, tm_hour, tm_min, tm_sec, tm_wday }
--   ds3231.set_time(time)      -> true on success (fields as read_time returns them)
--   ds3231.get_temperature()   -> °C in 0.25 steps

local ds3231 = {}

local ADDRESS = 0x68
local REG_SEC = 0x00
local REG_CONTROL = 0x0E
local REG_STATUS = 0x0F
local REG_TEMP_MSB = 0x11

local i2cid

local function bcd(n) return (n // 10) * 16 + n % 10 end
local function unbcd(b) return (b >> 4) * 10 + (b & 0x0F) end

function ds3231.init(i2c_id)
  i2cid = i2c_id
  -- Oscillator on, square wave off, no alarms; clear the oscillator-stopped flag.
  if not i2c.send(i2cid, ADDRESS, { REG_CONTROL, 0x1C }) then
    log.info("ds3231", "no chip at 0x68")
    return false
  end
  return i2c.send(i2cid, ADDRESS, { REG_STATUS, 0x00 })
end

function ds3231.read_time()
  local d = i2c.readReg(i2cid, ADDRESS, REG_SEC, 7)
  if #d ~= 7 then return nil end
  local hour = d:byte(3)
  if hour & 0x40 ~= 0 then -- 12-hour mode
    hour = unbcd(hour & 0x1F) % 12 + ((hour & 0x20) ~= 0 and 12 or 0)
  else
    hour = unbcd(hour & 0x3F)
  end
  return {
    tm_sec = unbcd(d:byte(1) & 0x7F),
    tm_min = unbcd(d:byte(2) & 0x7F),
    tm_hour = hour,
    tm_wday = (d:byte(4) & 0x07) - 1,
    tm_mday = unbcd(d:byte(5) & 0x3F),
    tm_mon = unbcd(d:byte(6) & 0x1F) - 1,
    tm_year = unbcd(d:byte(7)) + ((d:byte(6) & 0x80) ~= 0 and 2100 or 2000),
  }
end

function ds3231.set_time(t)
  local year = t.tm_year % 100
  local century = t.tm_year >= 2100 and 0x80 or 0
  return i2c.send(i2cid, ADDRESS, {
    REG_SEC, bcd(t.tm_sec), bcd(t.tm_min), bcd(t.tm_hour), (t.tm_wday or 0) + 1,
    bcd(t.tm_mday), bcd(t.tm_mon + 1) | century, bcd(year),
  })
end

function ds3231.get_temperature()
  local d = i2c.readReg(i2cid, ADDRESS, REG_TEMP_MSB, 2)
  if #d ~= 2 then return nil end
  local msb = d:byte(1)
  if msb >= 0x80 then msb = msb - 256 end
  return msb + (d:byte(2) >> 6) * 0.25
end

return ds3231
