-- sys: LuatOS's task framework (tasks are coroutines; timers; a queued publish/subscribe
-- message bus) and the sysplus task-message extensions, written for moonrig from the
-- documented behaviour.
--
-- On the device sys.run() is the main loop. Here the host's event loop is: sys.run()
-- returns at once and the host calls the dispatcher registered at the end of this file
-- when a timer fires, when a binding publishes a system message, or when sys.publish
-- left messages in the queue (see bindings/luatos/rtos.ts). Every dispatch drains the
-- queue completely, including messages published while it drains.

local rtos = rtos
local log = log
local coroutine = coroutine
local coresume, coyield, costatus, corunning = coroutine.resume, coroutine.yield, coroutine.status, coroutine.running
local type = type
local pack = table.pack
local unpack = table.unpack
local select = select
local tremove = table.remove

local sys = {}

-- Timer ids as on the firmware, so a number says what it names: the timers tasks wait
-- on in sys.wait take 1 .. TASK_TIMER_ID_MAX - 1, the script's timers (timerStart and
-- friends) TASK_TIMER_ID_MAX + 1 .. MSG_TIMER_ID_MAX.
local TASK_TIMER_ID_MAX = 0x1FFFFF
local MSG_TIMER_ID_MAX = 0x7FFFFF

local taskTimerId = 0
local msgTimerId = TASK_TIMER_ID_MAX
-- id -> the task sleeping on it (task timers: the entry goes as soon as anything wakes
-- the task) or the callback (script timers)
local timerPool = {}
-- id -> the extra arguments a script timer passes to its callback
local timerArgs = {}

-- ---- tasks ----

local function errorText(err)
  local t = type(err)
  if t == "string" or t == "number" then return tostring(err) end
  local mt = debug.getmetatable(err)
  if mt and mt.__tostring then return tostring(err) end
  return "(error object is a " .. t .. " value)"
end

-- The firmware logs a task's error with its traceback and then the VM dies (the device
-- reboots); here the error ends the run like any uncaught error in a callback (or is
-- reported and the rest carries on with --keep-going).
local function taskFailed(co, err)
  local report = debug.traceback(co, errorText(err))
  report = (report:gsub("\n\t%[JS%]: in ", "\n\t[C]: in "))
  if rtos.task_failed(report) then log.error("coroutine.resume", report) end
end

local function resume(co, ...)
  local results = pack(coresume(co, ...))
  if not results[1] then taskFailed(co, results[2]) end
  return unpack(results, 1, results.n)
end
sys.coresume = resume

-- resume() for the dispatcher, which has no use for what the task yields.
local function wake(co, ...)
  local ok, err = coresume(co, ...)
  if not ok then taskFailed(co, err) end
end

-- `level` counts from the function that called currentTask, as error() does.
local function currentTask(level)
  local co, ismain = corunning()
  if ismain then error("attempt to yield from outside a coroutine", level + 1) end
  return co
end

function sys.check_task()
  local co = currentTask(2)
  return co
end

-- Tasks suspended in a sys wait keep the script alive (the host holds its loop open
-- while the count is above zero), whether or not a timer also runs for them. During a
-- dispatch the host is not looking, and a task woken by a message usually waits again
-- before the dispatch ends: the dispatcher reports the count once, when it is done.
local waiting = 0
local reported = 0
local dispatching = false
-- A drain is already on its way: publishing more needs no new request.
local drainRequested = false

local function reportWaiting()
  if (waiting > 0) ~= (reported > 0) then rtos.set_waiting(waiting) end
  reported = waiting
end

local function resumed(...)
  waiting = waiting - 1
  if not dispatching then reportWaiting() end
  return ...
end

-- Returns whatever the task was resumed with.
local function suspend()
  waiting = waiting + 1
  if not dispatching then reportWaiting() end
  return resumed(coyield())
end

local function checkMs(ms, arg, name, level)
  if type(ms) == "number" then return ms end
  local n = type(ms) == "string" and tonumber(ms)
  if n then return n end
  error(("bad argument #%d to '%s' (number expected, got %s)"):format(arg, name, type(ms)), level + 1)
end

local function nextTaskTimerId()
  repeat
    taskTimerId = taskTimerId + 1
    if taskTimerId >= TASK_TIMER_ID_MAX then taskTimerId = 1 end
  until timerPool[taskTimerId] == nil
  return taskTimerId
end

-- Ends the timer of a sleep that something else woke; passes on what woke it.
local function woken(co, id, ...)
  if timerPool[id] == co then
    rtos.timer_stop(id)
    timerPool[id] = nil
  end
  return ...
end

-- Suspends `co` for `ms`; returns nothing on timeout, or whatever woke it first (a
-- message it subscribed to resumes it with the message id and arguments).
local function sleep(co, ms)
  local id = nextTaskTimerId()
  if rtos.timer_start(id, ms) ~= 1 then return end
  timerPool[id] = co
  return woken(co, id, suspend())
end

function sys.wait(ms)
  local co = currentTask(2)
  return sleep(co, checkMs(ms, 1, "wait", 2))
end

function sys.taskInit(fn, ...)
  -- Checked here so the error names the script's line, not this file's.
  if type(fn) ~= "function" then
    error(("bad argument #1 to 'taskInit' (function expected, got %s)"):format(type(fn)), 2)
  end
  local co = coroutine.create(fn)
  resume(co, ...)
  return co
end

-- ---- messages ----

-- id -> { list = callbacks and tasks in subscription order, set = each of them -> mark }.
-- The mark is true for sys.subscribe; a task in sys.waitUntil(id) and friends is
-- subscribed with WAITING until it wakes. Waking it then ends that subscription, but the
-- usual task loops and waits for the same id again at once: rather than rebuild the same
-- list for every message, the entry stays, marked LINGERING, which delivers nothing. A
-- new wait on the id revives it (moved to the end, where subscribing anew would put it);
-- the rest go when the dispatch ends, so an entry never outlives its dispatch.
local WAITING, LINGERING = "waiting", "lingering"
local subscribers = {}
local lingering = 0
local queue, qhead, qtail = {}, 1, 0

local function add(subs, callback, mark)
  subs.set[callback] = mark
  subs.list[#subs.list + 1] = callback
end

local function remove(id, subs, callback)
  subs.set[callback] = nil
  local list = subs.list
  for i = #list, 1, -1 do
    if list[i] == callback then tremove(list, i) end
  end
  if #list == 0 then subscribers[id] = nil end
end

local function moveToEnd(subs, callback)
  local list = subs.list
  if list[#list] == callback then return end
  for i = #list, 1, -1 do
    if list[i] == callback then tremove(list, i) end
  end
  list[#list + 1] = callback
end

local function entryOf(id)
  local subs = subscribers[id]
  if not subs then
    subs = { list = {}, set = {} }
    subscribers[id] = subs
  end
  return subs
end

function sys.subscribe(id, callback)
  if type(id) == "table" then
    for _, v in pairs(id) do sys.subscribe(v, callback) end
    return
  end
  local subs = entryOf(id)
  local mark = subs.set[callback]
  if mark == nil then
    add(subs, callback, true)
  elseif mark == LINGERING then
    subs.set[callback] = true
    lingering = lingering - 1
    moveToEnd(subs, callback)
  end
end

function sys.unsubscribe(id, callback)
  if type(id) == "table" then
    for _, v in pairs(id) do sys.unsubscribe(v, callback) end
    return
  end
  local subs = subscribers[id]
  local mark = subs and subs.set[callback]
  if mark == nil then return end
  if mark == LINGERING then lingering = lingering - 1 end
  remove(id, subs, callback)
end

-- Every message a waiting task takes comes back here: the usual case (the task waits for
-- the same id again within the dispatch) is spelled out.
local function beginWait(id, co)
  local subs = subscribers[id] or entryOf(id)
  local set = subs.set
  local mark = set[co]
  if mark == LINGERING then
    set[co] = WAITING
    lingering = lingering - 1
    local list = subs.list
    if list[#list] ~= co then moveToEnd(subs, co) end
  elseif mark == nil then
    add(subs, co, WAITING)
  end
end

-- A subscription the script made itself (mark true) ends with the wait, as on the device.
local function endWait(id, co)
  local subs = subscribers[id]
  local mark = subs and subs.set[co]
  if mark == WAITING then
    subs.set[co] = LINGERING
    lingering = lingering + 1
  elseif mark then
    remove(id, subs, co)
  end
end

local function sweepLingering()
  for id, subs in pairs(subscribers) do
    local list = subs.list
    for i = #list, 1, -1 do
      if subs.set[list[i]] == LINGERING then remove(id, subs, list[i]) end
    end
  end
  lingering = 0
end

-- Nothing runs now: the message waits for the next drain, which the host runs as soon as
-- the current Lua code has returned (or which is already running).
function sys.publish(...)
  qtail = qtail + 1
  -- table.pack's shape, built by the VM (half the time of calling table.pack).
  local message = { ... }
  message.n = select("#", ...)
  queue[qtail] = message
  if not (dispatching or drainRequested) then
    drainRequested = true
    rtos.request_drain()
  end
end

local function notify(id, subs, callback, message)
  -- A task marked WAITING is suspended in a wait below (a wait ends its mark before
  -- anything else can run the task), so it needs no further checks.
  if subs.set[callback] == WAITING then return wake(callback, unpack(message, 1, message.n)) end
  local kind = type(callback)
  if kind == "function" then
    callback(unpack(message, 2, message.n))
  elseif kind == "thread" then
    local status = costatus(callback)
    if status == "suspended" then
      if subs.set[callback] ~= LINGERING then wake(callback, unpack(message, 1, message.n)) end
    elseif status == "dead" then
      -- A finished task that subscribed itself would make the firmware log "cannot
      -- resume dead coroutine" on every message; forget it instead.
      if subs.set[callback] == LINGERING then lingering = lingering - 1 end
      remove(id, subs, callback)
    end
  end
end

local function deliver(message)
  local id = message[1]
  local subs = subscribers[id]
  if not subs then return end
  local live = subs.list
  local count = #live
  if count == 1 then return notify(id, subs, live[1], message) end
  -- Callbacks subscribing or unsubscribing meanwhile change the live list, not this turn's.
  local list = {}
  for i = 1, count do list[i] = live[i] end
  for i = 1, count do
    local callback = list[i]
    -- One that an earlier callback of this turn unsubscribed is skipped.
    if subscribers[id] == subs and subs.set[callback] ~= nil then notify(id, subs, callback, message) end
  end
end

-- Delivered messages stay in the queue until it is empty (clearing each slot costs more
-- than dropping the table), unless a long drain has delivered more than are left.
local function drain()
  while qhead <= qtail do
    local message = queue[qhead]
    qhead = qhead + 1
    if qhead > 1024 and qhead > qtail - qhead then
      local rest = {}
      for i = qhead, qtail do rest[i - qhead + 1] = queue[i] end
      queue, qhead, qtail = rest, 1, qtail - qhead + 1
    end
    deliver(message)
  end
  queue, qhead, qtail = {}, 1, 0
end

-- The three waits below end here with what woke the task: the message (its id first) or,
-- after a timeout, nothing.
local function untilResult(id, co, first, ...)
  endWait(id, co)
  return first ~= nil, ...
end

-- suspend() and untilResult() in one, for the commonest wait: sys.waitUntil(id).
local function untilResumed(id, co, first, ...)
  waiting = waiting - 1
  if not dispatching then reportWaiting() end
  endWait(id, co)
  return first ~= nil, ...
end

local function untilExtResult(id, co, first, ...)
  endWait(id, co)
  if first ~= nil then return first, ... end
  return false
end

local function untilMsgResult(id, co, _, ...)
  endWait(id, co)
  return ...
end

function sys.waitUntil(id, ms)
  local co, ismain = corunning()
  if ismain then error("attempt to yield from outside a coroutine", 2) end
  if ms then ms = checkMs(ms, 2, "waitUntil", 2) end
  beginWait(id, co)
  if ms then return untilResult(id, co, sleep(co, ms)) end
  waiting = waiting + 1
  if not dispatching then reportWaiting() end
  return untilResumed(id, co, coyield())
end

function sys.waitUntilExt(id, ms)
  local co = currentTask(2)
  if ms then ms = checkMs(ms, 2, "waitUntilExt", 2) end
  beginWait(id, co)
  if ms then return untilExtResult(id, co, sleep(co, ms)) end
  return untilExtResult(id, co, suspend())
end

function sys.waitUntilMsg(id)
  local co = currentTask(2)
  beginWait(id, co)
  return untilMsgResult(id, co, suspend())
end

-- ---- timers ----

-- Trailing nils do not count, as the firmware compares argument lists by their length.
local function packArgs(...)
  local args = pack(...)
  while args.n > 0 and args[args.n] == nil do args.n = args.n - 1 end
  return args
end

local function sameArgs(stored, ...)
  local args = packArgs(...)
  if stored == nil then return args.n == 0 end
  if stored.n ~= args.n then return false end
  for i = 1, args.n do
    if stored[i] ~= args[i] then return false end
  end
  return true
end

local function callable(fn)
  if type(fn) == "function" then return true end
  local mt = debug.getmetatable(fn)
  return mt ~= nil and mt.__call ~= nil
end

function sys.timerStop(val, ...)
  if type(val) == "number" then
    timerPool[val], timerArgs[val] = nil, nil
    rtos.timer_stop(val)
    return
  end
  for id, callback in pairs(timerPool) do
    if id > TASK_TIMER_ID_MAX and callback == val and sameArgs(timerArgs[id], ...) then
      rtos.timer_stop(id)
      timerPool[id], timerArgs[id] = nil, nil
      return
    end
  end
end

function sys.timerStopAll(fn)
  for id, callback in pairs(timerPool) do
    if id > TASK_TIMER_ID_MAX and callback == fn then
      rtos.timer_stop(id)
      timerPool[id], timerArgs[id] = nil, nil
    end
  end
end

-- repeats: 0 once, -1 forever, n > 0 n more times after the first.
-- The firmware's sys.lua leaves its callback check commented out: a timer started without a
-- callable still gets an id and runs, calling nothing.
local function startTimer(name, fn, ms, repeats, ...)
  ms = checkMs(ms, 2, name, 3)
  if not callable(fn) then fn = nil end
  -- Starting the same callback with the same arguments again restarts it.
  if fn ~= nil then sys.timerStop(fn, ...) end
  -- rtos.timer_start refuses 0 ms on the firmware, and its sys.lua logs that and returns
  -- nil (after stopping the same timer, as above).
  if ms == 0 then
    log.error("rtos.timer_start", "create fail!!!")
    return nil
  end
  repeat
    msgTimerId = msgTimerId + 1
    if msgTimerId > MSG_TIMER_ID_MAX then msgTimerId = TASK_TIMER_ID_MAX + 1 end
  until timerPool[msgTimerId] == nil
  local id = msgTimerId
  if rtos.timer_start(id, ms, repeats) ~= 1 then return nil end
  timerPool[id] = fn
  local args = packArgs(...)
  if args.n > 0 then timerArgs[id] = args end
  return id
end

-- (Not tail calls: startTimer's errors name the caller's line.)
function sys.timerStart(fn, ms, ...)
  local id = startTimer("timerStart", fn, ms, 0, ...)
  return id
end

function sys.timerLoopStart(fn, ms, ...)
  local id = startTimer("timerLoopStart", fn, ms, -1, ...)
  return id
end

function sys.timerAdvStart(fn, ms, repeats, ...)
  local id = startTimer("timerAdvStart", fn, ms, math.tointeger(repeats) or 0, ...)
  return id
end

function sys.timerIsActive(val, ...)
  if type(val) == "number" then return timerPool[val] ~= nil end
  for id, callback in pairs(timerPool) do
    if id > TASK_TIMER_ID_MAX and callback == val and sameArgs(timerArgs[id], ...) then return true end
  end
  return false
end

local function timerFired(id, remaining)
  local target = timerPool[id]
  if target == nil then return end
  if id < TASK_TIMER_ID_MAX then
    timerPool[id] = nil
    if coroutine.status(target) == "suspended" then resume(target) end
    return
  end
  local args = timerArgs[id]
  if remaining == 0 then timerPool[id], timerArgs[id] = nil, nil end
  if args then target(unpack(args, 1, args.n)) else target() end
end

-- ---- the host's entry point ----

local function dispatch(kind, ...)
  dispatching = true
  drainRequested = false
  if kind == "timer" then
    timerFired(...)
  elseif kind == "publish" then
    qtail = qtail + 1
    queue[qtail] = pack(...)
  end
  drain()
  if lingering > 0 then sweepLingering() end
  dispatching = false
  reportWaiting()
end

-- The host's event loop is the main loop.
function sys.run() end

-- ---- sysplus: tasks with their own message queues ----

-- name -> { queue = messages sent to the task, timedOut = bool, cb = callback for other messages }
local taskList = {}

function sys.taskInitEx(fn, taskName, cbFun, ...)
  if taskName == nil then
    log.error("sys", "taskName is nil", debug.traceback())
    return
  end
  taskList[taskName] = { queue = {}, timedOut = false, cb = cbFun }
  return sys.taskInit(fn, ...)
end

function sys.taskDel(taskName)
  taskList[taskName] = nil
end

local function waitMsgTimeout(taskName)
  local task = taskList[taskName]
  if task then
    task.timedOut = true
    sys.publish(taskName)
  end
end

-- Returns the first message sent to the task whose first value is `target` (any message
-- when target is nil), as the table {target, arg2, arg3, arg4}; the others go to the
-- task's callback. Nothing after `ms` (0 or nil: no time limit), as the firmware's sysplus
-- returns (its doc comment says false).
function sys.waitMsg(taskName, target, ms)
  local task = taskList[taskName]
  if task == nil then
    log.error("sysplus", "waitMsg needs a task started by sys.taskInitEx", taskName)
    return false
  end
  local co = currentTask(2)
  local function take()
    while #task.queue > 0 do
      local message = tremove(task.queue, 1)
      if target == nil or message[1] == target then return message end
      if type(task.cb) == "function" then task.cb(message) end
    end
  end
  local message = take()
  if message then return message end
  if ms then ms = checkMs(ms, 3, "waitMsg", 2) end
  sys.subscribe(taskName, co)
  sys.timerStop(waitMsgTimeout, taskName)
  task.timedOut = false
  if ms and ms ~= 0 then sys.timerStart(waitMsgTimeout, ms, taskName) end
  repeat
    suspend()
    message = take()
  until message or task.timedOut
  task.timedOut = false
  sys.timerStop(waitMsgTimeout, taskName)
  sys.unsubscribe(taskName, co)
  return message
end

function sys.sendMsg(taskName, param1, param2, param3, param4)
  local task = taskList[taskName]
  if task == nil then return false end
  task.queue[#task.queue + 1] = { param1, param2, param3, param4 }
  sys.publish(taskName)
  return true
end

function sys.cleanMsg(taskName)
  local task = taskList[taskName]
  if task == nil then return false end
  task.queue = {}
  return true
end

function sys.taskCB(taskName, message)
  local task = taskList[taskName]
  if task and type(task.cb) == "function" then
    task.cb(message)
    return
  end
  log.error(taskName, "no cb fun")
end

-- What the firmware's asynchronous C APIs return (`http.request(...).wait()`): wait()
-- suspends the calling task until message `id` is published and returns its arguments;
-- cb(fn) runs fn with them in a new task. Results known at once are returned directly.
local cwait = {}
cwait.__index = function(t, key)
  local id, ready = rawget(t, "w"), rawget(t, "r")
  if key == "wait" then
    return function()
      if ready then return unpack(ready, 1, ready.n) end
      return sys.waitUntilMsg(id)
    end
  elseif key == "cb" then
    return function(fn)
      if type(fn) ~= "function" then return end
      sys.taskInit(function()
        if ready then return fn(unpack(ready, 1, ready.n)) end
        fn(sys.waitUntilMsg(id))
      end)
    end
  end
end

_G.sys_cw = function(id, ...)
  local ready = pack(...)
  return setmetatable({ w = id, r = ready.n > 0 and ready or nil }, cwait)
end

_G.sys_pub = sys.publish
_G.sys_send = sys.sendMsg
_G.sys_wait = sys.waitMsg
-- Scripts usually write `sys = require("sys")`; one that keeps it local in main.lua and
-- uses the global elsewhere still finds it.
if rawget(_G, "sys") == nil then _G.sys = sys end

rtos.set_dispatcher(dispatch)

return sys
