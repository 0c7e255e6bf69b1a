-- netLed: the network-status LED helper of LuatOS, written for moonrig from the documented
-- behaviour. A PC has no status LED, so nothing blinks; every call is accepted and
-- recorded in the module's fields, so a script (or a test) can see what was configured:
--   netLed.enabled, netLed.ledPin, netLed.ltePin   from setup()
--   netLed.blinkTime[state] = {on, off}            from setBlinkTime() and the defaults
--   netLed.state                                   the status the LED would show
--   netLed.calls                                   every call, in order, as {name, ...}

local sys = require("sys")

local netLed = {}

netLed.enabled = false
netLed.state = "IDLE"
netLed.calls = {}

-- Default on/off times in ms per state (0xFFFF: always on / always off).
netLed.blinkTime = {
  FLYMODE = { 0, 0xFFFF },
  SIMERR = { 300, 5700 },
  IDLE = { 300, 3700 },
  GSM = { 300, 1700 },
  GPRS = { 300, 700 },
  SCK = { 100, 100 },
}

local function record(name, ...)
  netLed.calls[#netLed.calls + 1] = { name, ... }
end

-- netLed.setup(flag, ledPin, ltePin)
function netLed.setup(flag, ledPin, ltePin)
  record("setup", flag, ledPin, ltePin)
  netLed.enabled = flag and true or false
  netLed.ledPin = ledPin
  netLed.ltePin = ltePin
  netLed.setState()
end

-- netLed.setBlinkTime(state, on, off)
function netLed.setBlinkTime(state, on, off)
  record("setBlinkTime", state, on, off)
  if netLed.blinkTime[state] and type(on) == "number" and type(off) == "number" then
    netLed.blinkTime[state] = { on, off }
  end
end

-- Works out the state from the modem, as the firmware's library does.
function netLed.setState()
  local state = "IDLE"
  local mobile = _G.mobile
  if type(mobile) == "table" and type(mobile.status) == "function" then
    local status = mobile.status()
    if status == 1 or status == 5 then state = "GPRS" end
  elseif _G.wlan then
    state = "GPRS"
  end
  netLed.state = state
  record("setState", state)
end

-- The firmware's LED tasks run forever; here they record the call and return.
function netLed.taskLed(ledPinSetFunc)
  record("taskLed", ledPinSetFunc)
end

function netLed.taskLte(ledPinSetFunc)
  record("taskLte", ledPinSetFunc)
end

-- One breathing cycle of the LED: takes as long as on the device when called in a task,
-- so a script that calls it in a loop does not spin.
function netLed.setupBreateLed(ledPin)
  record("setupBreateLed", ledPin)
  if coroutine.isyieldable() then sys.wait(1000) end
end

return netLed
