-- lbsLoc: cell-tower location (asynchronous form), written for moonrig from the
-- documented behaviour. No request leaves the PC: after a short delay the callback runs
-- in a task with a fixed, plausible fix (central Shanghai, WGS84), formatted as the
-- location server's reply is: latitude and longitude as strings with 3 integer and 7
-- decimal digits, and the server time as 6 bytes (year - 2000, month, day, hour, minute,
-- second, UTC+8) when requested.
--
-- A script can choose the fix: lbsLoc.location = {lat = "031.2304160", lng = "121.4737010"}.
--
-- cbFnc(result, lat, lng, addr, time, locType): result 0 success (1 network not ready,
-- 2 connect failed, 3 send failed, 4 timeout, 5 server refused); locType 0 = cell fix.

local sys = require("sys")

local lbsLoc = {}

lbsLoc.location = { lat = "031.2304160", lng = "121.4737010" }

local function serverTime()
  local t = os.date("!*t", os.time() + 8 * 3600)
  return string.char(t.year - 2000, t.month, t.day, t.hour, t.min, t.sec)
end

-- lbsLoc.request(cbFnc[, reqAddr[, timeout[, productKey[, host[, port[, reqTime[, reqWifi]]]]]]])
function lbsLoc.request(cbFnc, reqAddr, timeout, productKey, host, port, reqTime, reqWifi)
  sys.taskInit(function()
    sys.wait(50)
    if type(cbFnc) ~= "function" then return end
    local fix = lbsLoc.location
    cbFnc(0, fix.lat, fix.lng, nil, serverTime(), 0)
  end)
end

return lbsLoc
