// Entry of dist/fast/moonrig.bin, the bundle bin/moonrig.cjs runs with a V8 code cache
// (scripts/fastcli.mjs builds it). Evaluating this module does nothing: main() runs the
// CLI exactly as dist/cli.js does; warmUp() is what the build runs before it asks V8 for
// the code cache, so that the cache holds the functions a start-up calls, compiled.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function main() {
  return import("../main/cli.ts");
}

// A little of everything a device script does first: the parser, the VM, the string and
// table libraries, print.
const WARM_UP_SCRIPT = `
local t = {}
for i = 1, 20 do t[#t + 1] = string.format("%d:%s", i, tostring(i * 1.5)) end
local s = table.concat(t, ",")
local function f(a, b, ...) return a and b or select("#", ...) end
if f(1, 2) then s = s:upper():sub(1, 3) .. s:rep(2):len() end
local ok, err = pcall(error, "x")
local k = 0
for key, value in pairs({ a = 1, b = 2 }) do k = k + value end
for _, v in ipairs({ 1, 2, 3 }) do k = k + v end
s = s:gsub("%d+", function (d) return d end):find("1", 1, true)
print("hello from the warm-up", k, ok, math.floor(2.5), #t)
`;

// An MQTT round trip through the embedded broker: compiles the mqtt binding, mqtt.js and
// aedes paths that a device script's start-up goes through.
const MQTT_WARM_UP_SCRIPT = `
local m = mqtt.Client("moonrig-warm-up", 30)
m:on("message", function(client, topic, data)
  print(topic, data)
  client:close()
end)
m:connect("warm-up.invalid", 1883, false, function(client)
  client:subscribe("warm/up", 0, function(c)
    c:publish("warm/up", "hello", 0, 0)
  end)
end, function(client, reason)
  print("failed", reason)
end)
`;

export async function warmUp() {
  const { Runtime } = await import("../main/index.ts");
  const dir = mkdtempSync(join(tmpdir(), "moonrig-warm-up-"));
  const runs = [
    { flavor: "nodemcu", file: "init.lua", script: WARM_UP_SCRIPT },
    { flavor: "luatos", file: "main.lua", script: WARM_UP_SCRIPT },
    { flavor: "nodemcu", file: "init.lua", script: MQTT_WARM_UP_SCRIPT, broker: "embedded" },
  ];
  try {
    for (const { flavor, file, script, broker } of runs) {
      writeFileSync(join(dir, file), script);
      let stderr = "";
      // runFor bounds a warm-up that would not end by itself (it only costs build time).
      const runtime = new Runtime({ flavor, cwd: dir, args: [], broker, runFor: 10, stdout: () => {}, stderr: (text) => void (stderr += text) });
      try {
        await runtime.run(file);
        const code = await runtime.finished;
        if (code !== 0) process.stderr.write(`warm-up (${flavor}${broker ? `, MQTT` : ""}) ended with ${code}:\n${stderr}`);
      } finally {
        await runtime.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
