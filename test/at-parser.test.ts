// The AT modem byte parser on adversarial streams: binary +MQTTSUBRECV payloads, the
// line-end-less `>` prompt, unsolicited lines anywhere, garbage, and every chunking.
import { expect } from "chai";
import { AtParser, classifyLine, parseResponseFields, type AtEvent } from "../modem/parser.js";
import {
  AtCommandError,
  atCommandName,
  buildAtCommand,
  checkAtCommand,
  escapeAtString,
  fitsAtCommand,
  isAtStringSafe,
  quoteAtString,
  splitAtParams,
  unescapeAtString,
} from "../modem/escape.js";

const b = (s: string) => Buffer.from(s, "latin1");

/** Events as plain data, with the prompt expectation driven the way the driver drives it. */
function parse(chunks: Uint8Array[], options: { maxLineBytes?: number; maxPayloadBytes?: number } = {}): unknown[] {
  const events: unknown[] = [];
  const parser: AtParser = new AtParser((event: AtEvent) => {
    events.push(simplify(event));
    // Stand-in for the driver: an echoed raw-data command means a prompt is due.
    if (event.type === "line" && /^AT\+(MQTTPUBRAW|MQTTLONG)/.test(event.line.toString("latin1"))) parser.expectPrompt = true;
  }, options);
  for (const chunk of chunks) parser.push(chunk);
  return events;
}

function simplify(event: AtEvent): unknown {
  switch (event.type) {
    case "prompt":
      return ["prompt"];
    case "discard":
      return ["discard", event.reason, event.bytes];
    case "subrecv":
      return ["subrecv", event.linkId, event.topic.toString("hex"), event.payload.toString("hex")];
    case "result":
      return ["result", event.result];
    case "err-code":
      return ["err-code", event.code];
    case "urc":
      return ["urc", event.name, event.line.toString("latin1")];
    default:
      return [event.type, event.line.toString("latin1")];
  }
}

function subrecv(topic: Buffer, payload: Buffer): Buffer {
  return Buffer.concat([b(`+MQTTSUBRECV:0,"`), topic, b(`",${payload.length},`), payload, b("\r\n")]);
}

const NASTY = Buffer.concat([b('\r\nOK\r\n\r\n>,"quoted",\0\r\nERROR\r\n+MQTTPUB:OK\r\n'), Buffer.from([0, 255, 13, 10, 62])]);

// A session as ESP-AT would print it with echo on, with every awkward case in it.
const STREAM = Buffer.concat([
  b("\r\nready\r\n"),
  b("AT\r\n\r\nOK\r\n"),
  b("ATE0\r\n\r\nOK\r\n"),
  b("\r\n+MQTTCONN:0,4,1,\"broker\",\"1883\",\"\",1\r\n\r\nOK\r\n"),
  b("AT+MQTTPUBRAW=0,\"t\",5,0,0\r\n\r\nOK\r\n"),
  b('+MQTTDISCONNECTED:0\r\n+MQTTCONNECTED:0,1,"h","1883","",1\r\n'),
  subrecv(b("in/a"), NASTY),
  b("\r\n>"),
  b("\r\n+MQTTPUB:OK\r\n"),
  b("busy p...\r\n"),
  b("\r\nERR CODE:0x010a6034\r\nERROR\r\n"),
  subrecv(b('we"ird,topic'), Buffer.alloc(0)),
  subrecv(Buffer.from("température/ü", "utf8"), Buffer.from([0x3e])),
  b("\r\n+TIME_UPDATED\r\nWIFI GOT IP\r\n"),
  b("AT+MQTTLONGCLIENTID=0,3\r\n\r\nOK\r\n\r\n>"),
  b("\r\nOK\r\n"),
  b("ALREADY SUBSCRIBE\r\nSEND OK\r\n"),
]);

describe("AT parser", () => {
  it("classifies result, busy, error-code, boot and unsolicited lines", () => {
    const events = parse([
      b(
        "\r\nOK\r\n\r\nERROR\r\nFAIL\r\nSEND OK\r\nSEND FAIL\r\n+MQTTPUB:OK\r\n+MQTTPUB:FAIL\r\n" +
          "busy p...\r\nbusy ...\r\nERR CODE:0x010a6034\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n" +
          "+MQTTCONNECTED:0,1,\"h\",\"1883\",\"\",1\r\n+MQTTDISCONNECTED:0\r\n+TIME_UPDATED\r\n" +
          "+MQTTCONN:0,4,1,\"h\",\"1883\",\"\",1\r\nAT+GMR\r\nALREADY SUBSCRIBE\r\n",
      ),
    ]);
    expect(events).to.deep.equal([
      ["result", "OK"],
      ["result", "ERROR"],
      ["result", "FAIL"],
      ["result", "SEND OK"],
      ["result", "SEND FAIL"],
      ["result", "+MQTTPUB:OK"],
      ["result", "+MQTTPUB:FAIL"],
      ["busy", "busy p..."],
      ["busy", "busy ..."],
      ["err-code", 0x010a6034],
      ["ready", "ready"],
      ["urc", "WIFI CONNECTED", "WIFI CONNECTED"],
      ["urc", "WIFI GOT IP", "WIFI GOT IP"],
      ["urc", "+MQTTCONNECTED", '+MQTTCONNECTED:0,1,"h","1883","",1'],
      ["urc", "+MQTTDISCONNECTED", "+MQTTDISCONNECTED:0"],
      ["urc", "+TIME_UPDATED", "+TIME_UPDATED"],
      ["line", '+MQTTCONN:0,4,1,"h","1883","",1'],
      ["line", "AT+GMR"],
      ["line", "ALREADY SUBSCRIBE"],
    ]);
  });

  it("reports the prompt only when one is expected, and only at the start of a line", () => {
    const withPrompt: unknown[] = [];
    const p = new AtParser((e) => withPrompt.push(simplify(e)));
    p.expectPrompt = true;
    p.push(b("\r\nOK\r\n+MQTTDISCONNECTED:0\r\n\r\n>"));
    expect(withPrompt).to.deep.equal([["result", "OK"], ["urc", "+MQTTDISCONNECTED", "+MQTTDISCONNECTED:0"], ["prompt"]]);
    expect(p.expectPrompt).to.equal(false);
    // A second `>` is an ordinary byte again.
    p.push(b(">x\r\n"));
    expect(withPrompt.at(-1)).to.deep.equal(["line", ">x"]);

    const without: unknown[] = [];
    const q = new AtParser((e) => without.push(simplify(e)));
    q.push(b("\r\nOK\r\n\r\n>"));
    q.push(b("\r\n"));
    expect(without).to.deep.equal([["result", "OK"], ["line", ">"]]);

    const midLine: unknown[] = [];
    const r = new AtParser((e) => midLine.push(simplify(e)));
    r.expectPrompt = true;
    r.push(b("+X:a>b\r\n   >"));
    expect(midLine).to.deep.equal([["line", "+X:a>b"], ["prompt"]]);
  });

  it("takes exactly <len> payload bytes, whatever they contain", () => {
    const payload = Buffer.concat([NASTY, Buffer.from(Array.from({ length: 256 }, (_, i) => i))]);
    const events = parse([subrecv(b("t/1"), payload), b("OK\r\n")]);
    expect(events).to.deep.equal([["subrecv", 0, b("t/1").toString("hex"), payload.toString("hex")], ["result", "OK"]]);
  });

  it("keeps an unescaped topic with quotes and commas, and a zero-length payload", () => {
    const events = parse([subrecv(b('a"b,c'), b("x,y")), subrecv(b("e"), Buffer.alloc(0)), b("OK\r\n")]);
    expect(events).to.deep.equal([
      ["subrecv", 0, b('a"b,c').toString("hex"), b("x,y").toString("hex")],
      ["subrecv", 0, b("e").toString("hex"), ""],
      ["result", "OK"],
    ]);
  });

  it("recognises a +MQTTSUBRECV right after a W800 `> ` prompt", () => {
    const events: unknown[] = [];
    const p = new AtParser((e) => events.push(simplify(e)));
    p.expectPrompt = true;
    p.push(Buffer.concat([b("OK\r\n> "), subrecv(b("t"), b("\r\n")), b("+MQTTPUB:OK\r\n")]));
    expect(events).to.deep.equal([
      ["result", "OK"],
      ["prompt"],
      ["subrecv", 0, b("t").toString("hex"), b("\r\n").toString("hex")],
      ["result", "+MQTTPUB:OK"],
    ]);
  });

  it("gives the same events for the same stream split at every byte boundary", () => {
    const whole = parse([STREAM]);
    expect(whole.filter((e) => (e as unknown[])[0] === "prompt")).to.have.length(2);
    expect(whole.filter((e) => (e as unknown[])[0] === "subrecv")).to.have.length(3);
    for (let k = 0; k <= STREAM.length; k++) {
      expect(parse([STREAM.subarray(0, k), STREAM.subarray(k)]), `split at ${k}`).to.deep.equal(whole);
    }
    const bytes = Array.from(STREAM, (byte) => Uint8Array.of(byte));
    expect(parse(bytes), "one byte at a time").to.deep.equal(whole);
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let round = 0; round < 200; round++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < STREAM.length; ) {
        const n = 1 + Math.floor(random() * 40);
        chunks.push(STREAM.subarray(i, i + n));
        i += n;
      }
      expect(parse(chunks), `random chunking ${round}`).to.deep.equal(whole);
    }
  });

  it("recovers from garbage, over-long lines and absurd lengths at the next line end", () => {
    const noise = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + 11) % 256).filter((x) => x !== 10));
    const events = parse(
      [
        noise,
        b("\r\nOK\r\n"),
        Buffer.alloc(100, 0x41),
        b("\r\nERROR\r\n"),
        b('+MQTTSUBRECV:0,"t",99999999,abc\r\nOK\r\n'),
        b('+MQTTSUBRECV:0,"t\r\nOK\r\n'),
        Buffer.from([0xff, 0x00, 0x8c]),
        b("ready\r\n"),
        b("OK\r\n"),
      ],
      { maxLineBytes: 64, maxPayloadBytes: 1000 },
    );
    expect(events).to.deep.equal([
      ["discard", "line-too-long", noise.length + 2],
      ["result", "OK"],
      ["discard", "line-too-long", 102],
      ["result", "ERROR"],
      ["discard", "payload-too-long", 0],
      ["line", '+MQTTSUBRECV:0,"t",99999999,abc'],
      ["result", "OK"],
      ["line", '+MQTTSUBRECV:0,"t'],
      ["result", "OK"],
      ["ready", "\xff\x00\x8cready"],
      ["result", "OK"],
    ]);
  });

  it("does not hold a partial line against later input", () => {
    const events = parse([b("+MQTTCONN:0,4"), b(",1,\"h\"\r\nOK\r\n")]);
    expect(events).to.deep.equal([["line", '+MQTTCONN:0,4,1,"h"'], ["result", "OK"]]);
    expect(classifyLine(b("   "))).to.equal(undefined);
  });

  it("splits response fields with unescaped quoted strings", () => {
    const fields = parseResponseFields(b('+MQTTCONNECTED:0,1,"a,b","1883","",1'));
    expect(fields.map((f) => [f.quoted, f.bytes.toString("latin1")])).to.deep.equal([
      [false, "0"],
      [false, "1"],
      [true, "a,b"],
      [true, "1883"],
      [true, ""],
      [false, "1"],
    ]);
  });
});

describe("AT command escaping", () => {
  it("escapes backslash, quote and comma and undoes it", () => {
    const raw = b('a\\b"c,d');
    expect(escapeAtString(raw).toString("latin1")).to.equal('a\\\\b\\"c\\,d');
    expect(quoteAtString(raw).toString("latin1")).to.equal('"a\\\\b\\"c\\,d"');
    expect(unescapeAtString(escapeAtString(raw))).to.deep.equal(raw);
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(unescapeAtString(escapeAtString(all))).to.deep.equal(all);
  });

  it("builds command lines from numbers, strings and bytes", () => {
    const cmd = buildAtCommand("AT+MQTTPUB", [0, "t/ü", Buffer.from('{"a":1,"b":2}'), 1, 0]);
    expect(cmd).to.deep.equal(Buffer.from('AT+MQTTPUB=0,"t/ü","{\\"a\\":1\\,\\"b\\":2}",1,0', "utf8"));
    expect(buildAtCommand("AT+MQTTCONN?").toString()).to.equal("AT+MQTTCONN?");
    expect(() => buildAtCommand("AT+MQTTPUB", [0, "t", "a\nb", 0, 0])).to.throw(AtCommandError, /parameter 3 contains a NUL, CR or LF/);
    expect(() => buildAtCommand("AT+X", [1.5])).to.throw(AtCommandError, /integer/);
    expect(isAtStringSafe(Buffer.from([1, 2, 0]))).to.equal(false);
    expect(isAtStringSafe("ok, \"fine\"")).to.equal(true);
  });

  it("splits command parameters back, escapes included", () => {
    const cmd = buildAtCommand("AT+MQTTCONN", [0, 'h,o"st\\', 1883, 1, 5000]);
    expect(splitAtParams(cmd).map((p) => [p.quoted, p.bytes.toString("latin1")])).to.deep.equal([
      [false, "0"],
      [true, 'h,o"st\\'],
      [false, "1883"],
      [false, "1"],
      [false, "5000"],
    ]);
  });

  it("enforces the 256-byte command line, CR LF included", () => {
    const fits = "AT+X=" + "a".repeat(249);
    expect(fitsAtCommand(fits)).to.equal(true);
    expect(() => checkAtCommand(fits)).not.to.throw();
    expect(fitsAtCommand(fits + "a")).to.equal(false);
    expect(() => checkAtCommand(fits + "a")).to.throw(AtCommandError, "AT command AT+X is 257 bytes with its line end; the modem accepts at most 256");
    expect(() => checkAtCommand("AT\r\nAT")).to.throw(AtCommandError, /CR or LF/);
    expect(atCommandName("AT+MQTTPUB=0,\"t\"")).to.equal("AT+MQTTPUB");
    expect(atCommandName("AT+MQTTCONN?")).to.equal("AT+MQTTCONN?");
    expect(atCommandName("ATE0")).to.equal("ATE0");
  });
});
