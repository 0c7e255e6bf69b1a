-- Site settings; the broker name is the one the device uses in the field.
return {
  ssid = "greenhouse",
  pwd = "tomatoes",
  broker = "mqtt.greenhouse.lan",
  port = 1883,
  base = "greenhouse/" .. string.format("%06x", node.chipid()),
  interval_ms = 1000,
  readings = 3,
}
