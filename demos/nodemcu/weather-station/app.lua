-- MQTT part: last will, periodic readings, commands, and reconnecting by hand when offline.
local config = require("config")
local LED = 4
local sent = 0

gpio.mode(LED, gpio.OUTPUT)
local client = mqtt.Client("station-" .. node.chipid(), 30)
client:lwt(config.base .. "/status", "offline", 1, 1)

local reading = tmr.create()
reading:register(config.interval_ms, tmr.ALARM_AUTO, function()
  sent = sent + 1
  local payload = sjson.encode({ n = sent, light = adc.read(0), heap = node.heap() })
  client:publish(config.base .. "/telemetry", payload, 0, 0)
  print("sent " .. payload)
  if sent == config.readings then
    -- A demo ends by itself; a real station would keep reporting.
    reading:unregister()
    client:publish(config.base .. "/status", "done", 1, 1, function() client:close() end)
  end
end)

local function connect()
  client:connect(config.broker, config.port, false, function(c)
    print("mqtt: connected")
    c:publish(config.base .. "/status", "online", 1, 1)
    c:subscribe(config.base .. "/led", 0, function() reading:start() end)
  end, function(_, reason)
    print("mqtt: connection failed (" .. reason .. "), retrying")
    tmr.create():alarm(5000, tmr.ALARM_SINGLE, connect)
  end)
end

client:on("message", function(_, topic, data)
  print("command " .. topic .. " = " .. tostring(data))
  gpio.write(LED, data == "on" and gpio.HIGH or gpio.LOW)
end)

client:on("offline", function()
  print("mqtt: offline")
  reading:stop()
  if sent < config.readings then tmr.create():alarm(5000, tmr.ALARM_SINGLE, connect) end
end)

connect()
