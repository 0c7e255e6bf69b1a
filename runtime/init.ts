// `moonrig init [--flavor nodemcu|luatos] [DIR]`: a starter project (the entry file the
// firmware runs at boot, in the usual shape: wait for the network, connect to MQTT, publish
// on a timer) and a .luarc.json that points lua-language-server at moonrig's definitions of
// the flavor's globals (dist/meta/<flavor>/, which `npm run build` generates).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { libraryDir } from "./loader.js";
import type { Flavor } from "./flavors.js";

export const INIT_USAGE = "usage: moonrig init [--flavor nodemcu|luatos] [DIR]\n";

const NODEMCU_INIT = `-- A NodeMCU starter made by \`moonrig init\`: joins Wi-Fi, connects to an MQTT broker and
-- publishes a counter every 10 seconds. On a PC: moonrig --broker embedded .
local BROKER, PORT = "mqtt.example.com", 1883
local TOPIC = "moonrig/" .. node.chipid() .. "/count"

local client = mqtt.Client("node-" .. node.chipid(), 60)
local count = 0

local function publishCount()
  count = count + 1
  client:publish(TOPIC, tostring(count), 0, 0)
  print("published " .. TOPIC .. " " .. count)
end

client:on("message", function(_, topic, data)
  print("received " .. topic .. " " .. data)
end)

local function startMqtt()
  client:connect(BROKER, PORT, false, function(c)
    print("MQTT connected")
    c:subscribe(TOPIC, 0, function()
      publishCount()
      tmr.create():alarm(10000, tmr.ALARM_AUTO, publishCount)
    end)
  end, function(_, reason)
    print("MQTT connection failed: " .. reason)
  end)
end

wifi.setmode(wifi.STATION)
wifi.eventmon.register(wifi.eventmon.STA_GOT_IP, function(info)
  print("Wi-Fi up, IP " .. info.IP)
  startMqtt()
end)
-- The station configuration saved in flash connects at boot; to set another one:
-- wifi.sta.config({ ssid = "my-network", pwd = "my-password" })
`;

const LUATOS_MAIN = `-- A LuatOS starter made by \`moonrig init\`: waits for the network, connects to an MQTT
-- broker and publishes a counter every 10 seconds. On a PC: moonrig --broker embedded .
PROJECT = "starter"
VERSION = "1.0.0"

local sys = require("sys")

local BROKER, PORT = "mqtt.example.com", 1883

sys.taskInit(function()
  sys.waitUntil("IP_READY", 30000)
  print("network ready")
  local id = mcu.unique_id():toHex()
  local topic = "moonrig/" .. id .. "/count"
  local client = mqtt.create(nil, BROKER, PORT)
  client:auth("luatos-" .. id, "", "")
  client:keepalive(60)
  client:on(function(c, event, data, payload)
    if event == "conack" then
      c:subscribe(topic, 0)
      sys.publish("MQTT_READY")
    elseif event == "recv" then
      print("received " .. data .. " " .. payload)
    end
  end)
  client:connect()
  sys.waitUntil("MQTT_READY")
  print("MQTT connected")
  local count = 0
  while true do
    count = count + 1
    client:publish(topic, tostring(count), 0)
    print("published " .. topic .. " " .. count)
    sys.wait(10000)
  end
end)

sys.run()
`;

const ENTRY: Record<Flavor, { file: string; text: string }> = {
  nodemcu: { file: "init.lua", text: NODEMCU_INIT },
  luatos: { file: "main.lua", text: LUATOS_MAIN },
};

export class InitError extends Error {
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}

export interface InitResult {
  dir: string;
  written: string[];
}

/** The folder of the flavor's editor definitions in this installation of moonrig. */
export function definitionsDir(flavor: Flavor): string {
  return join(dirname(libraryDir), "dist", "meta", flavor);
}

/** The .luarc.json for a project in `dir`: the definitions by a relative path when they are inside it. */
export function luarc(dir: string, flavor: Flavor): string {
  const meta = definitionsDir(flavor);
  const inside = relative(dir, meta);
  const library = inside !== "" && !inside.startsWith("..") && !isAbsolute(inside) ? inside.split(sep).join("/") : meta;
  const config = { "runtime.version": "Lua 5.3", "workspace.library": [library] };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export function parseInitArguments(argv: readonly string[]): { flavor: Flavor; dir: string } {
  let flavor: Flavor = "nodemcu";
  let dir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--flavor" || arg.startsWith("--flavor=")) {
      const value = arg === "--flavor" ? argv[++i] : arg.slice("--flavor=".length);
      if (value !== "nodemcu" && value !== "luatos") throw new InitError(`--flavor must be nodemcu or luatos, got '${value ?? ""}'`, true);
      flavor = value;
    } else if (arg.startsWith("-") && arg !== "-") {
      throw new InitError(`unknown option '${arg}'`, true);
    } else if (dir === undefined) {
      dir = arg;
    } else {
      throw new InitError(`one folder, got '${dir}' and '${arg}'`, true);
    }
  }
  return { flavor, dir: dir ?? "." };
}

/** Writes the starter files; writes nothing when any of them exists already. */
export function initProject(dirArg: string, flavor: Flavor): InitResult {
  const dir = resolve(dirArg);
  if (!existsSync(definitionsDir(flavor))) {
    throw new InitError(`the editor definitions are missing from this installation (${definitionsDir(flavor)}): run npm run build`);
  }
  const files: Array<[string, string]> = [
    [ENTRY[flavor].file, ENTRY[flavor].text],
    [".luarc.json", luarc(dir, flavor)],
  ];
  const existing = files.map(([name]) => name).filter((name) => existsSync(join(dir, name)));
  if (existing.length > 0) {
    throw new InitError(`${existing.map((name) => join(dirArg, name)).join(" and ")} already ${existing.length > 1 ? "exist" : "exists"}; nothing written`);
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of files) writeFileSync(join(dir, name), text, { flag: "wx" });
  return { dir, written: files.map(([name]) => name) };
}

export function initCommand(argv: readonly string[], io: { stdout(text: string): void; stderr(text: string): void }): number {
  try {
    const { flavor, dir } = parseInitArguments(argv);
    const result = initProject(dir, flavor);
    io.stdout(`moonrig: wrote ${result.written.map((name) => join(dir, name)).join(" and ")} (${flavor})\n`);
    io.stdout(`run it: moonrig --broker embedded ${dir}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof InitError)) throw error;
    io.stderr(`moonrig: init: ${error.message}\n${error.usage ? INIT_USAGE : ""}`);
    return error.usage ? 2 : 1;
  }
}
