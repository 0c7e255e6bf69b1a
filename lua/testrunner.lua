-- testrunner: runs simple LuatOS test suites, written for moonrig from the documented
-- behaviour of the firmware's test runner. A suite is a table whose functions named test_*
-- are the tests (a module name or a file path naming one works too); they run one after
-- the other, in name order, each protected, inside a sys task so they can sys.wait.
-- Optional setup()/teardown() (or setUp()/tearDown()) run around each test.
--
--   testrunner.run(suite[, testcase[, msg]])        → passed, failed
--   testrunner.runBatch([name,] {{testTable = suite, testcase = "title"}, ...}) → passed, failed
--   testrunner.runFile(path[, testcase])            → passed, failed
-- Called outside a task they start one and return nothing. Every result is logged
-- (I/user.testrunner PASS ..., E/user.testrunner FAIL ...) and the last summary is kept
-- in testrunner.results = {passed = n, failed = n, failures = {{name, error}, ...}}.

local sys = require("sys")

local testrunner = {}

testrunner.results = { passed = 0, failed = 0, failures = {} }

-- A file of tests: the table it returns, else the test_* globals it defines.
local function loadSuiteFile(path)
  local env = setmetatable({}, { __index = _G })
  local chunk, err = loadfile(path)
  if not chunk then error(err, 0) end
  -- The chunk's only upvalue is its _ENV: the test_* globals it defines land in env.
  debug.setupvalue(chunk, 1, env)
  local returned = chunk()
  if type(returned) == "table" then return returned end
  return env
end

local function suiteOf(spec)
  if type(spec) == "table" then return spec end
  if type(spec) == "string" then
    if spec:match("%.lua$") or spec:find("/", 1, true) then return loadSuiteFile(spec) end
    return require(spec)
  end
  error("bad test suite (table, module name or file expected, got " .. type(spec) .. ")", 3)
end

local function hook(suite, ...)
  for _, name in ipairs({ ... }) do
    if type(suite[name]) == "function" then return suite[name] end
  end
end

local function errorText(err)
  if type(err) == "string" then return err end
  return tostring(err)
end

local function runSuite(suite, testcase, totals)
  local names = {}
  for name, fn in pairs(suite) do
    if type(name) == "string" and name:match("^test_") and type(fn) == "function" then names[#names + 1] = name end
  end
  table.sort(names)
  local setup = hook(suite, "setup", "setUp")
  local teardown = hook(suite, "teardown", "tearDown")
  local title = testcase or "tests"
  log.info("testrunner", "start", title, #names .. " tests")
  local passed, failed = 0, 0
  for _, name in ipairs(names) do
    local ok, err = true, nil
    if setup then ok, err = pcall(setup) end
    if ok then ok, err = pcall(suite[name]) end
    if teardown then
      local tok, terr = pcall(teardown)
      if ok and not tok then ok, err = false, terr end
    end
    if ok then
      passed = passed + 1
      log.info("testrunner", "PASS", title, name)
    else
      failed = failed + 1
      totals.failures[#totals.failures + 1] = { title .. "." .. name, errorText(err) }
      log.error("testrunner", "FAIL", title, name, errorText(err))
    end
  end
  log.info("testrunner", "done", title, passed .. " passed, " .. failed .. " failed")
  totals.passed = totals.passed + passed
  totals.failed = totals.failed + failed
end

-- Runs `body(totals)` in the current task, or in a new one when there is none.
local function inTask(body)
  local function go()
    local totals = { passed = 0, failed = 0, failures = {} }
    body(totals)
    testrunner.results = totals
    return totals.passed, totals.failed
  end
  if coroutine.isyieldable() then return go() end
  sys.taskInit(go)
end

function testrunner.run(spec, testcase, msg)
  local suite = suiteOf(spec)
  return inTask(function(totals)
    if msg then log.info("testrunner", msg) end
    runSuite(suite, testcase, totals)
  end)
end

function testrunner.runBatch(name, list)
  if type(name) == "table" and list == nil then name, list = nil, name end
  local suites = {}
  for i, entry in ipairs(list or {}) do
    suites[i] = { suite = suiteOf(entry.testTable or entry[1]), testcase = entry.testcase or entry[2] }
  end
  return inTask(function(totals)
    for _, entry in ipairs(suites) do runSuite(entry.suite, entry.testcase, totals) end
    log.info("testrunner", "batch", name or "tests", totals.passed .. " passed, " .. totals.failed .. " failed")
  end)
end

function testrunner.runFile(path, testcase)
  return testrunner.run(loadSuiteFile(path), testcase or path)
end

return testrunner
