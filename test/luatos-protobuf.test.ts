// LuatOS protobuf through the real Runtime. The descriptor sets below were written by protoc
// 3.21 (`protoc -o`) from person.proto (proto2: name 1, id 2, email 3) and rig.proto (proto3,
// package rig: every scalar kind, an enum, a map, a nested message, a oneof, packed and
// string repeated fields); READING is `protoc --encode=rig.Reading` of the same values.
import { expect } from "chai";
import { startedIn, type Captured } from "./support/capture.js";
import { errorOnLine1, run } from "./support/lua.js";

const PERSON_PB = "0a520a0c706572736f6e2e70726f746f22420a06506572736f6e12120a046e616d6518012001280952046e616d65120e0a0269641802200128055202696412140a05656d61696c1803200128095205656d61696c";
const RIG_PB =
  "0ab2040a097269672e70726f746f120372696722f1030a0752656164696e6712160a0673656e736f72180120012809520673656e736f7212140a0576616c7565180220012801520576616c756512140a0564656c7461180320012811520564656c746112180a0773616d706c6573180420032805520773616d706c6573121d0a046d6f646518052001280e32092e7269672e4d6f646552046d6f6465122a0a047461677318062003280b32162e7269672e52656164696e672e54616773456e74727952047461677312280a05706c61636518072001280b32122e7269672e52656164696e672e506c6163655205706c616365120e0a026f6b18082001280852026f6b12100a03626967180920012803520362696712100a03663332180a20012807520366333212140a05726174696f180b200128025205726174696f12140a046e6f7465180c20012809480052046e6f746512140a04636f6465180d2001280548005204636f646512160a066c6162656c73180e2003280952066c6162656c7312100a03726177180f2001280c52037261771a370a0954616773456e74727912100a036b657918012001280952036b657912140a0576616c7565180220012805520576616c75653a0238011a310a05506c61636512120a04726f6f6d1801200128095204726f6f6d12140a05666c6f6f7218022001280d5205666c6f6f7242070a0565787472612a240a044d6f646512080a0449444c45100012070a0352554e100112090a054641554c541002620670726f746f33";
const READING = "0a0274311100000000008035401805220d01feffffffffffffffff01ac02280232050a016110013a070a036c61621003400148fbffffffffffffffff0155070000005d0000003f68007201787201797a020001";
const READING_TABLE = `{sensor = "t1", value = 21.5, delta = -3, samples = {1, -2, 300}, mode = "FAULT", tags = {a = 1},
  place = {room = "lab", floor = 3}, ok = true, big = -5, f32 = 7, ratio = 0.5, code = 0, labels = {"x", "y"}, raw = "\\0\\1"}`;

describe("LuatOS protobuf", () => {
  let c: Captured;
  beforeEach(async () => {
    ({ c } = await startedIn({ "person.pb": Buffer.from(PERSON_PB, "hex"), "rig.pb": Buffer.from(RIG_PB, "hex") }, { flavor: "luatos" }));
  });
  afterEach(async () => {
    await c.rt.close();
  });

  it("loads a protoc descriptor set and answers true and the length read plus one", () => {
    expect(run(c, "return protobuf.load(io.readFile('/luadb/person.pb'))")).to.deep.equal([true, 85]);
    expect(run(c, "return protobuf.load(io.readFile('/luadb/rig.pb'))")).to.deep.equal([true, 566]);
    expect(run(c, "return protobuf.load('garbage!')")[0]).to.equal(false);
  });

  it("encodes proto2 fields that are present, and decodes them back", () => {
    run(c, "protobuf.load(io.readFile('/luadb/person.pb'))");
    expect(run(c, "return protobuf.encode('Person', {name = 'xu', id = 123, email = 'test@example.com'}):toHex()")).to.deep.equal(["0A027875107B1A1074657374406578616D706C652E636F6D", 48]);
    expect(run(c, "local d = protobuf.decode('Person', protobuf.encode('Person', {name = 'xu', id = 123})) return d.name, d.id, d.email")).to.deep.equal(["xu", 123, null]);
    // An empty string is still written in proto2; unknown keys are ignored; numeric strings are integers.
    expect(run(c, "return protobuf.encode('Person', {name = '', emails = {'a'}, id = '12'}):toHex()")).to.deep.equal(["0A00100C", 8]);
  });

  it("encodes proto3 byte for byte as protoc does", () => {
    run(c, "protobuf.load(io.readFile('/luadb/rig.pb'))");
    expect(run(c, `return protobuf.encode('rig.Reading', ${READING_TABLE}):toHex():lower()`)).to.deep.equal([READING]);
  });

  it("decodes protoc's bytes: enums by name, maps, nested messages, oneof name, packed arrays", () => {
    run(c, `protobuf.load(io.readFile('/luadb/rig.pb')) r = protobuf.decode('.rig.Reading', ('${READING}'):fromHex())`);
    expect(run(c, "return r.sensor, r.value, r.delta, table.concat(r.samples, ','), r.mode, r.tags.a, r.place.room, r.place.floor")).to.deep.equal(["t1", 21.5, -3, "1,-2,300", "FAULT", 1, "lab", 3]);
    expect(run(c, "return r.ok, r.big, r.f32, r.ratio, r.extra, r.code, r.note, table.concat(r.labels, ','), r.raw")).to.deep.equal([true, -5, 7, 0.5, "code", 0, null, "x,y", "\x00\x01"]);
  });

  it("leaves proto3 zeros out when encoding (not enums) and fills them in when decoding", () => {
    run(c, "protobuf.load(io.readFile('/luadb/rig.pb'))");
    expect(run(c, "return protobuf.encode('rig.Reading', {sensor = '', value = 0, ok = false, samples = {}, mode = 'IDLE'}):toHex()")).to.deep.equal(["2800", 4]);
    expect(run(c, "local e = protobuf.decode('rig.Reading', '') return e.sensor, e.value, e.delta, #e.samples, e.mode, next(e.tags), e.place, e.ok, e.note, e.extra")).to.deep.equal(["", 0, 0, 0, "IDLE", null, null, false, null, null]);
  });

  it("raises pb.c's errors for unknown types, bad values and mismatched data", () => {
    run(c, "protobuf.load(io.readFile('/luadb/person.pb')) protobuf.load(io.readFile('/luadb/rig.pb'))");
    expect(errorOnLine1(c, "protobuf.encode('person', {})")).to.match(/bad argument #1 to '.*' \(type 'person' does not exists\)$/);
    expect(errorOnLine1(c, "protobuf.encode('Person', {id = true})")).to.match(/bad argument #2 to '.*' \(number expected for field 'id', got boolean\)$/);
    expect(errorOnLine1(c, "protobuf.encode('Person', {id = 1.5})")).to.equal("(exec):1: integer format error: '1.5'");
    expect(errorOnLine1(c, "protobuf.encode('rig.Reading', {mode = 'NOPE'})")).to.match(/\(can not encode unknown enum 'NOPE' at field 'mode'\)$/);
    expect(errorOnLine1(c, "protobuf.encode('rig.Reading', {place = 5})")).to.match(/\(table expected at field 'place', got number\)$/);
    expect(errorOnLine1(c, "protobuf.decode('rig.Reading', '\\16\\1')")).to.equal("(exec):1: type mismatch for field 'value' at offset 2, 64bit expected for type double, got varint");
  });

  it("clear forgets every loaded type", () => {
    run(c, "protobuf.load(io.readFile('/luadb/person.pb')) protobuf.clear()");
    expect(errorOnLine1(c, "protobuf.decode('Person', '')")).to.match(/\(type 'Person' does not exists\)$/);
    expect(run(c, "return protobuf.load(io.readFile('/luadb/person.pb'))")).to.deep.equal([true, 85]);
  });
});
