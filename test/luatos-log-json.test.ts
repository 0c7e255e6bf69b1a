// LuatOS log (line format, levels, styles) and json (lua-cjson with the firmware's
// number format and non-raising results), through the real Runtime.
import { expect } from "chai";
import { captured, type Captured } from "./support/capture.js";

const STAMP = /^\[(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})\] /;

async function luatos(chunk: string): Promise<Captured> {
  const c = captured({ flavor: "luatos", prelude: [chunk] });
  await c.rt.run();
  expect(await c.rt.finished).to.equal(0);
  return c;
}

/** stdout lines without their timestamps (each line must have one). */
function logLines(c: Captured): string[] {
  const lines = c.stdout().split("\n");
  expect(lines.pop()).to.equal("");
  return lines.map((line) => {
    expect(line).to.match(STAMP);
    return line.replace(STAMP, "");
  });
}

describe("LuatOS log", () => {
  it("prints `[YYYY-MM-DD HH:MM:SS.mmm] I/user.<tag>` and the tostring of each argument, space-separated", async () => {
    const before = Date.now();
    const c = await luatos('log.info("main", "hello", 1, 1.5, nil, true, setmetatable({}, {__tostring = function() return "T" end}))');
    const line = c.stdout();
    expect(line).to.match(/^\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}\] I\/user\.main hello 1 1\.5 nil true T\n$/);
    const [, y, mo, d, h, mi, s, ms] = (STAMP.exec(line) as RegExpExecArray).map(Number);
    const stamped = new Date(y as number, (mo as number) - 1, d, h, mi, s, ms).getTime();
    expect(stamped).to.be.within(before - 1000, Date.now() + 1000);
  });

  it("has D, I, W, E and fatal as E; a tag alone; nothing for no arguments; (null) for a tag that is not a string", async () => {
    const c = await luatos('log.debug("d", 1)\nlog.info("i")\nlog.warn("w", "x")\nlog.error("e", "y")\nlog.fatal("f", "z")\nlog.info()\nlog.info(nil, 1)\nlog.info(42, "n")\nlog.info({}, "t")');
    expect(logLines(c)).to.deep.equal(["D/user.d 1", "I/user.i", "W/user.w x", "E/user.e y", "E/user.f z", "I/user.(null) 1", "I/user.42 n", "I/user.(null) t"]);
  });

  it("keeps the bytes of tags and arguments", async () => {
    const c = await luatos('log.info("t\\255", "\\0\\200x")');
    const bytes = c.stdoutBytes();
    const body = bytes.subarray(bytes.indexOf(0x5d) + 2);
    expect([...body]).to.deep.equal([...Buffer.from("I/user.t"), 0xff, 0x20, 0x00, 200, 0x78, 0x0a]);
  });

  it("filters by level: setLevel takes the names or numbers; unknown names and 0 silence it", async () => {
    const c = await luatos(`
      print(log.getLevel(), log.LOG_SILENT, log.LOG_DEBUG, log.LOG_INFO, log.LOG_WARN, log.LOG_ERROR)
      local function all(tag) log.debug(tag, "d") log.info(tag, "i") log.warn(tag, "w") log.error(tag, "e") end
      log.setLevel("INFO") all("info") print(log.getLevel())
      log.setLevel("WARN") all("warn")
      log.setLevel(log.LOG_ERROR) all("error")
      log.setLevel("SILENT") all("silent") print(log.getLevel())
      log.setLevel(1) all("one")
      log.setLevel(0) print(log.getLevel())
      log.setLevel("FATAL") print(log.getLevel())
      log.setLevel("DEBUG") log.debug("back", "on")
    `);
    const lines = c.stdout().split("\n").map((line) => line.replace(STAMP, ""));
    expect(lines).to.deep.equal([
      "1\t7\t1\t2\t3\t4",
      "I/user.info i", "W/user.info w", "E/user.info e", "2",
      "W/user.warn w", "E/user.warn e",
      "E/user.error e",
      "7",
      "D/user.one d", "I/user.one i", "W/user.one w", "E/user.one e",
      "7", "7",
      "D/user.back on",
      "",
    ]);
  });

  it("style 1 puts the caller's file:line in place of user.tag, style 2 after it", async () => {
    const c = await luatos('print(log.style())\nprint(log.style(1))\nlog.info("tag", "a")\nlog.style(2)\nlog.warn("tag", "b")\nlog.style(0)\nlog.info("tag", "c")');
    const lines = c.stdout().split("\n").map((line) => line.replace(STAMP, ""));
    expect(lines).to.deep.equal(["0", "1", "I/(command line):3 tag a", "W/user.tag (command line):5 b", "I/user.tag c", ""]);
  });
});

describe("LuatOS json.encode", () => {
  async function encodings(values: string[]): Promise<string[]> {
    const c = await luatos(values.map((v) => `print((json.encode(${v})))`).join("\n"));
    return c.stdout().split("\n").slice(0, -1);
  }

  it("writes integers as integers and other numbers as %.7f", async () => {
    expect(await encodings(["1", "-7", "0", "1.5", "0.1", "-2.25", "1/3", "3.0", "1e20", "2^-8", "-0.0", "123456789.123"])).to.deep.equal([
      "1", "-7", "0", "1.5000000", "0.1000000", "-2.2500000", "0.3333333", "3.0000000", "100000000000000000000.0000000", "0.0039062", "-0.0000000", "123456789.1230000",
    ]);
  });

  it("takes the number format as its second argument: digits (or %.digits) then f or g; anything else is refused", async () => {
    expect(await encodings(['{1.5}, "2f"', '{1/3}, "12f"', '{1/3}, "7g"', '{100000000.5}, "7g"', '{0.0001}, "3g"', '{0.00001234}, "3g"', '{2.5}, "0f"', '{1.25}, "2"', '{1.5}, "99f"', "1.5, nil", '{1234.56}, "%.1f"', '{1}, "%1f"', '{1}, "1x"'])).to.deep.equal([
      "[1.50]", "[0.333333333333]", "[0.3333333]", "[1e+08]", "[0.0001]", "[1.23e-05]", "[2]", "nil", "[1.5000000]", "1.5000000", "[1234.6]", "nil", "nil",
    ]);
  });

  it("writes tables as lua-cjson does: arrays, objects, {} for an empty table, number keys as strings", async () => {
    expect(await encodings([
      "{}",
      "{1, 2, {3, {}}}",
      '{a = 1}',
      '{[1] = "x", [3] = "z"}',
      '{[2.5] = true, [10] = false}',
      '{true, false, json.null}',
      "json.null",
      'nil',
      '"s"',
    ])).to.deep.equal(["{}", "[1,2,[3,{}]]", '{"a":1}', '["x",null,"z"]', '{"2.5000000":true,"10":false}', "[true,false,null]", "null", "", '"s"']);
  });

  it("escapes control characters, quotes, backslash and slash, and passes other bytes through", async () => {
    const c = await luatos('io.write(json.encode("a\\"b\\\\c/d\\n\\r\\t\\b\\f\\1\\31\\127\\200\\255"))');
    expect([...c.stdoutBytes()]).to.deep.equal([...Buffer.from('"a\\"b\\\\c\\/d\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f'), 200, 0xff, 0x22]);
  });

  it("returns nil and the reason instead of raising", async () => {
    const c = await luatos(`
      print(json.encode(print))
      print(json.encode({f = print}))
      print(json.encode({[true] = 1}))
      print(json.encode({[100] = 1}))
      print(json.encode(0/0))
      print(json.encode({math.huge}))
      local loop = {} loop[1] = loop
      print(json.encode(loop))
      print(json.encode())
    `);
    expect(c.stdout()).to.equal([
      "nil\tCannot serialise function: type not supported",
      "nil\tCannot serialise function: type not supported",
      "nil\tCannot serialise boolean: table key must be a number or string",
      "nil\tCannot serialise table: excessively sparse array",
      "nil\tCannot serialise number: must not be NaN or Inf",
      "nil\tCannot serialise number: must not be NaN or Inf",
      "nil\tCannot serialise, excessive nesting (1001)",
      "",
      "",
    ].join("\n"));
  });
});

describe("LuatOS json.decode", () => {
  it("returns the value and 1; integers stay integers; null is json.null", async () => {
    const c = await luatos(`
      local t, ok = json.decode('{"a": 1, "b": [1.5, -2, 3e2, true, false, null], "s": "x\\\\u00e9\\\\ud83d\\\\ude00\\\\n\\\\/", "e": {}}')
      print(ok, math.type(t.a), t.a, math.type(t.b[1]), t.b[1], t.b[2], math.type(t.b[3]), t.b[3], t.b[4], t.b[5], t.b[6] == json.null, #t.b)
      print(t.s == "x\\195\\169\\240\\159\\152\\128\\n/", next(t.e))
      print(json.decode("42"))
      print(json.decode(' "str" '))
      print(json.decode(7))
    `);
    expect(c.stdout()).to.equal("1\tinteger\t1\tfloat\t1.5\t-2\tfloat\t300.0\ttrue\tfalse\ttrue\t6\ntrue\tnil\n42\t1\nstr\t1\n7\t1\n");
  });

  it("returns nil, false and lua-cjson's message for bad input, never raising", async () => {
    const c = await luatos(`
      print(json.decode(""))
      print(json.decode("{"))
      print(json.decode('{"a" 1}'))
      print(json.decode("[1,]"))
      print(json.decode("[1] x"))
      print(json.decode('"abc'))
      print(json.decode('"\\\\q"'))
      print(json.decode("tru"))
      print(json.decode(nil))
      print(json.decode())
      print(json.decode({}))
    `);
    expect(c.stdout()).to.equal([
      "nil\tfalse\tExpected value but found T_END at character 1",
      "nil\tfalse\tExpected object key string but found T_END at character 2",
      "nil\tfalse\tExpected colon but found T_NUMBER at character 6",
      "nil\tfalse\tExpected value but found T_ARR_END at character 4",
      "nil\tfalse\tExpected the end but found invalid token at character 5",
      "nil\tfalse\tExpected value but found unexpected end of string at character 5",
      "nil\tfalse\tExpected value but found invalid escape code at character 2",
      "nil\tfalse\tExpected value but found invalid token at character 1",
      "nil\tfalse\tbad argument #1 to 'decode' (string expected, got nil)",
      "nil\tfalse\tbad argument #1 to 'decode' (string expected, got no value)",
      "nil\tfalse\tbad argument #1 to 'decode' (string expected, got table)",
      "",
    ].join("\n"));
  });

  it("round-trips what encode writes", async () => {
    const c = await luatos(`
      local src = {name = "dev\\0ice", list = {1, 2, 3}, nested = {ok = true, none = json.null}, n = -5}
      local back, ok = json.decode(json.encode(src))
      print(ok, back.name == src.name, back.list[3], back.nested.ok, back.nested.none == json.null, back.n)
    `);
    expect(c.stdout()).to.equal("1\ttrue\t3\ttrue\ttrue\t-5\n");
  });
});
