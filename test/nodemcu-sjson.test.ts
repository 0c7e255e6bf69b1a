// NodeMCU sjson and cjson through the real Runtime: encodings byte for byte, decoded
// types, and the firmware's error wording (jsonsl names for sjson, lua-cjson for cjson).
import { expect } from "chai";
import { started, type Captured } from "./support/capture.js";
import { errorOf, plain, run } from "./support/lua.js";

function boot(): Promise<Captured> {
  return started({ flavor: "nodemcu" });
}

describe("NodeMCU sjson.encode", () => {
  let c: Captured;
  before(async () => {
    c = await boot();
  });
  after(async () => {
    await c.rt.close();
  });

  it("encodes objects in the table's order and arrays by their integer keys", () => {
    expect(run(c, 'return sjson.encode({a = 1, b = "x", c = true, d = false})')).to.deep.equal(['{"a":1,"b":"x","c":true,"d":false}']);
    expect(run(c, "return sjson.encode({1, 2, {3, {x = 4}}})")).to.deep.equal(['[1,2,[3,{"x":4}]]']);
  });

  it("encodes an empty table as an array, as the firmware does", () => {
    expect(run(c, "return sjson.encode({}), sjson.encode({list = {}})")).to.deep.equal(["[]", '{"list":[]}']);
  });

  it("fills holes of an array with null and turns mixed tables into objects with string keys", () => {
    expect(run(c, "return sjson.encode({[1] = 1, [3] = 3})")).to.deep.equal(["[1,null,3]"]);
    expect(run(c, 'local t = {} t[1] = 10 t[2] = 20 t.name = "n" return sjson.encode(t)')).to.deep.equal(['{"1":10,"2":20,"name":"n"}']);
    expect(run(c, 'return sjson.encode({[0] = "zero"})')).to.deep.equal(['{"0":"zero"}']);
  });

  it("keeps integers as integers and writes floats as Lua 5.3 does", () => {
    expect(run(c, "return sjson.encode({1, -7, 2.5, 3.0, 1/3, 1e20, 2^31, 0.0001})")).to.deep.equal(["[1,-7,2.5,3.0,0.33333333333333,1e+20,2147483648.0,0.0001]"]);
  });

  it("escapes quotes, control characters and backslashes; other bytes pass through", () => {
    expect(run(c, 'return sjson.encode({"a\\"b\\\\c\\n\\r\\t\\b\\f\\1\\31", "caf\\195\\169 \\255"})')).to.deep.equal(['["a\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f","caf\xc3\xa9 \xff"]']);
  });

  it("writes sjson.NULL (any userdata) and nil as null, and honours the null option", () => {
    expect(run(c, "return sjson.encode({sjson.NULL, cjson.null, nil, 1})")).to.deep.equal(["[null,null,null,1]"]);
    expect(run(c, 'local t = {} t.a = "\\0" t.b = "x" return sjson.encode(t, {null = "\\0"})')).to.deep.equal(['{"a":null,"b":"x"}']);
  });

  it("calls functions and encodes what they return", () => {
    expect(run(c, 'local t = {} t.t = function() return {1, 2} end t.v = function() return "ok" end return sjson.encode(t)')).to.deep.equal(['{"t":[1,2],"v":"ok"}']);
  });

  it("raises on a non-table, a cycle, too deep a nesting and values JSON cannot hold", () => {
    expect(errorOf(c, "sjson.encode()")).to.equal("(exec):2: bad argument #1 to 'encode' (table expected, got no value)");
    expect(errorOf(c, 'sjson.encode("x")')).to.equal("(exec):2: bad argument #1 to 'encode' (table expected, got string)");
    expect(errorOf(c, "local t = {} t.self = t sjson.encode(t)")).to.equal("(exec):2: encoder stack overflow");
    expect(errorOf(c, "local t = {} for i = 1, 25 do t = {t} end sjson.encode(t)")).to.equal("(exec):2: encoder stack overflow");
    expect(run(c, "local t = {} for i = 1, 25 do t = {t} end return #sjson.encode(t, {depth = 30})")).to.deep.equal([52]);
    expect(errorOf(c, "sjson.encode({coroutine.create(print)})")).to.equal("(exec):2: Cannot encode type 8");
    expect(errorOf(c, "sjson.encode({[print] = 1})")).to.equal("(exec):2: Cannot encode type 6");
  });
});

describe("NodeMCU sjson.decode", () => {
  let c: Captured;
  before(async () => {
    c = await boot();
  });
  after(async () => {
    await c.rt.close();
  });

  it("decodes objects and arrays; integers stay integers", () => {
    expect(
      run(c, 'local t = sjson.decode([[{"a": 1, "b": [true, false, "s", 2.5, -3, 1e2], "c": {"d": "e"}}]]) return t.a, math.type(t.a), t.b[1], t.b[2], t.b[3], t.b[4], t.b[5], math.type(t.b[5]), t.b[6], math.type(t.b[6]), t.c.d'),
    ).to.deep.equal([1, "integer", true, false, "s", 2.5, -3, "integer", 100, "float", "e"]);
  });

  it("decodes null as sjson.NULL, which is also cjson.null, unless options say otherwise", () => {
    expect(run(c, "local t = sjson.decode('[null, 1, null]') return #t, t[1] == sjson.NULL, t[3] == cjson.null, type(sjson.NULL)")).to.deep.equal([3, true, true, "userdata"]);
    expect(run(c, 'local t = sjson.decode([[{"a": null, "b": 1}]], {null = "NULL"}) return t.a, t.b')).to.deep.equal(["NULL", 1]);
    expect(run(c, 'local t = sjson.decode([[{"a": null, "b": 1}]], {}) return t.a, t.b')).to.deep.equal([null, 1]);
  });

  it("sets the metatable option on every table it makes", () => {
    expect(run(c, 'local mt = {} local t = sjson.decode([[{"a": [1]}]], {metatable = mt}) return getmetatable(t) == mt, getmetatable(t.a) == mt')).to.deep.equal([true, true]);
  });

  it("turns escapes into bytes, joins surrogate pairs (a lone half is ?) and keeps raw bytes", () => {
    const json = '["\\u00e9\\n\\"\\\\\\/", "\\ud83d\\ude00", "\\ud800x", "caf\xc3\xa9"]';
    const source = Buffer.concat([Buffer.from("local t = sjson.decode([=["), Buffer.from(json, "latin1"), Buffer.from("]=]) return t[1], t[2], t[3], t[4]")]);
    expect(c.rt.exec(source).map(plain)).to.deep.equal(['\xc3\xa9\n"\\/', "\xf0\x9f\x98\x80", "?x", "caf\xc3\xa9"]);
  });

  it("ignores what follows the top-level value", () => {
    expect(run(c, "return sjson.decode('{\"a\":1} trailing').a")).to.deep.equal([1]);
  });

  it("raises with jsonsl's error names", () => {
    const cases: Array<[string, string]> = [
      ['{"a" 1}', "CANT_INSERT"],
      ['{"a":}', "VALUE_EXPECTED"],
      ["[1,]", "TRAILING_COMMA"],
      ["[1}", "BRACKET_MISMATCH"],
      ["{1:2}", "HKEY_EXPECTED"],
      ["[tru]", "SPECIAL_INCOMPLETE"],
      ["[trux]", "SPECIAL_EXPECTED"],
      ["[x]", "SPECIAL_EXPECTED"],
      ["[01]", "INVALID_NUMBER"],
      ["[1.]", "INVALID_NUMBER"],
      ['["a\\q"]', "ESCAPE_INVALID"],
      ["[,1]", "STRAY_TOKEN"],
      ['{"a" "b"}', "MISSING_TOKEN"],
      ['"text"', "STRING_OUTSIDE_CONTAINER"],
      ["hello", "SPECIAL_EXPECTED"],
    ];
    for (const [json, name] of cases) {
      expect(errorOf(c, `sjson.decode([=[${json}]=])`), json).to.equal(`(exec):2: JSON parse error: ${name}`);
    }
  });

  it("says incomplete when the input ends early or holds no object or array", () => {
    for (const json of ["", "{", '{"a": [1, 2', "123", "true"]) {
      expect(errorOf(c, `sjson.decode([=[${json}]=])`), json).to.equal("(exec):2: Incomplete JSON object passed to sjson.decode");
    }
  });

  it("limits nesting to the depth option (20 by default)", () => {
    expect(errorOf(c, 'sjson.decode(string.rep("[", 20) .. string.rep("]", 20))')).to.equal("(exec):2: JSON parse error: LEVELS_EXCEEDED");
    expect(run(c, 'return type(sjson.decode(string.rep("[", 19) .. string.rep("]", 19)))')).to.deep.equal(["table"]);
    expect(run(c, 'return type(sjson.decode(string.rep("[", 40) .. string.rep("]", 40), {depth = 50}))')).to.deep.equal(["table"]);
  });

  it("checks its argument", () => {
    expect(errorOf(c, "sjson.decode()")).to.equal("(exec):2: bad argument #1 to 'decode' (string expected, got no value)");
  });

  it("round-trips a table through decode and encode", () => {
    expect(run(c, 'return sjson.encode(sjson.decode([[{"k":[1,2,{"x":null}],"s":"a\\u0001b"}]]))')).to.deep.equal(['{"k":[1,2,{"x":null}],"s":"a\\u0001b"}']);
  });
});

describe("NodeMCU sjson streaming", () => {
  it("encoder:read hands out the document in chunks, then nothing", async () => {
    const c = await boot();
    expect(run(c, 'local e = sjson.encoder({a = "0123456789"}) return e:read(5), e:read(5), e:read(), e:read() == nil')).to.deep.equal(['{"a":', '"0123', '456789"}', true]);
    await c.rt.close();
  });

  it("decoder:write returns the value once it is complete; result() before that raises", async () => {
    const c = await boot();
    expect(run(c, 'local d = sjson.decoder() local a = d:write([[{"a": [1, ]]) local ok, err = pcall(d.result, d) local b = d:write("2]}") return a, ok, err, b.a[2], d:result().a[1]')).to.deep.equal([null, false, "decode not complete", 2, 1]);
    expect(run(c, 'local d = sjson.decoder() pcall(d.write, d, "[1 2]") return select(2, pcall(d.write, d, "]"))')).to.deep.equal(["JSON parse error: previous call"]);
    await c.rt.close();
  });
});

describe("NodeMCU cjson", () => {
  let c: Captured;
  before(async () => {
    c = await boot();
  });
  after(async () => {
    await c.rt.close();
  });

  it("encodes any value; an empty table is an object; / is escaped; floats use %.14g", () => {
    expect(run(c, 'return cjson.encode({}), cjson.encode("a/b\\"\\\\\\127"), cjson.encode(3), cjson.encode(2.5), cjson.encode(3.0), cjson.encode(nil), cjson.encode(cjson.null), cjson.encode(true)')).to.deep.equal(["{}", '"a\\/b\\"\\\\\\u007f"', "3", "2.5", "3", "null", "null", "true"]);
    expect(run(c, 'return cjson.encode({1, 2, {k = "v"}}), cjson.encode({[1] = 1, [3] = 3}), cjson.encode({[2] = 1.5}), cjson.encode({[1.5] = 1})')).to.deep.equal(['[1,2,{"k":"v"}]', "[1,null,3]", "[null,1.5]", '{"1.5":1}']);
  });

  it("raises lua-cjson's errors when encoding", () => {
    expect(errorOf(c, "cjson.encode(print)")).to.equal("(exec):2: Cannot serialise function: type not supported");
    expect(errorOf(c, "cjson.encode({[true] = 1})")).to.equal("(exec):2: Cannot serialise boolean: table key must be a number or string");
    expect(errorOf(c, "cjson.encode({[20] = 1})")).to.equal("(exec):2: Cannot serialise table: excessively sparse array");
    expect(errorOf(c, "cjson.encode(0/0)")).to.equal("(exec):2: Cannot serialise number: must not be NaN or Infinity");
    expect(errorOf(c, "local t = {} t[1] = t cjson.encode(t)")).to.equal("(exec):2: Cannot serialise, excessive nesting (1001)");
    expect(errorOf(c, "cjson.encode(1, 2)")).to.equal("(exec):2: bad argument #1 to 'encode' (expected 1 argument)");
  });

  it("decodes any JSON value, null as cjson.null", () => {
    expect(run(c, 'local t = cjson.decode([[{"a": [1, 2.5, null], "b": "\\u00e9"}]]) return t.a[1], math.type(t.a[1]), t.a[2], t.a[3] == cjson.null, t.a[3] == sjson.NULL, t.b')).to.deep.equal([1, "integer", 2.5, true, true, "\xc3\xa9"]);
    expect(run(c, "return cjson.decode('123'), cjson.decode('\"s\"'), cjson.decode('true')")).to.deep.equal([123, "s", true]);
  });

  it("raises lua-cjson's errors with character positions when decoding", () => {
    const cases: Array<[string, string]> = [
      ["", "Expected value but found T_END at character 1"],
      ['{"a":1,}', "Expected object key string but found T_OBJ_END at character 8"],
      ["[1 2]", "Expected comma or array end but found T_NUMBER at character 4"],
      ['{"a" 1}', "Expected colon but found T_NUMBER at character 6"],
      ["{} x", "Expected the end but found invalid token at character 4"],
      ['"abc', "Expected value but found unexpected end of string at character 5"],
      ['["\\q"]', "Expected value but found invalid escape code at character 3"],
      ["[nul]", "Expected value but found invalid token at character 2"],
    ];
    for (const [json, message] of cases) {
      expect(errorOf(c, `cjson.decode([=[${json}]=])`), json).to.equal(`(exec):2: ${message}`);
    }
    expect(errorOf(c, "cjson.decode()")).to.equal("(exec):2: bad argument #1 to 'decode' (expected 1 argument)");
  });
});
