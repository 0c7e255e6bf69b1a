-- dhcpsrv: a small DHCP server (RFC 2131) for a LAN the board provides (its Wi-Fi access
-- point, an Ethernet port), over udpsrv. Written for moonrig from the library's documented
-- behaviour.
--
-- dhcpsrv.create(opts) -> server table {clients, opts, udp, task, udp_topic}:
--   opts.adapter  the adapter to serve (socket.LWIP_AP ...)
--   opts.gw       the gateway {a, b, c, d}; default the adapter's own address (netdrv.ipv4),
--                 else {192, 168, 4, 1}
--   opts.mark     the netmask, default {255, 255, 255, 0}
--   opts.ip_start, opts.ip_end   the last octets handed out, default 100..200
--   opts.ack_cb(ip, mac_hex)     called when a client's REQUEST is acknowledged
-- server.clients maps each leased last octet to {mac, ip, tm, stat}.
-- DISCOVER gets an OFFER of the client's lease, or of the lowest free address; REQUEST from
-- a known client gets an ACK, from an unknown one a NAK; other messages are ignored.
-- Replies are broadcast to port 68 with the options: message type, netmask, router, lease
-- time (0x1E00 s), server id (the gateway) and three DNS servers (223.5.5.5, 119.29.29.29,
-- the gateway).
-- dhcpsrv.stop(server) ends its task within a second and closes its socket.
--
-- On a PC the server listens on UDP port 67 like the board's; an ordinary user may not
-- bind ports below 1024, so there the socket does not open and no client is served, while
-- the server object and its task exist as on the board (FIDELITY.md).

local sys = require("sys")
local udpsrv = require("udpsrv")

local dhcpsrv = {}

local TAG = "dhcpsrv"
local TOPIC = "dhcpd_inc"
local SERVER_PORT, CLIENT_PORT = 67, 68
local MAGIC = 0x63825363
local DISCOVER, OFFER, REQUEST, ACK, NAK = 1, 2, 3, 5, 6
local BOOTREQUEST, BOOTREPLY = 1, 2
local FIXED = ">BBBBc4HHc4c4c4c4c16"
local FIXED_SIZE = 44
local LEGACY_AREA = 192 -- sname and file, unused
local LEASE = "\x00\x00\x1E\x00"
local DNS_SERVERS = { "\223\5\5\5", "\119\29\29\29" }

local function quad(t)
  return string.char(t[1], t[2], t[3], t[4])
end

local function dotted(a, b, c, d)
  return string.format("%d.%d.%d.%d", a, b, c, d)
end

-- The request's fields and options, or nil for anything that is not a DHCP message.
local function decode(data)
  if #data < FIXED_SIZE + LEGACY_AREA + 4 then return nil end
  local p = {}
  local pos
  p.op, p.htype, p.hlen, p.hops, p.xid, p.secs, p.flags, p.ciaddr, p.yiaddr, p.siaddr, p.giaddr, p.chaddr, pos = string.unpack(FIXED, data)
  pos = pos + LEGACY_AREA
  p.magic, pos = string.unpack(">I4", data, pos)
  p.opts = {}
  while pos <= #data do
    local tag = data:byte(pos)
    pos = pos + 1
    if tag ~= 0 then
      local len = data:byte(pos)
      pos = pos + 1
      if tag == 0xFF or not len or len == 0 then break end
      local value = data:sub(pos, pos + len - 1)
      pos = pos + len
      if tag == 53 then p.msgtype = value:byte(1) end
      table.insert(p.opts, { tag, value })
    end
  end
  if p.msgtype == nil then return nil end
  return p
end

local function encode(p)
  local parts = {
    string.pack(FIXED, p.op, p.htype, p.hlen, p.hops, p.xid, p.secs, p.flags, p.ciaddr, p.yiaddr, p.siaddr, p.giaddr, p.chaddr),
    string.rep("\0", LEGACY_AREA),
    string.pack(">I4", MAGIC),
  }
  for _, opt in ipairs(p.opts) do parts[#parts + 1] = string.char(opt[1], #opt[2]) .. opt[2] end
  parts[#parts + 1] = "\xFF\x00"
  return table.concat(parts)
end

local function now()
  return mcu.ticks() // mcu.hz()
end

local function reply(srv, req, last_octet, msgtype)
  local gw, mark = srv.opts.gw, srv.opts.mark
  local server = quad(gw)
  req.op = BOOTREPLY
  req.secs = 0
  req.ciaddr = "\0\0\0\0"
  req.yiaddr = string.char(gw[1], gw[2], gw[3], last_octet)
  req.siaddr = server
  req.giaddr = "\0\0\0\0"
  req.opts = {
    { 53, string.char(msgtype) },
    { 1, quad(mark) },
    { 3, server },
    { 51, LEASE },
    { 54, server },
    { 6, DNS_SERVERS[1] },
    { 6, DNS_SERVERS[2] },
    { 6, server },
  }
  if srv.udp then srv.udp:send(encode(req), "255.255.255.255", CLIENT_PORT) end
end

local function leaseOf(srv, mac)
  for _, client in pairs(srv.clients) do
    if client.mac == mac then return client end
  end
end

local function discover(srv, req, mac)
  local client = leaseOf(srv, mac)
  if not client then
    local free
    for ip = srv.opts.ip_start, srv.opts.ip_end do
      if srv.clients[ip] == nil then
        free = ip
        break
      end
    end
    if not free then
      log.info(TAG, "no address left to offer")
      return
    end
    client = { mac = mac, ip = free, tm = now(), stat = 1 }
    srv.clients[free] = client
    log.info(TAG, "offering", mac:toHex(), dotted(srv.opts.gw[1], srv.opts.gw[2], srv.opts.gw[3], free))
  end
  reply(srv, req, client.ip, OFFER)
end

local function request(srv, req, mac)
  local client = leaseOf(srv, mac)
  if not client then
    log.info(TAG, "request from a client without a lease, NAK", mac:toHex())
    reply(srv, req, req.yiaddr:byte(1), NAK)
    return
  end
  client.tm = now()
  reply(srv, req, client.ip, ACK)
  if srv.opts.ack_cb then
    local gw = srv.opts.gw
    srv.opts.ack_cb(dotted(gw[1], gw[2], gw[3], client.ip), mac:toHex())
  end
end

local function handle(srv, req)
  if req.magic ~= MAGIC then
    log.warn(TAG, "not a DHCP magic cookie, ignored", req.magic)
    return
  end
  if req.op ~= BOOTREQUEST then return end
  if req.htype ~= 1 or req.hlen ~= 6 then
    log.warn(TAG, "not an Ethernet client, ignored")
    return
  end
  if req.msgtype ~= DISCOVER and req.msgtype ~= REQUEST then return end
  local mac = req.chaddr:sub(1, req.hlen)
  if mac == "\0\0\0\0\0\0" or mac == "\xFF\xFF\xFF\xFF\xFF\xFF" then return end
  if req.msgtype == DISCOVER then
    discover(srv, req, mac)
  else
    request(srv, req, mac)
  end
end

local function serve(srv)
  while not srv.stop do
    local got, data = sys.waitUntil(srv.udp_topic, 1000)
    if srv.stop then break end
    if got and type(data) == "string" then
      local req = decode(data)
      if req then handle(srv, req) end
    end
  end
  log.info(TAG, "server stopped, adapter", srv.opts and srv.opts.adapter)
end

function dhcpsrv.stop(srv)
  if not srv or srv.stop then return end
  srv.stop = true
  sys.publish(srv.udp_topic)
  if srv.udp and srv.udp.close then
    srv.udp:close()
    srv.udp = nil
  end
end

-- The adapter's own IPv4 address as four numbers, when it has one.
local function adapterAddress(adapter)
  if not adapter or type(netdrv) ~= "table" or type(netdrv.ipv4) ~= "function" then return nil end
  local ip = netdrv.ipv4(adapter)
  if not ip or ip == "0.0.0.0" then return nil end
  local a, b, c, d = ip:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  return { tonumber(a), tonumber(b), tonumber(c), tonumber(d) }
end

function dhcpsrv.create(opts)
  opts = opts or {}
  local srv = { udp_topic = TOPIC }
  opts.mark = opts.mark or { 255, 255, 255, 0 }
  if not opts.gw then
    opts.gw = adapterAddress(opts.adapter)
    if opts.gw then
      log.info(TAG, "gateway from the adapter", dotted(opts.gw[1], opts.gw[2], opts.gw[3], opts.gw[4]))
    else
      opts.gw = { 192, 168, 4, 1 }
      log.warn(TAG, "the adapter has no address, gateway", "192.168.4.1")
    end
  end
  -- Scripts read opts.dns back; the replies name their fixed DNS servers, as the firmware's.
  opts.dns = opts.dns or opts.gw
  opts.ip_start = opts.ip_start or 100
  opts.ip_end = opts.ip_end or 200
  srv.clients = {}
  srv.opts = opts
  srv.udp = udpsrv.create(SERVER_PORT, srv.udp_topic, opts.adapter)
  srv.task = sys.taskInit(serve, srv)
  return srv
end

function dhcpsrv.version()
  return "202607021200"
end

log.debug("dhcpsrv", "version -> " .. dhcpsrv.version())

return dhcpsrv
