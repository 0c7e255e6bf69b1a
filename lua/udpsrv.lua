-- udpsrv: a UDP server on a local port, over the `socket` library. Written for moonrig
-- from the library's documented behaviour.
--
-- udpsrv.create(port, topic[, adapter]) -> server table, or nil when no socket could be
-- made. Each datagram that arrives is published as sys message `topic` with
-- (data, remote_ip, remote_port): data a string, remote_ip dotted IPv4 text (nil for an
-- IPv6 sender). server:send(data, ip, port) answers (socket.tx's results); server:close()
-- stops listening for good. After IP_READY every open server listens again, as a board
-- whose network came back needs. On a PC the port is bound on the PC's own interfaces.

local sys = require("sys")

local udpsrv = {}

-- Open servers by socket, for the IP_READY re-listen.
local servers = {}

-- A UDP socket "connected" to the broadcast address, port 0, only listens: replies name
-- their destination.
local ANY_HOST = "255.255.255.255"
local RX_BUFFER = 1500

local function listen(sc)
  return socket.connect(sc, ANY_HOST, 0)
end

-- rx's remote address: a type byte (0 = IPv4) and the address bytes.
local function dotted(packed)
  if type(packed) ~= "string" or #packed ~= 5 then return nil end
  return string.format("%d.%d.%d.%d", packed:byte(2, 5))
end

local function drain(server, topic)
  local sc, buff = server.sc, server.rxbuff
  while true do
    local ok, len, ip, port = socket.rx(sc, buff)
    if not ok then
      -- The socket broke: open it again on the same port.
      socket.close(sc)
      listen(sc)
      return
    end
    if not len or len <= 0 then return end
    local data = buff:toStr(0, buff:used())
    buff:del()
    sys.publish(topic, data, dotted(ip), port)
  end
end

function udpsrv.create(port, topic, adapter)
  local server = { rxbuff = zbuff.create(RX_BUFFER) }
  local sc = socket.create(adapter, function(sc, event)
    if event == socket.EVENT then
      drain(server, topic)
    elseif event == socket.CLOSED then
      log.info("udpsrv", "network lost, closing", sc)
      socket.close(sc)
    end
  end)
  if not sc then return nil end
  server.sc = sc
  socket.config(sc, port, true)
  if not listen(sc) then
    socket.close(sc)
    socket.release(sc)
    return nil
  end
  function server.send(self, data, ip, to_port)
    if self.sc and data then return socket.tx(self.sc, data, ip, to_port) end
  end
  function server.close(self)
    if not self.sc then return end
    socket.close(self.sc)
    socket.release(self.sc)
    servers[self.sc] = nil
    self.sc = nil
  end
  servers[sc] = true
  return server
end

sys.subscribe("IP_READY", function()
  for sc in pairs(servers) do
    log.info("udpsrv", "network up, listening again", sc)
    listen(sc)
  end
end)

function udpsrv.version()
  return "202607021200"
end

log.debug("udpsrv", "version -> " .. udpsrv.version())

return udpsrv
