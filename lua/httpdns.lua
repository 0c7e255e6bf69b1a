-- httpdns: host name lookups over HTTP DNS services, for networks whose own DNS is slow or
-- tampered with. Written for moonrig from the library's documented behaviour.
-- Both calls block the calling sys task (they use http.request(...).wait()) and return the
-- first IPv4 address the service gives, or nil when the name is nil, the request fails,
-- the service answers with anything but 200, or its answer holds no address.
-- `opts` is passed to http.request (adapter, timeout ...); timeout defaults to 3000 ms.
-- On a PC the services' addresses are real public hosts: a test or an offline run points
-- them elsewhere with --map 223.5.5.5=http://127.0.0.1:PORT (and 119.29.29.29).

local httpdns = {}

local ALI_URL = "http://223.5.5.5/resolve?short=1&name="
local TX_URL = "http://119.29.29.29/d?dn="
local DEFAULT_TIMEOUT = 3000

local function get(url, opts)
  opts = opts or {}
  if opts.timeout == nil then opts.timeout = DEFAULT_TIMEOUT end
  local code, _, body = http.request("GET", url, nil, nil, opts).wait()
  if code ~= 200 or type(body) ~= "string" or #body <= 2 then return nil end
  return body
end

-- Alibaba's service answers a JSON array of addresses: ["1.2.3.4","5.6.7.8"].
function httpdns.ali(name, opts)
  if name == nil then return nil end
  local body = get(ALI_URL .. tostring(name), opts)
  if not body then return nil end
  local list = json.decode(body)
  if type(list) == "table" and #list > 0 then return list[1] end
  return nil
end

-- Tencent's service answers the addresses separated by semicolons, optionally followed by
-- ",TTL": the answer is the text before the first comma (several addresses stay together,
-- "a;b", as the firmware returns them).
function httpdns.tx(name, opts)
  if name == nil then return nil end
  local body = get(TX_URL .. tostring(name), opts)
  if not body then return nil end
  local parts = body:split(",")
  if parts then return parts[1] end
  return nil
end

function httpdns.version()
  return "202607021200"
end

log.debug("httpdns", "version -> " .. httpdns.version())

return httpdns
