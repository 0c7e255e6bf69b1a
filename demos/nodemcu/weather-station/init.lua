-- Weather station: joins Wi-Fi, then hands over to app.lua once an IP address arrives.
-- Runs unchanged on an ESP8266; on a PC: moonrig --broker embedded demos/nodemcu/weather-station
local config = require("config")

wifi.setmode(wifi.STATION)
wifi.eventmon.register(wifi.eventmon.STA_GOT_IP, function(info)
  print("wifi: got " .. info.IP)
  dofile("app.lua")
end)
wifi.sta.config({ ssid = config.ssid, pwd = config.pwd, auto = true })
