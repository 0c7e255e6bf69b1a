// The broker's certificate is checked against the name the script used, for mqtts:// and
// wss:// alike, in both flavors and through the AT modem emulator, also when --map sends
// the connection to 127.0.0.1.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { promisify } from "node:util";
import type { RuntimeOptions } from "../main/index.js";
import { started, type Captured } from "./support/capture.js";
import { makeCerts, type TestCerts } from "./support/certs.js";
import { luaString } from "./support/lua.js";
import { startMosquitto, type Mosquitto } from "./support/mosquitto.js";

const run = promisify(execFile);

const NAME = "broker.test.example";
const WRONG = "wrong.example";

/** A certificate from the test CA for NAME only (no address, no other name). */
async function namedServerCert(certs: TestCerts, dir: string): Promise<{ cert: string; key: string }> {
  await writeFile(join(dir, "server.ext"), `basicConstraints = critical,CA:FALSE\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:${NAME}\n`);
  await run("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "named.key", "-out", "named.csr", "-subj", `/CN=${NAME}`], { cwd: dir });
  await run("openssl", ["x509", "-req", "-in", "named.csr", "-CA", certs.paths.ca, "-CAkey", certs.paths.caKey, "-set_serial", "7", "-out", "named.crt", "-days", "2", "-extfile", "server.ext"], { cwd: dir });
  return { cert: await readFile(join(dir, "named.crt"), "utf8"), key: await readFile(join(dir, "named.key"), "utf8") };
}

/**
 * TLS in front of one of mosquitto's plain listeners, with the named certificate: mqtts in
 * front of its MQTT port, wss in front of its WebSocket port (this mosquitto's WebSocket
 * listener has no TLS).
 */
function tlsFront(identity: { cert: string; key: string }, backend: number): Promise<tls.Server> {
  const server = tls.createServer(identity, (socket) => {
    const upstream = net.connect({ host: "127.0.0.1", port: backend });
    socket.pipe(upstream).pipe(socket);
    socket.on("error", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
  });
  server.on("tlsClientError", () => undefined);
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const portOf = (server: tls.Server): number => (server.address() as net.AddressInfo).port;

describe("TLS: the broker's certificate is checked against the script's host name", function () {
  this.timeout(20000);
  let mosq: Mosquitto;
  let certs: TestCerts;
  let dir: string;
  const fronts: Record<"mqtts" | "wss", tls.Server> = {} as Record<"mqtts" | "wss", tls.Server>;
  const open: Captured[] = [];

  before(async () => {
    certs = await makeCerts();
    dir = mkdtempSync(join(tmpdir(), "moonrig-tls-names-"));
    const identity = await namedServerCert(certs, dir);
    mosq = await startMosquitto();
    fronts.mqtts = await tlsFront(identity, mosq.ports.tcp);
    fronts.wss = await tlsFront(identity, mosq.ports.ws);
  });
  after(async () => {
    for (const server of Object.values(fronts)) await new Promise((resolve) => server.close(resolve));
    await mosq.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const c of open.splice(0)) await c.rt.close();
  });

  /** Both names go to the same broker: only the certificate check tells them apart. */
  const mapFor = (transport: "mqtts" | "wss"): RuntimeOptions["map"] => {
    const target = `${transport}://127.0.0.1:${portOf(fronts[transport])}${transport === "wss" ? "/mqtt" : ""}`;
    return [[NAME, target], [WRONG, target]];
  };

  const runScript = async (options: RuntimeOptions, chunk: string): Promise<string> => {
    const c = await started({ keepGoing: false, ...options, prelude: [chunk] });
    open.push(c);
    await c.rt.finished;
    return c.stdout();
  };

  for (const transport of ["mqtts", "wss"] as const) {
    it(`NodeMCU over ${transport}: the right name connects; another name or another CA fails the connection (-5); no ca_cert checks nothing`, async () => {
      const nodemcu = (host: string, secure: string) => runScript({ flavor: "nodemcu", map: mapFor(transport) }, `
        m = mqtt.Client("names-${transport}", 30)
        m:connect("${host}", 8883, ${secure}, function(cl) print("up") cl:close() end, function(_, r) print("fail", r) end)
      `);
      expect(await nodemcu(NAME, `{ca_cert = ${luaString(certs.ca)}}`)).to.equal("up\n");
      expect(await nodemcu(WRONG, `{ca_cert = ${luaString(certs.ca)}}`)).to.equal("fail\t-5\n");
      expect(await nodemcu(NAME, `{ca_cert = ${luaString(certs.otherCa)}}`)).to.equal("fail\t-5\n");
      expect(await nodemcu(WRONG, "true")).to.equal("up\n");
    });

    it(`LuatOS over ${transport}: the right name connects; another name or another CA gives error/disconnect(-1); ssl=true, verify=1 and verify=0 check nothing, a table without server_cert trusts no CA`, async () => {
      const luatos = (host: string, ssl: string) => runScript({ flavor: "luatos", map: mapFor(transport) }, `
        c = mqtt.create(nil, "${host}", 8883, ${ssl})
        c:on(function(cl, event, data) print(event, data) if event == "conack" then cl:close() end end)
        c:connect()
      `);
      const refused = "error\tconnect\ndisconnect\t-1\nclose\tnil\n";
      expect(await luatos(NAME, `{server_cert = ${luaString(certs.ca)}}`)).to.equal("conack\tnil\n");
      expect(await luatos(WRONG, `{server_cert = ${luaString(certs.ca)}}`)).to.equal(refused);
      expect(await luatos(NAME, `{server_cert = ${luaString(certs.otherCa)}}`)).to.equal(refused);
      expect(await luatos(WRONG, "true")).to.equal("conack\tnil\n");
      expect(await luatos(WRONG, `{server_cert = ${luaString(certs.ca)}, verify = 1}`)).to.equal("conack\tnil\n");
      // A table's verify defaults to 2 with an empty CA chain when server_cert is missing:
      // the device's handshake fails, even for the right name; verify = 0 checks nothing.
      expect(await luatos(NAME, "{}")).to.equal(refused);
      expect(await luatos(WRONG, "{verify = 0}")).to.equal("conack\tnil\n");
    });
  }

  // The emulated ESP-AT verifies (schemes 3 and 8) with the CA flashed into it, against
  // the script's name, which the host sends as AT+MQTTSNI when routing moved the connection.
  it("over --at emulator (ESP-AT): mqtts and wss check the script's name with the flashed CA", async () => {
    for (const transport of ["mqtts", "wss"] as const) {
      const overAt = (host: string, ca: string) => runScript({
        flavor: "nodemcu", at: "emulator", map: mapFor(transport), atCertificates: { ca: Buffer.from(ca) },
      }, `
        m = mqtt.Client("names-at-${transport}", 30)
        m:connect("${host}", 8883, {ca_cert = ${luaString(certs.ca)}}, function(cl) print("up") cl:close() end, function(_, r) print("fail", r) end)
      `);
      expect(await overAt(NAME, certs.ca), transport).to.equal("up\n");
      expect(await overAt(WRONG, certs.ca), transport).to.equal("fail\t-5\n");
      expect(await overAt(NAME, certs.otherCa), transport).to.equal("fail\t-5\n");
    }
  });
});
