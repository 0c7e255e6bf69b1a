-- lbsLoc2: cell-tower location (blocking form, inside a sys task), written for moonrig
-- from the documented behaviour. No request leaves the PC: after a short wait it returns
-- a fixed, plausible fix (central Shanghai) as the server formats it, and with reqTime
-- the server time (UTC+8) as {year, month, day, hour, min, sec}.
--
-- A script can choose the fix: lbsLoc2.location = {lat = "031.2304160", lng = "121.4737010"}.

local sys = require("sys")

local lbsLoc2 = {}

lbsLoc2.location = { lat = "031.2304160", lng = "121.4737010" }

-- lbsLoc2.request([timeout[, host[, port[, reqTime]]]]) → lat, lng[, time table]
function lbsLoc2.request(timeout, host, port, reqTime)
  sys.wait(50)
  local fix = lbsLoc2.location
  if not reqTime then return fix.lat, fix.lng end
  local t = os.date("!*t", os.time() + 8 * 3600)
  return fix.lat, fix.lng, { year = t.year, month = t.month, day = t.day, hour = t.hour, min = t.min, sec = t.sec }
end

return lbsLoc2
