-- httpplus: an HTTP/1.1 client over raw `socket` connections, for what http.request does
-- not do: headers and bodies of any length, multipart forms with files (or data streamed
-- from a function), zbuff bodies, credentials in the URL, and downloads handed to a
-- callback, a file or fota. Written for moonrig from the library's documented behaviour.
--
-- httpplus.request(opts) -> code, resp. Call it from a sys task. opts:
--   url (required), method (default POST when there is a body, else GET), headers,
--   forms {k = v} (urlencoded, or multipart parts when there are files), files
--   {name = path | {size, fill_data_func(sent, count), filename}}, multipart, body (string,
--   zbuff, or a table sent as JSON), bodyfile (a file as the body), timeout (response, in
--   seconds, default 30), adapter, try_ipv6, server_cert, client_cert, client_key,
--   client_password, callback(total, len, data[, userdata]) for each piece of the body,
--   userdata, is_big_file (body only to the callback), dst (body to a file), fota.
-- code >= 100: the server's status and resp = {headers = {...}, body = zbuff} (body nil
-- when it went to the callback, dst or fota; with fota also fota_success, fota_msg). The
-- body is kept for 200 and 206 answers with a Content-Length or chunked encoding.
-- code < 0: resp is the reason. -100 no or short url, -101 bad url, -102 no socket,
-- -103 connect refused at once, -104 no connection (5 s), -105 is_big_file without
-- callback, -106 dst not writable, -107 no fota, -108 bad stream size, -109 stream
-- without fill_data_func, -104 bodyfile missing, -199 sending failed, -1 response timeout,
-- -197/-196 a status line that is not HTTP.
--
-- Headers go out sorted by name and form fields and files by key, so a request's bytes
-- are the same on every run (the firmware's follow its table order).

local sys = require("sys")

local httpplus = {}

local TAG = "httpplus"
local CONNECT_TIMEOUT = 5000
local DEFAULT_TIMEOUT_S = 30
local UPLOAD_CHUNK = 24 * 1024

local CONTENT_TYPES = {
  txt = "text/plain", jpg = "image/jpeg", jpeg = "image/jpeg", png = "image/png",
  gif = "image/gif", html = "text/html", json = "application/json", mp4 = "video/mp4",
  mp3 = "audio/mp3", webm = "video/webm",
}

local function contentTypeOf(name)
  return CONTENT_TYPES[name:match("%.(%w+)$") or ""] or "application/octet-stream"
end

local function sortedKeys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  return keys
end

-- scheme://[user:pass@]host[:port][/path] -> is_ssl, host, port, uri, credentials
local function parseUrl(url)
  local rest, ssl = url, false
  if url:sub(1, 8) == "https://" then
    rest, ssl = url:sub(9), true
  elseif url:sub(1, 7) == "http://" then
    rest = url:sub(8)
  end
  local slash = rest:find("/", 1, true)
  local authority, uri = rest, "/"
  if slash then authority, uri = rest:sub(1, slash - 1), rest:sub(slash) end
  if authority == "" then return nil end
  local credentials
  local at = authority:find("@", 1, true)
  if at then credentials, authority = authority:sub(1, at - 1), authority:sub(at + 1) end
  local host, port = authority, nil
  local colon = authority:find(":", 1, true)
  if colon then host, port = authority:sub(1, colon - 1), tonumber(authority:sub(colon + 1)) end
  if not port or port < 1 then port = ssl and 443 or 80 end
  return ssl, host, port, uri, credentials
end

-- Plans the request: the body parts in order and their total length. Returns nil on
-- success, or the error code and text.
local function prepare(opts)
  if type(opts) ~= "table" then return -100, "opts is required" end
  if type(opts.url) ~= "string" or #opts.url < 5 then return -100, "no url, or a url too short" end
  opts.headers = opts.headers or {}
  local headers = opts.headers
  local ssl, host, port, uri, credentials = parseUrl(opts.url)
  if not host then return -101, "invalid url" end
  if credentials and not headers["Authorization"] then
    headers["Authorization"] = "Basic " .. credentials:toBase64()
  end
  if not headers["Host"] then
    local default = (ssl and port == 443) or (not ssl and port == 80)
    headers["Host"] = default and host or string.format("%s:%d", host, port)
  end
  headers["Connection"] = "Close"
  opts.host, opts.port, opts.uri, opts.is_ssl = host, port, uri, ssl

  local parts, length = {}, 0
  local function add(part, size)
    parts[#parts + 1] = part
    length = length + size
  end
  local boundary = "----WebKitFormBoundary" .. os.time()
  opts.boundary = boundary
  local multipart = opts.multipart or opts.files ~= nil

  if opts.forms then
    if multipart then
      for _, k in ipairs(sortedKeys(opts.forms)) do
        local head = string.format('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n', boundary, k)
        local value = tostring(opts.forms[k])
        add(head .. value .. "\r\n", #head + #value + 2)
      end
    else
      headers["Content-Type"] = headers["Content-Type"] or "application/x-www-form-urlencoded;charset=UTF-8"
      local pairsText = {}
      for _, k in ipairs(sortedKeys(opts.forms)) do
        pairsText[#pairsText + 1] = string.urlEncode(tostring(k)) .. "=" .. string.urlEncode(tostring(opts.forms[k]))
      end
      if #pairsText > 0 then
        local text = table.concat(pairsText, "&")
        add(text, #text)
      end
    end
  end

  if opts.files then
    for _, k in ipairs(sortedKeys(opts.files)) do
      local v = opts.files[k]
      if type(v) == "string" then
        local head = string.format('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\nContent-Type: %s\r\n\r\n',
          boundary, k, v:match("([^/\\]+)$") or v, contentTypeOf(v))
        add({ head = head, path = v }, #head + (io.fileSize(v) or 0) + 2)
      elseif type(v) == "table" then
        if type(v.size) ~= "number" or v.size < 0 then return -108, "a stream's size must be a number >= 0" end
        if type(v.fill_data_func) ~= "function" then return -109, "a stream needs fill_data_func" end
        local name = v.filename or k
        local head = string.format('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\nContent-Type: %s\r\n\r\n',
          boundary, k, name, contentTypeOf(name))
        add({ head = head, stream = v }, #head + v.size + 2)
      end
    end
  end

  if multipart then
    if not opts.body then add("--" .. boundary .. "--\r\n", #boundary + 6) end
    headers["Content-Type"] = headers["Content-Type"] or ("multipart/form-data; boundary=" .. boundary)
  end

  if opts.bodyfile then
    local f = io.open(opts.bodyfile, "rb")
    if not f then return -104, "bodyfile does not exist" end
    f:close()
    parts, length = { { path = opts.bodyfile, bare = true } }, io.fileSize(opts.bodyfile) or 0
  elseif opts.body and length == 0 then
    local body = opts.body
    if type(body) == "userdata" then
      add(body, body:used())
    elseif type(body) == "table" then
      local text = json.encode(body, "7f")
      if text then
        headers["Content-Type"] = headers["Content-Type"] or "application/json;charset=UTF-8"
        add(text, #text)
      end
    else
      local text = tostring(body)
      add(text, #text)
    end
  end
  headers["Content-Length"] = tostring(length)
  opts.parts, opts.body_len = parts, length

  if not opts.method or #opts.method == 0 then
    opts.method = length > 0 and "POST" or "GET"
  else
    opts.method = opts.method:upper()
  end
  if not opts.timeout or opts.timeout == 0 then opts.timeout = DEFAULT_TIMEOUT_S end

  if opts.is_big_file and not opts.callback then return -105, "is_big_file needs a callback" end
  opts.no_cache_body = opts.is_big_file and true or false
  if opts.fota then
    if type(fota) ~= "table" then return -107, "no fota module" end
    opts.no_cache_body = true
  elseif opts.dst then
    opts.no_cache_body = true
    if not opts.write_fd then
      opts.write_fd = io.open(opts.dst, "wb")
      if not opts.write_fd then return -106, "dst cannot be written" end
    end
  end
end

-- ---- the response ----

local function deliver(opts, total, data)
  if opts.write_fd then
    opts.write_fd:write(data)
  elseif opts.fota then
    if not fota.run(data) then opts.fota_error = true end
  end
  if opts.callback then
    if opts.userdata ~= nil then
      opts.callback(total, #data, data, opts.userdata)
    else
      opts.callback(total, #data, data)
    end
  end
  if not opts.no_cache_body then opts.resp.body:copy(nil, data) end
end

local function parseHead(opts)
  local stop = opts.pending:find("\r\n\r\n", 1, true)
  if not stop then return false end
  local head = opts.pending:sub(1, stop - 1)
  opts.pending = opts.pending:sub(stop + 4)
  local status = head:match("^[^\r\n]*")
  local fields = status:split(" ")
  if not fields or #fields < 2 then
    opts.resp_code = -197
    return false
  end
  local code = tonumber(fields[2])
  if not code then
    opts.resp_code = -196
    return false
  end
  opts.resp_code = code
  opts.resp = { headers = {} }
  if not opts.no_cache_body then opts.resp.body = zbuff.create(1024) end
  for line in head:gmatch("\r\n([^\r\n]*)") do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then opts.resp.headers[name:trim()] = value:trim() end
  end
  opts.head_done = true
  return true
end

local function parseBody(opts)
  if not (opts.resp_code == 200 or opts.resp_code == 206) then
    opts.pending = ""
    return
  end
  local headers = opts.resp.headers
  local declared = headers["Content-Length"]
  if declared then
    local total = tonumber(declared) or 0
    local room = total - (opts.received or 0)
    local data = opts.pending
    opts.pending = ""
    if room <= 0 or #data == 0 then return end
    if #data > room then data = data:sub(1, room) end
    opts.received = (opts.received or 0) + #data
    deliver(opts, total, data)
  elseif headers["Transfer-Encoding"] == "chunked" or headers["transfer-encoding"] == "chunked" then
    while not opts.chunks_done do
      local eol = opts.pending:find("\r\n", 1, true)
      if not eol then return end
      local size = tonumber((opts.pending:sub(1, eol - 1):match("^[^;]*")), 16)
      if not size then return end
      if size == 0 then
        opts.chunks_done = true
        return
      end
      if #opts.pending < eol + 1 + size + 2 then return end
      local data = opts.pending:sub(eol + 2, eol + 1 + size)
      opts.pending = opts.pending:sub(eol + 4 + size)
      deliver(opts, 0, data)
    end
  else
    opts.pending = ""
  end
end

local function received(opts, data)
  opts.pending = opts.pending .. data
  if not opts.head_done and not parseHead(opts) then return end
  parseBody(opts)
end

-- ---- the exchange ----

local function onSocket(opts, netc, event)
  if event == socket.ON_LINE or event == socket.TX_OK then
    sys.publish(opts.topic)
  elseif event == socket.EVENT then
    while true do
      local ok, len = socket.rx(netc, opts.rx_buff)
      if not ok then
        opts.is_closed = true
        sys.publish(opts.topic)
        return
      end
      if not len or len == 0 then return end
      local data = opts.rx_buff:query(0, opts.rx_buff:used())
      opts.rx_buff:del()
      received(opts, data)
    end
  elseif event == socket.CLOSED then
    opts.is_closed = true
    sys.publish(opts.topic)
  end
end

-- Sends bytes (a string or zbuff) and waits until they have gone.
local function send(opts, data)
  if opts.is_closed or not socket.tx(opts.netc, data) then return false end
  sys.waitUntil(opts.topic, 1000)
  return true
end

local function sendFile(opts, path)
  local f = io.open(path, "rb")
  if not f then return true end
  while not opts.is_closed do
    local chunk = f:read(UPLOAD_CHUNK)
    if not chunk or #chunk == 0 then break end
    if not send(opts, chunk) then
      f:close()
      return false
    end
  end
  f:close()
  return true
end

local function sendStream(opts, stream)
  local sent, count = 0, 0
  while sent < stream.size and not opts.is_closed do
    count = count + 1
    local data = stream.fill_data_func(sent, count)
    local n = type(data) == "string" and #data or (type(data) == "userdata" and data:used()) or 0
    if n == 0 then
      log.warn(TAG, "the stream ended early")
      break
    end
    if not send(opts, data) then return false end
    sent = sent + n
  end
  return true
end

local function sendBody(opts)
  for _, part in ipairs(opts.parts) do
    local ok = true
    if type(part) == "table" then
      if part.head then ok = send(opts, part.head) end
      if ok and part.path then ok = sendFile(opts, part.path) end
      if ok and part.stream then ok = sendStream(opts, part.stream) end
      if ok and not part.bare then ok = send(opts, "\r\n") end
    else
      ok = send(opts, part)
    end
    if not ok then return false end
  end
  return true
end

local function exchange(opts)
  local netc = socket.create(opts.adapter, function(sc, event, param)
    if opts.netc then
      if event == socket.ON_LINE and param ~= 0 then opts.refused = true end
      onSocket(opts, sc, event)
    end
  end)
  if not netc then return -102, "could not create a socket" end
  opts.netc = netc
  opts.rx_buff = zbuff.create(1024)
  opts.topic = "httpplus_" .. tostring(netc)
  opts.pending = ""
  socket.config(netc, nil, nil, opts.is_ssl, nil, nil, nil, opts.server_cert, opts.client_cert, opts.client_key, opts.client_password)
  if not socket.connect(netc, opts.host, opts.port, opts.try_ipv6) then return -103, "socket.connect refused" end
  if not sys.waitUntil(opts.topic, CONNECT_TIMEOUT) or opts.refused then return -104, "could not connect" end
  if opts.fota then
    fota.init()
    local tries = 0
    while not fota.wait() do
      tries = tries + 1
      if tries > 100 then return -108, "fota is not ready" end
      sys.wait(100)
    end
  end

  local timedOut = false
  local timer = sys.timerStart(function()
    timedOut = true
    sys.publish(opts.topic)
  end, opts.timeout * 1000)
  local lines = { string.format("%s %s HTTP/1.1\r\n", opts.method, opts.uri) }
  for _, name in ipairs(sortedKeys(opts.headers)) do
    lines[#lines + 1] = string.format("%s: %s\r\n", name, opts.headers[name])
  end
  lines[#lines + 1] = "\r\n"
  if not send(opts, table.concat(lines)) or not sendBody(opts) then
    sys.timerStop(timer)
    return -199, "sending failed"
  end
  while not opts.is_closed and not timedOut do sys.waitUntil(opts.topic, 100) end
  sys.timerStop(timer)
  if timedOut then return -1, "timeout" end
  if not opts.resp_code then return -197, "no HTTP answer" end
  return opts.resp_code, opts.resp
end

local function finishFota(opts, resp)
  if opts.fota_error then
    fota.finish(false)
    resp.fota_success, resp.fota_msg = false, "fota.run failed"
    return
  end
  local ok, done = fota.isDone()
  fota.finish(ok and done and true or false)
  resp.fota_success = ok and done and true or false
  resp.fota_msg = resp.fota_success and "upgrade received, restart to apply" or "fota.isDone check failed"
end

function httpplus.request(opts)
  local code, why = prepare(opts)
  if code then return code, why end
  local ok, result, resp = pcall(exchange, opts)
  if opts.write_fd then
    opts.write_fd:close()
    opts.write_fd = nil
  end
  if opts.netc then
    socket.close(opts.netc)
    socket.release(opts.netc)
    opts.netc = nil
  end
  if not ok then
    log.error(TAG, result)
    return -199, result
  end
  if type(resp) == "table" then
    if opts.fota and (result == 200 or result == 206) then finishFota(opts, resp) end
    if opts.no_cache_body then resp.body = nil end
  end
  return result, resp
end

function httpplus.version()
  return "202607021200"
end

log.debug("httpplus", "version -> " .. httpplus.version())

return httpplus
