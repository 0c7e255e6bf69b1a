-- libfota2: the firmware-over-the-air request of LuatOS (v2), written for moonrig from
-- the documented behaviour. Without an own server URL the Luat IoT platform needs the
-- global PRODUCT_KEY (result 5 at once, as on the device). Otherwise the request ends the
-- way "already the latest version" does on a device: the callback runs in a task shortly
-- afterwards with result 4. moonrig never contacts an update server.
--
-- Result codes: 0 success, 1 connection failed, 2 bad URL, 3 server closed, 4 no update /
-- bad reply, 5 PRODUCT_KEY or VERSION missing.

local sys = require("sys")

local libfota2 = {}

local NO_UPDATE = 4
local NEEDS_PRODUCT_KEY = 5

-- libfota2.request(cbFnc[, opts]): opts.url (own server), opts.project_key, opts.version,
-- opts.imei, opts.firmware_name, opts.timeout, ... as the firmware's library takes them.
function libfota2.request(cbFnc, opts)
  opts = opts or {}
  if type(cbFnc) ~= "function" then cbFnc = function() end end
  if not opts.url and not (opts.project_key or _G.PRODUCT_KEY) then
    log.error("fota", "iot.openluat.com need PRODUCT_KEY!!!")
    cbFnc(NEEDS_PRODUCT_KEY)
    return
  end
  local url = opts.url or "http://iot.openluat.com/api/site/firmware_upgrade"
  sys.taskInit(function()
    sys.wait(10)
    log.info("fota", "no update available", url)
    cbFnc(NO_UPDATE)
  end)
end

function libfota2.version()
  return "202607021200"
end

return libfota2
