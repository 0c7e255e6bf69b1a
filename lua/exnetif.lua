-- exnetif: chooses the network interface a multi-network board uses (Ethernet, Wi-Fi
-- station, cellular ...) by priority, watches each one's link and reachability, and sets
-- up sharing one interface's connection with devices on another. Written for moonrig from
-- the library's documented behaviour, against the modules the board has: `wlan`, `mobile`
-- and `netdrv` are looked up at each call, so a board without Wi-Fi (or without a cellular
-- modem) refuses a configuration that needs it (false and an error in the log).
--
-- exnetif.set_priority_order(configs) -> true/false (in a task). configs is a list, highest
--   priority first, of {WIFI = {ssid, password, bssid, need_ping, ping_ip, ping_time,
--   local_network_mode, auto_socket_switch}}, {ETHERNET = {pwrpin, tp, opts, static_ip,
--   ...}}, {ETHUSER1 = {...}} or {LWIP_GP = true}. With one entry the board uses that
--   interface alone; with several, an interface becomes usable once it has an address and
--   passes the reachability check (need_ping false: none; ping_ip: an ICMP ping when the
--   board has `icmp`; otherwise an HTTP DNS lookup of baidu.com through httpdns, which a
--   PC test points at its own server with --map 223.5.5.5=...), checked every ping_time ms
--   (default 10000). The best usable interface becomes socket.dft(); each change calls the
--   notify_status callback and publishes EXLIB_NETDRV_NETWORK_STATUS with (name, adapter):
--   "Ethernet", "WiFi", "4G", "8101SPIETH" or "airlink_4G"; (nil, -1) when none is left.
--   Unless auto_socket_switch is false, the previous interface's sockets are closed.
-- exnetif.notify_status(fn), exnetif.check_network_status([interval_ms]),
-- exnetif.close(true) ends connection sharing; exnetif.close(false, adapter) shuts one
--   interface (Wi-Fi disconnects, cellular enters flight mode, Ethernet powers down).
-- exnetif.setproxy(adapter, main_adapter, configs) -> true/false: brings up both
--   interfaces, a DHCP server on `adapter` and NAPT to main_adapter. A PC forwards no
--   packets for other devices: the calls are made (netdrv.napt is in the hardware record)
--   and nothing is routed. airlink (a second module over UART/SPI) is not simulated.

local sys = require("sys")
httpdns = require("httpdns")
dhcpsrv = require("dhcpsrv")

local exnetif = {}

local DISCONNECTED, CONNECTING, CONNECTED, OPENED, SINGLE_NETWORK, STOPED = 0, 1, 2, 3, 4, 5
local STATUS_TOPIC = "EXLIB_NETDRV_NETWORK_STATUS"
local ADDRESS_WAIT_STEPS = 600 -- of 100 ms

local NAMES = {
  [socket.LWIP_STA] = "WiFi",
  [socket.LWIP_ETH] = "Ethernet",
  [socket.LWIP_GP] = "4G",
  [socket.LWIP_USER1] = "8101SPIETH",
  [socket.LWIP_GP_GW] = "airlink_4G",
}

local ETHERNET_KINDS = { { "ETHUSER1", socket.LWIP_USER1 }, { "ETHERNET", socket.LWIP_ETH } }

local function nameOf(adapter)
  return NAMES[adapter] or "Unknown"
end

local state = {}
for adapter in pairs(NAMES) do state[adapter] = DISCONNECTED end

local settings = { need_ping = true, ping_time = 10000, auto_socket_switch = true, local_network_mode = false }
local pingTarget = {} -- adapter -> ip to ping (nil: the HTTP DNS check)
local ethConfig = {}
local priority = { socket.LWIP_ETH, socket.LWIP_STA, socket.LWIP_GP }
local active = nil
local notify = function() end
local checkInterval = nil
local watching = false
local wifiSsid = nil
local proxy = { servers = {}, adapters = {}, main = nil }

local function module(name)
  local m = _G[name]
  -- A cellular module's build has a scan-only wlan: no station to join, no access point.
  if type(m) == "table" and (name ~= "wlan" or m.connect) then return m end
  log.error("exnetif", "this board has no " .. name)
  return nil
end

local function applyPriority()
  for _, adapter in ipairs(priority) do
    if state[adapter] == CONNECTED then
      if active ~= adapter then
        log.info("exnetif", "using", nameOf(adapter))
        notify(nameOf(adapter), adapter)
        sys.publish(STATUS_TOPIC, nameOf(adapter), adapter)
        socket.dft(adapter)
        if settings.auto_socket_switch and active ~= nil and socket.close_all then socket.close_all(active) end
        active = adapter
      end
      return
    end
  end
  if active ~= nil then
    active = nil
    log.warn("exnetif", "no usable network")
    notify(nil, -1)
    sys.publish(STATUS_TOPIC, nil, -1)
  end
end

local function dnsCheck(adapter)
  local ip = httpdns.ali("baidu.com", { adapter = adapter, timeout = 3000 })
  state[adapter] = ip and CONNECTED or OPENED
  log.info("exnetif", nameOf(adapter), "reachability by HTTP DNS", ip)
end

local function check(adapter)
  if not settings.need_ping then
    state[adapter] = CONNECTED
  elseif pingTarget[adapter] and type(icmp) == "table" then
    icmp.setup(adapter)
    icmp.ping(adapter, pingTarget[adapter])
    sys.timerStart(function()
      if state[adapter] == CONNECTING then
        state[adapter] = OPENED
        applyPriority()
      end
    end, settings.ping_time)
  else
    dnsCheck(adapter)
  end
  applyPriority()
end

local function checkLoop()
  while true do
    for _, adapter in ipairs(priority) do
      if state[adapter] == CONNECTING then
        check(adapter)
        sys.wait(settings.ping_time)
      end
    end
    sys.wait(1000)
  end
end

local function recheckLoop()
  while true do
    if checkInterval then
      sys.wait(checkInterval)
      exnetif.check_network_status()
    end
    sys.wait(1000)
  end
end

local function onReady(ip, adapter)
  if settings.local_network_mode and (adapter == socket.LWIP_ETH or adapter == socket.LWIP_USER1 or adapter == socket.LWIP_STA) then
    local _, _, gw = socket.localIP(adapter)
    pingTarget[adapter] = gw
  end
  if state[adapter] == OPENED then state[adapter] = CONNECTING end
end

local function onLose(adapter)
  if state[adapter] == CONNECTING or state[adapter] == CONNECTED then state[adapter] = OPENED end
  if active ~= adapter then return end
  for _, other in ipairs(priority) do
    if other ~= adapter and state[other] == OPENED and socket.localIP(other) then state[other] = CONNECTING end
  end
  applyPriority()
end

local function onPing(adapter)
  state[adapter] = CONNECTED
  applyPriority()
end

local function watch()
  if watching then return end
  watching = true
  sys.taskInit(checkLoop)
  sys.taskInit(recheckLoop)
  sys.subscribe("PING_RESULT", onPing)
  sys.subscribe("IP_READY", onReady)
  sys.subscribe("IP_LOSE", onLose)
end

local function takeSettings(config, adapter)
  if config.local_network_mode then settings.local_network_mode = true end
  if config.need_ping ~= nil then settings.need_ping = config.need_ping end
  if config.auto_socket_switch ~= nil then settings.auto_socket_switch = config.auto_socket_switch end
  if type(config.ping_time) == "number" then settings.ping_time = config.ping_time end
  if adapter then pingTarget[adapter] = config.ping_ip end
end

local function bssidOf(config)
  if config.bssid and #config.bssid >= 12 then return string.fromHex(config.bssid) end
end

local function openState(single)
  return single and SINGLE_NETWORK or OPENED
end

local function startWifi(config, single)
  local wlan = module("wlan")
  if not wlan then return false end
  takeSettings(config, socket.LWIP_STA)
  wlan.init()
  state[socket.LWIP_STA] = openState(single)
  if not wlan.connect(config.ssid, config.password, 1, bssidOf(config)) then
    log.error("exnetif", "Wi-Fi connect refused")
    return false
  end
  return true
end

local function startEthernet(adapter, config, single)
  local netdrv = module("netdrv")
  if not netdrv then return false end
  takeSettings(config, adapter)
  state[adapter] = openState(single)
  if config.pwrpin then gpio.setup(config.pwrpin, 1, gpio.PULLUP) end
  local ok
  if config.tp == nil then
    ok = netdrv.setup(adapter)
  else
    if spi.setup(config.opts.spi, nil, 0, 0, 8, 25600000) ~= 0 then
      if config.pwrpin then gpio.close(config.pwrpin) end
      return false
    end
    ok = netdrv.setup(adapter, config.tp, config.opts)
  end
  if ok == false then
    log.error("exnetif", "Ethernet setup failed")
    if config.pwrpin then gpio.close(config.pwrpin) end
    return false
  end
  if config.static_ip then
    sys.wait(1000)
    netdrv.ipv4(adapter, config.static_ip.ipv4, config.static_ip.mark, config.static_ip.gw)
  else
    netdrv.dhcp(adapter, true)
  end
  return true
end

local function restartEthernet(adapter, single)
  state[adapter] = openState(single)
  local config = ethConfig[adapter] or {}
  if config.pwrpin then gpio.setup(config.pwrpin, 1, gpio.PULLUP) end
  netdrv.ctrl(adapter, netdrv.CTRL_UPDOWN, 1)
end

function exnetif.set_priority_order(configs)
  if type(configs) ~= "table" or #configs < 1 then
    log.error("exnetif", "no network configured")
    return false
  end
  local single = #configs == 1
  if not single then watch() end
  local order = {}
  for _, config in ipairs(configs) do
    if type(config.WIFI) == "table" then
      if state[socket.LWIP_STA] == DISCONNECTED then
        if not startWifi(config.WIFI, single) then return false end
      elseif wifiSsid and wifiSsid ~= config.WIFI.ssid then
        log.info("exnetif", "Wi-Fi network changed", wifiSsid, "->", config.WIFI.ssid)
        wlan.disconnect()
        sys.wait(500)
        wlan.connect(config.WIFI.ssid, config.WIFI.password, 1, bssidOf(config.WIFI))
      end
      wifiSsid = config.WIFI.ssid
      order[#order + 1] = socket.LWIP_STA
    end
    for _, kind in ipairs(ETHERNET_KINDS) do
      local key, adapter = kind[1], kind[2]
      if type(config[key]) == "table" then
        ethConfig[adapter] = config[key]
        if state[adapter] == DISCONNECTED then
          if not startEthernet(adapter, config[key], single) then return false end
        elseif state[adapter] == STOPED then
          restartEthernet(adapter, single)
        end
        order[#order + 1] = adapter
      end
    end
    if config.LWIP_GP then
      local mobile = module("mobile")
      if not mobile then return false end
      mobile.flymode(nil, false)
      state[socket.LWIP_GP] = CONNECTING
      if config.auto_socket_switch ~= nil then settings.auto_socket_switch = config.auto_socket_switch end
      order[#order + 1] = socket.LWIP_GP
    end
    if type(config.airlink_4G) == "table" or type(config.airlink_wifi) == "table" then
      log.error("exnetif", "airlink (a second module over UART/SPI) is not simulated")
      return false
    end
  end
  priority = order
  socket.dft(order[1])
  applyPriority()
  return true
end

function exnetif.notify_status(fn)
  if type(fn) ~= "function" then
    log.error("exnetif", "notify_status needs a function")
    return
  end
  notify = fn
end

function exnetif.check_network_status(interval)
  if interval ~= nil then checkInterval = interval end
  for _, adapter in ipairs(priority) do
    if state[adapter] == CONNECTED then state[adapter] = CONNECTING end
  end
end

-- Waits until the adapter has an address: true, or false after a minute.
local function waitAddress(adapter)
  for _ = 1, ADDRESS_WAIT_STEPS do
    local ip = netdrv.ipv4(adapter)
    if ip and ip ~= "0.0.0.0" then return true end
    sys.wait(100)
  end
  log.error("exnetif", nameOf(adapter), "got no address")
  return false
end

local function startUpstream(main, configs)
  local up = configs.main_adapter or {}
  if main == socket.LWIP_GP then return module("mobile") ~= nil end
  if main == socket.LWIP_STA then
    local wlan = module("wlan")
    if not wlan then return false end
    wlan.init()
    wlan.setMode(wlan.APSTA or wlan.STATIONAP)
    wlan.connect(up.ssid, up.password)
    return waitAddress(socket.LWIP_STA)
  end
  if main == socket.LWIP_ETH or main == socket.LWIP_USER1 then
    if not module("netdrv") then return false end
    if state[main] == DISCONNECTED then
      state[main] = OPENED
      if up.ethpower_en then gpio.setup(up.ethpower_en, 1, gpio.PULLUP) end
      if netdrv.setup(main, up.tp, up.opts) == false then return false end
      netdrv.dhcp(main, true)
    end
    return waitAddress(main)
  end
  return false
end

local function startDownstream(adapter, configs)
  local address = configs.adapter_addr or (adapter == socket.LWIP_AP and "192.168.4.1" or "192.168.5.1")
  if adapter == socket.LWIP_AP then
    local wlan = module("wlan")
    if not wlan then return false end
    wlan.setMode(wlan.APSTA or wlan.STATIONAP)
    wlan.createAP(configs.ssid, configs.password, address, "255.255.255.0", configs.channel or 6, configs.ap_opts)
  elseif adapter == socket.LWIP_ETH or adapter == socket.LWIP_USER1 then
    if not module("netdrv") then return false end
    if configs.ethpower_en then gpio.setup(configs.ethpower_en, 1, gpio.PULLUP) end
    if netdrv.setup(adapter, configs.tp, configs.opts) == false then return false end
  else
    return false
  end
  netdrv.ipv4(adapter, address, "255.255.255.0", "0.0.0.0")
  local a, b, c, d = address:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  local gw = configs.adapter_gw or { tonumber(a), tonumber(b), tonumber(c), tonumber(d) }
  proxy.servers[#proxy.servers + 1] = dhcpsrv.create({ adapter = adapter, gw = gw })
  return true
end

function exnetif.setproxy(adapter, main_adapter, configs)
  configs = configs or {}
  if proxy.main == main_adapter then
    for _, a in ipairs(proxy.adapters) do
      if a == adapter then return true end
    end
  end
  if not startUpstream(main_adapter, configs) then return false end
  if not startDownstream(adapter, configs) then return false end
  netdrv.napt(main_adapter)
  proxy.main = main_adapter
  proxy.adapters[#proxy.adapters + 1] = adapter
  return true
end

function exnetif.close(all, adapter)
  if all == true then
    for _, server in ipairs(proxy.servers) do dhcpsrv.stop(server) end
    proxy.servers = {}
    if proxy.main then netdrv.napt(-1) end
    for _, a in ipairs(proxy.adapters) do
      if a == socket.LWIP_AP and type(wlan) == "table" then
        wlan.stopAP()
      elseif a == socket.LWIP_ETH or a == socket.LWIP_USER1 then
        netdrv.ctrl(a, netdrv.CTRL_UPDOWN, 0)
      end
    end
    proxy.adapters, proxy.main = {}, nil
    return true
  end
  if adapter == nil then
    log.error("exnetif", "close needs the adapter")
    return false
  end
  state[adapter] = DISCONNECTED
  if adapter == socket.LWIP_AP and type(wlan) == "table" then
    wlan.stopAP()
  elseif adapter == socket.LWIP_ETH or adapter == socket.LWIP_USER1 then
    local config = ethConfig[adapter] or {}
    if config.pwrpin then
      gpio.set(config.pwrpin, 0)
      gpio.close(config.pwrpin)
    end
    if config.opts and config.opts.spi then spi.close(config.opts.spi) end
    netdrv.ctrl(adapter, netdrv.CTRL_UPDOWN, 0)
    state[adapter] = STOPED
  elseif adapter == socket.LWIP_STA and type(wlan) == "table" then
    wlan.disconnect()
  elseif adapter == socket.LWIP_GP and type(mobile) == "table" then
    mobile.flymode(nil, true)
  end
  log.info("exnetif", "closed", nameOf(adapter))
  applyPriority()
  return true
end

function exnetif.version()
  return "202607211200"
end

log.debug("exnetif", "version -> " .. exnetif.version())

return exnetif
