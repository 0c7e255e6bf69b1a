-- libfota: the firmware-over-the-air request of LuatOS (v1), written for moonrig from the
-- documented behaviour. A PC has no firmware to replace and moonrig does not contact
-- update servers, so every request ends the way "already the latest version" does on a
-- device: the callback runs in a task, shortly afterwards, with result 4.
--
-- Result codes: 0 success, 1 connection failed, 2 bad URL, 3 server closed, 4 bad or no
-- update in the reply, 5 VERSION not in the xxx.yyy form the IoT platform needs.

local sys = require("sys")

local libfota = {}

local NO_UPDATE = 4

-- libfota.request(cbFnc[, storge_location[, len[, param1[, ota_url[, ota_port[, timeout]]]]]])
function libfota.request(cbFnc, storge_location, len, param1, ota_url, ota_port, timeout)
  local url = ota_url or "http://iot.openluat.com/api/site/firmware_upgrade"
  sys.taskInit(function()
    sys.wait(10)
    log.info("libfota", "no update available", url)
    if type(cbFnc) == "function" then cbFnc(NO_UPDATE) end
  end)
end

return libfota
