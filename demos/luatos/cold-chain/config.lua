-- Deployment settings; the broker name is the production one.
return {
  broker = "iot.coldchain.example",
  port = 1883,
  interval_ms = 1000,
  max_reports = 5,
}
