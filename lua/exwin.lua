-- exwin: LuatOS's window stack for UI scripts, written for moonrig from the documented
-- behaviour. The top of the stack is the active window; windows get their callbacks as
-- they are opened, covered, uncovered and closed:
--   on_create()      when opened
--   on_destroy()     when closed
--   on_lose_focus()  when another window opens on top
--   on_get_focus()   when the window above it closes
-- Callback errors are logged and do not stop the caller, as on the device.

local exwin = {}

local stack = {}
local lastId = 0

local function call(fn, name)
  if type(fn) ~= "function" then return end
  local ok, err = pcall(fn)
  if not ok then log.error("exwin", name, tostring(err)) end
end

local function indexOf(id)
  for i, win in ipairs(stack) do
    if win.id == id then return i end
  end
end

-- exwin.open(config) → the new window's id (ids count from 1).
function exwin.open(config)
  if type(config) ~= "table" then
    error("bad argument #1 to 'open' (table expected, got " .. type(config) .. ")", 2)
  end
  local current = stack[#stack]
  lastId = lastId + 1
  local win = {
    id = lastId,
    create = config.on_create,
    destroy = config.on_destroy,
    loseFocus = config.on_lose_focus,
    getFocus = config.on_get_focus,
  }
  if current then call(current.loseFocus, "on_lose_focus") end
  stack[#stack + 1] = win
  call(win.create, "on_create")
  return win.id
end

-- exwin.close(id): closes that window; when it was on top, the one below gets the focus.
function exwin.close(id)
  local i = indexOf(id)
  if not i then return end
  local win = stack[i]
  local wasTop = i == #stack
  call(win.destroy, "on_destroy")
  table.remove(stack, i)
  if wasTop and stack[#stack] then call(stack[#stack].getFocus, "on_get_focus") end
end

-- exwin.is_active(id): whether that window is on top.
function exwin.is_active(id)
  local top = stack[#stack]
  return id ~= nil and top ~= nil and top.id == id
end

-- exwin.return_idle(): closes every window but the first (the home screen) and focuses it.
function exwin.return_idle()
  for i = #stack, 2, -1 do
    call(stack[i].destroy, "on_destroy")
    table.remove(stack, i)
  end
  if stack[1] then call(stack[1].getFocus, "on_get_focus") end
end

exwin.isActive = exwin.is_active
exwin.returnIdle = exwin.return_idle

function exwin.version()
  return "202607021200"
end

return exwin
