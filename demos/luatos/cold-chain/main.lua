-- Cold-chain tracker: a cellular module reports fridge temperatures over MQTT and takes
-- commands. Runs unchanged on an Air780E; on a PC:
--   moonrig --broker embedded demos/luatos/cold-chain
PROJECT = "cold_chain"
VERSION = "1.0.0"

local sys = require "sys"
local config = require "config"
local telemetry = require "telemetry"

local imei = mobile.imei()
local topics = {
  up = "coldchain/" .. imei .. "/up",
  down = "coldchain/" .. imei .. "/down",
  status = "coldchain/" .. imei .. "/status",
}
local client

-- Downlink commands arrive as JSON: {"cmd":"interval","ms":500} or {"cmd":"stop"}.
local function handle(payload)
  local command, ok = json.decode(payload)
  if not ok or type(command) ~= "table" then
    log.warn("downlink", "not JSON", payload)
    return
  end
  if command.cmd == "interval" and math.type(command.ms) == "integer" then
    config.interval_ms = command.ms
    log.info("downlink", "interval now", command.ms)
  elseif command.cmd == "stop" then
    sys.publish("STOP_REPORTING")
  end
end

sys.taskInit(function()
  sys.waitUntil("IP_READY", 30000)
  log.info("net", "ready", socket.localIP())
  client = mqtt.create(nil, config.broker, config.port)
  client:auth("cc-" .. imei, "", "")
  client:keepalive(60)
  client:will(topics.status, "offline", 1, 1)
  client:autoreconn(true, 3000)
  client:on(function(c, event, data, payload)
    if event == "conack" then
      -- The broker forgets subscriptions across reconnects: restore them every time.
      c:subscribe(topics.down, 1)
      c:publish(topics.status, "online", 1, 1)
      sys.publish("MQTT_READY")
    elseif event == "recv" then
      handle(payload)
    elseif event == "disconnect" then
      log.warn("mqtt", "disconnected", data)
    end
  end)
  client:connect()
end)

sys.taskInit(function()
  sys.waitUntil("MQTT_READY")
  local stop = false
  sys.subscribe("STOP_REPORTING", function() stop = true end)
  local n = 0
  while not stop and n < config.max_reports do
    n = n + 1
    if client:ready() then
      client:publish(topics.up, json.encode(telemetry.sample(n)), 0)
      log.info("report", n)
    end
    sys.wait(config.interval_ms)
  end
  client:publish(topics.status, "done", 1, 1)
  sys.wait(200)
  client:close()
  log.info("tracker", "finished after", n, "reports")
end)

sys.run()
