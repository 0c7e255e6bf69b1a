-- air153C_wtd: drives the Air153C external watchdog chip through one GPIO. Written for
-- moonrig from the library's documented behaviour. The chip watches its input pin: a high
-- pulse of about 400 ms is a feed, a longer one (700 ms) switches the watchdog off. The
-- pin levels go through `gpio`, so on a PC each pulse is in the hardware record
-- (rt.hardware.filter("gpio")): setup/set events with their times.
--
-- Like the firmware's copy, the module is also the global `air153C_wtd`.

local sys = require("sys")

air153C_wtd = {}

local FEED_PULSE_MS = 400
local STOP_PULSE_MS = 700

-- The pin as an output held low (pulled down), the chip's idle level.
function air153C_wtd.init(watchdogPin)
  gpio.setup(watchdogPin, 0, gpio.PULLDOWN)
  gpio.set(watchdogPin, 0)
end

-- Ends a pulse.
function air153C_wtd.callback(watchdogPin)
  gpio.set(watchdogPin, 0)
end

local function pulse(pin, ms)
  gpio.set(pin, 1)
  sys.timerStart(air153C_wtd.callback, ms, pin)
end

function air153C_wtd.feed_dog(watchdogPin)
  pulse(watchdogPin, FEED_PULSE_MS)
end

-- Switches the watchdog off until the next feed: use with care.
function air153C_wtd.close_watch_dog(watchdogPin)
  pulse(watchdogPin, STOP_PULSE_MS)
end

function air153C_wtd.version()
  return "202607011722"
end

log.debug("air153C_wtd", "version -> " .. air153C_wtd.version())

return air153C_wtd
