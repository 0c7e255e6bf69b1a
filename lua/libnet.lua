-- libnet: blocking forms of the asynchronous `socket` API, for tasks started with
-- sys.taskInitEx (sysplus). Each call starts the socket operation; when the operation
-- does not complete at once, the task waits for the event the socket library sends to it
-- by task name ({event, result}: result 0 is success). Written for moonrig from the
-- documented behaviour. Failures (no socket module on this board, a refused operation,
-- a timeout) are `false` returns, never errors. A timeout of 0 or nil waits forever.

local sys = require("sys")

local libnet = {}

-- The socket library and one of its functions, or nil on a board without it.
local function socketFunction(name)
  local sock = _G.socket
  if type(sock) ~= "table" then return nil end
  local fn = sock[name]
  if type(fn) ~= "function" then return nil end
  return fn, sock
end

-- Waits for `event` sent to the task; true when it reports success.
local function awaitEvent(taskName, event, timeout)
  local message = sys.waitMsg(taskName, event, timeout)
  return type(message) == "table" and message[2] == 0, message
end

-- Runs socket.<name>(...) and, when it is still in progress, waits for `eventName`.
local function blocking(name, eventName, taskName, timeout, ...)
  local fn, sock = socketFunction(name)
  if not fn then return false end
  local ok, done = fn(...)
  if not ok then return false end
  if done then return true end
  return (awaitEvent(taskName, sock[eventName], timeout))
end

-- Waits until the network adapter is up (arguments after timeout as socket.linkup).
function libnet.waitLink(taskName, timeout, ...)
  return blocking("linkup", "LINK", taskName, timeout, ...)
end

-- Connects (and completes the TLS handshake) (arguments as socket.connect).
function libnet.connect(taskName, timeout, ...)
  return blocking("connect", "ON_LINE", taskName, timeout, ...)
end

-- Waits for a client to connect to a listening socket (arguments as socket.listen).
function libnet.listen(taskName, timeout, ...)
  return blocking("listen", "ON_LINE", taskName, timeout, ...)
end

-- Sends and waits until the data has gone: ok, whether the send buffer was full.
function libnet.tx(taskName, timeout, ...)
  local fn, sock = socketFunction("tx")
  if not fn then return false, false end
  local ok, full, done = fn(...)
  if not ok then return false, full end
  if full then return true, true end
  if done then return true, full end
  if awaitEvent(taskName, sock.TX_OK, timeout) then return true, false end
  return false, full
end

-- Waits for the next network event on netc: (false, false) on a network error,
-- (true, true) when an event arrived, (true, false) on timeout. Sending the task
-- socket.EVENT ends the wait early.
function libnet.wait(taskName, timeout, netc)
  local fn, sock = socketFunction("wait")
  if not fn then return false, false end
  local ok, done = fn(netc)
  if not ok then return false, false end
  if done then return true, true end
  local message = sys.waitMsg(taskName, sock.EVENT, timeout)
  if type(message) ~= "table" then return true, false end
  if message[2] == 0 then return true, true end
  return false, false
end

-- Disconnects, waits for the socket to close, then releases it.
function libnet.close(taskName, timeout, netc)
  local discon, sock = socketFunction("discon")
  if discon then
    local ok, done = discon(netc)
    if ok and not done then sys.waitMsg(taskName, sock.CLOSED, timeout) end
  end
  local close = socketFunction("close")
  if close then close(netc) end
end

-- Pings `ip` through adapter `id` (netdrv.ping) and waits for PING_RESULT.
function libnet.ping(id, ip, timeout, len)
  if not id or not ip then
    log.error("libnet.ping", "an adapter id and a target address are required")
    return false
  end
  local netdrv = _G.netdrv
  if type(netdrv) ~= "table" or type(netdrv.ping) ~= "function" then return false end
  if not netdrv.ping(id, ip, len or 128) then return false end
  local event, _, elapsed = sys.waitUntil("PING_RESULT", timeout or 5000)
  return event == true and type(elapsed) == "number" and elapsed > 0
end

function libnet.version()
  return "202607021200"
end

return libnet
