// NodeMCU tls: sockets against a real TLS server on 127.0.0.1, and tls.cert.verify/auth,
// which decide what every secure connection checks and presents (tls sockets and https
// here): the chain against the stored CA, never the host name, as mbedTLS on the ESP8266.
import { expect } from "chai";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createServer, type Server, type TLSSocket } from "node:tls";
import type { RuntimeOptions } from "../main/index.js";
import { captured, type Captured } from "./support/capture.js";
import { makeCerts, type TestCerts } from "./support/certs.js";
import { luaString } from "./support/lua.js";
import { tempDir } from "./support/temp.js";

async function run(script: string, options: RuntimeOptions = {}): Promise<Captured> {
  const c = captured({ flavor: "nodemcu", cwd: tempDir("nodemcu-tls"), ...options, prelude: [script] });
  await c.rt.run();
  expect(await c.rt.finished, c.stderr()).to.equal(0);
  await c.rt.close();
  return c;
}

function listen(server: Server | HttpsServer): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

describe("NodeMCU tls", function () {
  this.timeout(30000);
  let certs: TestCerts;
  let echo: Server;
  let echoPort: number;
  let mutual: Server;
  let mutualPort: number;

  before(async () => {
    certs = await makeCerts();
    echo = createServer({ cert: certs.serverCert, key: certs.serverKey }, (socket: TLSSocket) => {
      socket.on("data", (data: Buffer) => socket.write(Buffer.concat([Buffer.from("echo:"), data])));
      socket.on("error", () => undefined);
    });
    echoPort = await listen(echo);
    mutual = createServer({ cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requestCert: true, rejectUnauthorized: true }, (socket: TLSSocket) => {
      socket.end(`hello ${(socket.getPeerCertificate().subject as { CN?: string }).CN}`);
    });
    mutual.on("tlsClientError", () => undefined);
    mutualPort = await listen(mutual);
  });

  after(() => {
    echo.close();
    mutual.close();
  });

  it("a socket: dns, connection, sent, receive (bytes as sent), getpeer (ip first), close then disconnection", async () => {
    const c = await run(`
      local s = tls.createConnection()
      s:on("dns", function(sk, ip) print("dns", sk == s, ip) end)
      s:on("connection", function(sk) print("connection", sk:getpeer()) sk:send("\\0\\255hi") end)
      s:on("sent", function() print("sent") end)
      s:on("receive", function(sk, data) print("receive", #data, data:byte(6), data:byte(7)) sk:close() end)
      s:on("disconnection", function(sk) print("disconnection", sk:getpeer()) end)
      print("before", s:getpeer())
      s:connect(${echoPort}, "127.0.0.1")`);
    expect(c.stdout()).to.equal(`before\tnil\tnil\ndns\ttrue\t127.0.0.1\nconnection\t127.0.0.1\t${echoPort}\nsent\nreceive\t9\t0\t255\ndisconnection\tnil\tnil\n`);
  });

  it("tls.cert.verify: a stored CA makes the chain count and ignores the name; another CA fails the handshake", async () => {
    const c = await run(`
      print(tls.cert.verify(${luaString(certs.otherCa)}))
      local s = tls.createConnection()
      s:on("reconnection", function(_, reason) print("reconnection", reason)
        print(tls.cert.verify(${luaString(certs.ca)}))
        s:connect(${echoPort}, "127.0.0.1")
      end)
      s:on("connection", function(sk) print("connected without checking the name") sk:close() end)
      s:connect(${echoPort}, "127.0.0.1")`);
    const warning = "Warning, deprecated API! tls.cert.verify's old interface. It will be removed soon. See documentation for details.\n";
    expect(c.stdout()).to.equal(`${warning}true\nreconnection\tSSL handshake failed\n${warning}true\nconnected without checking the name\n`);
  });

  it("tls.cert.verify errors: no stored certificate, not PEM, the wrong PEM type; a callback replaces the stored CAs", async () => {
    const c = await run(`
      print(pcall(tls.cert.verify, true))
      print(pcall(tls.cert.verify, "no pem here"))
      print(pcall(tls.cert.verify, ${luaString(certs.clientKey)}))
      print(tls.cert.verify(function(k) if k == 1 then return ${luaString(certs.ca)} end end))
      local s = tls.createConnection()
      s:on("connection", function(sk) print("verified by the callback's CA") sk:close() end)
      s:connect(${echoPort}, "127.0.0.1")`);
    const warning = "Warning, deprecated API! tls.cert.verify's old interface. It will be removed soon. See documentation for details.\n";
    expect(c.stdout()).to.equal(
      `${warning}false\tno certificates found\n${warning}false\tNo PEM header\n${warning}false\tWrong PEM type\ntrue\nverified by the callback's CA\n`,
    );
  });

  it("tls.cert.auth: the callback's key (k = 0) and certificate (k = 1) are presented; without them the server refuses", async () => {
    const c = await run(`
      local function attempt(label, after)
        local s = tls.createConnection()
        s:on("receive", function(_, data) print(label, data) end)
        s:on("reconnection", function(_, reason) print(label, "reconnection", reason) if after then after() end end)
        s:on("disconnection", function() if after then after() end end)
        s:connect(${mutualPort}, "127.0.0.1")
      end
      attempt("anonymous", function()
        print(tls.cert.auth(function(k) if k == 0 then return ${luaString(certs.clientKey)} elseif k == 1 then return ${luaString(certs.clientCert)} end end))
        attempt("authenticated")
      end)`);
    expect(c.stdout()).to.match(/^anonymous\treconnection\t(Connection reset|SSL handshake failed)\ntrue\nauthenticated\thello moonrig-client\n$/);
  });

  it("https follows tls.cert.verify: -1 against a CA that did not sign, the body against the right one", async () => {
    const https = createHttpsServer({ cert: certs.serverCert, key: certs.serverKey }, (_request, response) => response.end("secret"));
    const port = await listen(https);
    try {
      const c = await run(`
        tls.cert.verify(function(k) if k == 1 then return ${luaString(certs.otherCa)} end end)
        http.get("https://127.0.0.1:${port}/", nil, function(code, body)
          print("other CA", code, body)
          tls.cert.verify(function(k) if k == 1 then return ${luaString(certs.ca)} end end)
          http.get("https://127.0.0.1:${port}/", nil, function(code2, body2) print("right CA", code2, body2) end)
        end)`);
      expect(c.stdout()).to.equal("other CA\t-1\tnil\nright CA\t200\tsecret\n");
    } finally {
      https.close();
    }
  });

  it("checks arguments as tls.c does", async () => {
    const c = await run(`
      local s = tls.createConnection()
      print(pcall(s.connect, s, 0))
      print(pcall(s.on, s, "bogus", print))
      print(pcall(s.on, s, "receive", 1))
      s:send("dropped: not connected")
      print(pcall(tls.setDebug, "x"))`);
    expect(c.stdout()).to.equal(
      "false\tinvalid port\nfalse\tinvalid method\nfalse\tinvalid callback function\nfalse\tbad argument #1 to '?' (number expected, got string)\n",
    );
  });
});
