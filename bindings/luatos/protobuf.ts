// LuatOS `protobuf` (lua-protobuf's pb.c as the firmware builds it): `load` takes the
// FileDescriptorSet that `protoc -o` writes, `encode`/`decode` convert between Lua tables
// and the protobuf wire format with pb.c's default options: fields by name, enums as names,
// proto3 zero values left out when encoding (enums and messages excepted, as pb.c does)
// and filled in when decoding (scalars, and empty tables for repeated fields and maps),
// proto2 fields only when present. 64-bit integers outside fengari's 32-bit integers decode
// as floats.
import { lua, pushBytes, type LuaState } from "../../engine/lua.js";
import { argError, checkBytes, checkText, raise, typeNameAt } from "../../engine/args.js";
import { boardOf, perBoard } from "../../runtime/board.js";
import { defineModule } from "../common/module.js";

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
const GROUP_START = 3;
const GROUP_END = 4;
const FIXED32 = 5;
const WIRE_NAMES = ["varint", "64bit", "bytes", "gstart", "gend", "32bit"];
const TYPE_NAMES = ["", "double", "float", "int64", "uint64", "int32", "fixed64", "fixed32", "bool", "string", "group", "message", "bytes", "uint32", "enum", "sfixed32", "sfixed64", "sint32", "sint64"];
const T = { double: 1, float: 2, int64: 3, uint64: 4, int32: 5, fixed64: 6, fixed32: 7, bool: 8, string: 9, group: 10, message: 11, bytes: 12, uint32: 13, enum: 14, sfixed32: 15, sfixed64: 16, sint32: 17, sint64: 18 } as const;
const LABEL_REPEATED = 3;
const U64 = (1n << 64n) - 1n;

function wireTypeOf(type: number): number {
  switch (type) {
    case T.double: case T.fixed64: case T.sfixed64: return FIXED64;
    case T.float: case T.fixed32: case T.sfixed32: return FIXED32;
    case T.string: case T.bytes: case T.message: return BYTES;
    case T.group: return GROUP_START;
    default: return VARINT;
  }
}

interface Field {
  name: string;
  number: number;
  type: number;
  typeName: string;
  repeated: boolean;
  packed: boolean;
  /** A member of a oneof (proto3 `optional` included): never skipped as a zero, never defaulted. */
  oneof: string | undefined;
}

interface MessageType {
  fields: Field[];
  byNumber: Map<number, Field>;
  proto3: boolean;
  isMap: boolean;
}

interface EnumType {
  byName: Map<string, number>;
  byNumber: Map<number, string>;
}

interface Registry {
  messages: Map<string, MessageType>;
  enums: Map<string, EnumType>;
}

const registryOf = perBoard((): Registry => ({ messages: new Map(), enums: new Map() }));

// ---- the wire format ----

class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  varint(): bigint | undefined {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.bytes.length) return undefined;
      const byte = this.bytes[this.pos++] as number;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return value & U64;
    }
    return undefined;
  }

  fixed(size: 4 | 8): bigint | undefined {
    if (this.pos + size > this.bytes.length) return undefined;
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, size);
    this.pos += size;
    return size === 4 ? BigInt(view.getUint32(0, true)) : view.getBigUint64(0, true);
  }

  slice(): Uint8Array | undefined {
    const length = this.varint();
    if (length === undefined || this.pos + Number(length) > this.bytes.length) return undefined;
    const start = this.pos;
    this.pos += Number(length);
    return this.bytes.subarray(start, this.pos);
  }

  /** Skips one value of wire type `wire`; false when the data ends inside it. */
  skip(wire: number, number: number): boolean {
    switch (wire) {
      case VARINT: return this.varint() !== undefined;
      case FIXED64: return this.fixed(8) !== undefined;
      case FIXED32: return this.fixed(4) !== undefined;
      case BYTES: return this.slice() !== undefined;
      case GROUP_START:
        for (;;) {
          const tag = this.varint();
          if (tag === undefined) return false;
          if (Number(tag & 7n) === GROUP_END && Number(tag >> 3n) === number) return true;
          if (!this.skip(Number(tag & 7n), Number(tag >> 3n))) return false;
        }
      default: return false;
    }
  }
}

class Writer {
  private readonly parts: number[] = [];

  get length(): number {
    return this.parts.length;
  }

  varint(value: bigint): void {
    let v = value & U64;
    while (v >= 0x80n) {
      this.parts.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.parts.push(Number(v));
  }

  fixed(value: bigint, size: 4 | 8): void {
    for (let i = 0n; i < BigInt(size); i++) this.parts.push(Number((value >> (8n * i)) & 0xffn));
  }

  bytes(data: Uint8Array): void {
    this.varint(BigInt(data.length));
    for (const byte of data) this.parts.push(byte);
  }

  /** Makes everything written since `mark` a length-delimited value. */
  wrap(mark: number): void {
    const body = this.parts.splice(mark);
    this.varint(BigInt(body.length));
    this.parts.push(...body);
  }

  truncate(mark: number): void {
    this.parts.length = mark;
  }

  result(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

// ---- descriptors ----

class DescriptorError extends Error {}

/** Fields of one descriptor message: number -> raw values (varints as bigint, slices as bytes). */
function fieldsOf(bytes: Uint8Array): Map<number, Array<bigint | Uint8Array>> {
  const reader = new Reader(bytes);
  const fields = new Map<number, Array<bigint | Uint8Array>>();
  while (!reader.done) {
    const tag = reader.varint();
    if (tag === undefined) throw new DescriptorError(String(reader.pos));
    const wire = Number(tag & 7n);
    const number = Number(tag >> 3n);
    let value: bigint | Uint8Array | undefined;
    if (wire === VARINT) value = reader.varint();
    else if (wire === BYTES) value = reader.slice();
    else if (!reader.skip(wire, number)) throw new DescriptorError(String(reader.pos));
    else continue;
    if (value === undefined) throw new DescriptorError(String(reader.pos));
    const list = fields.get(number) ?? [];
    list.push(value);
    fields.set(number, list);
  }
  return fields;
}

const text = (value: bigint | Uint8Array | undefined): string => (value instanceof Uint8Array ? Buffer.from(value).toString("utf8") : "");
const int = (value: bigint | Uint8Array | undefined): number => (typeof value === "bigint" ? Number(BigInt.asIntN(32, value)) : 0);
const slices = (fields: Map<number, Array<bigint | Uint8Array>>, n: number): Uint8Array[] => (fields.get(n) ?? []).filter((v): v is Uint8Array => v instanceof Uint8Array);

function addEnum(registry: Registry, scope: string, bytes: Uint8Array): void {
  const fields = fieldsOf(bytes);
  const type: EnumType = { byName: new Map(), byNumber: new Map() };
  for (const valueBytes of slices(fields, 2)) {
    const value = fieldsOf(valueBytes);
    const name = text(value.get(1)?.[0]);
    const number = int(value.get(2)?.[0]);
    type.byName.set(name, number);
    if (!type.byNumber.has(number)) type.byNumber.set(number, name);
  }
  registry.enums.set(`${scope}.${text(fields.get(1)?.[0])}`, type);
}

function addMessage(registry: Registry, scope: string, bytes: Uint8Array, proto3: boolean): void {
  const fields = fieldsOf(bytes);
  const fullName = `${scope}.${text(fields.get(1)?.[0])}`;
  const oneofNames = slices(fields, 8).map((o) => text(fieldsOf(o).get(1)?.[0]));
  const options = slices(fields, 7)[0];
  const isMap = options !== undefined && fieldsOf(options).get(7)?.[0] === 1n;
  const list: Field[] = slices(fields, 2).map((fieldBytes) => {
    const f = fieldsOf(fieldBytes);
    const type = int(f.get(5)?.[0]);
    const repeated = int(f.get(4)?.[0]) === LABEL_REPEATED;
    const fieldOptions = slices(f, 8)[0];
    const packedOption = fieldOptions !== undefined ? fieldsOf(fieldOptions).get(2)?.[0] : undefined;
    const scalar = wireTypeOf(type) !== BYTES && type !== T.group;
    const packed = repeated && scalar && (packedOption !== undefined ? packedOption === 1n : proto3);
    const oneofIndex = f.get(9)?.[0];
    return {
      name: text(f.get(1)?.[0]),
      number: int(f.get(3)?.[0]),
      type,
      typeName: text(f.get(6)?.[0]),
      repeated,
      packed,
      oneof: oneofIndex === undefined ? undefined : oneofNames[int(oneofIndex)],
    };
  });
  list.sort((a, b) => a.number - b.number);
  registry.messages.set(fullName, { fields: list, byNumber: new Map(list.map((f) => [f.number, f])), proto3, isMap });
  for (const nested of slices(fields, 3)) addMessage(registry, fullName, nested, proto3);
  for (const nested of slices(fields, 4)) addEnum(registry, fullName, nested);
}

function loadDescriptorSet(registry: Registry, bytes: Uint8Array): void {
  for (const file of slices(fieldsOf(bytes), 1)) {
    const fields = fieldsOf(file);
    const pkg = text(fields.get(2)?.[0]);
    const scope = pkg === "" ? "" : `.${pkg}`;
    const proto3 = text(fields.get(12)?.[0]) === "proto3";
    for (const message of slices(fields, 4)) addMessage(registry, scope, message, proto3);
    for (const e of slices(fields, 5)) addEnum(registry, scope, e);
  }
}

function messageType(L: LuaState, registry: Registry): MessageType {
  const name = checkText(L, 1);
  const type = registry.messages.get(name.startsWith(".") ? name : `.${name}`);
  if (!type) argError(L, 1, `type '${name}' does not exists`);
  return type;
}

// ---- encoding ----

/** pb.c's integer conversion: numbers with an integer value, numeric strings ("#", "0x" allowed). */
function integerAt(L: LuaState, idx: number): bigint | undefined {
  const value = lua.lua_tointegerx(L, idx);
  if (value !== false) return BigInt(value) & U64;
  const t = lua.lua_type(L, idx);
  if (t !== lua.LUA_TSTRING && t !== lua.LUA_TNUMBER) return undefined;
  const original = Buffer.from(lua.lua_tolstring(L, idx) as Uint8Array).toString("latin1");
  const match = /^([#+-]*)(?:0[xX]([0-9a-fA-F]*)|([0-9]*))$/.exec(original);
  if (!match) raise(L, `integer format error: '${original}'`);
  const magnitude = match[2] !== undefined ? BigInt(`0x0${match[2]}`) : BigInt(`0${match[3]}`);
  const negative = ((match[1] ?? "").split("-").length - 1) % 2 === 1;
  return (negative ? -magnitude : magnitude) & U64;
}

const zigzag = (value: bigint, bits: 32 | 64): bigint => {
  const signed = BigInt.asIntN(bits, value);
  return BigInt.asUintN(bits, (signed << 1n) ^ (signed >> BigInt(bits - 1)));
};

/** Writes a scalar; the answer says whether it was the type's zero, or the Lua type expected. */
function encodeScalar(L: LuaState, w: Writer, type: number, idx: number): boolean | "number" | "string" {
  if (type === T.bool) {
    const value = lua.lua_toboolean(L, idx);
    w.varint(value ? 1n : 0n);
    return !value;
  }
  if (type === T.double || type === T.float) {
    const value = lua.lua_tonumberx(L, idx);
    if (value === false) return "number";
    const buffer = Buffer.alloc(type === T.double ? 8 : 4);
    if (type === T.double) buffer.writeDoubleLE(value);
    else buffer.writeFloatLE(value);
    w.fixed(type === T.double ? buffer.readBigUInt64LE() : BigInt(buffer.readUInt32LE()), type === T.double ? 8 : 4);
    return value === 0;
  }
  if (type === T.string || type === T.bytes) {
    const t = lua.lua_type(L, idx);
    if (t !== lua.LUA_TSTRING && t !== lua.LUA_TNUMBER) return "string";
    const bytes = lua.lua_tolstring(L, idx) as Uint8Array;
    w.bytes(bytes);
    return bytes.length === 0;
  }
  const value = integerAt(L, idx);
  if (value === undefined) return "number";
  const low32 = value & 0xffffffffn;
  switch (type) {
    case T.int32: w.varint(BigInt.asUintN(64, BigInt.asIntN(32, low32))); break;
    case T.uint32: w.varint(low32); break;
    case T.sint32: w.varint(zigzag(low32, 32)); break;
    case T.fixed32: case T.sfixed32: w.fixed(low32, 4); break;
    case T.fixed64: case T.sfixed64: w.fixed(value, 8); break;
    case T.sint64: w.varint(zigzag(value, 64)); break;
    default: w.varint(value);
  }
  return value === 0n;
}

interface Env {
  L: LuaState;
  registry: Registry;
}

function checkFieldTable(L: LuaState, field: Field, idx: number): void {
  if (!lua.lua_istable(L, idx)) argError(L, 2, `table expected at field '${field.name}', got ${typeNameAt(L, idx)}`);
}

/** Writes a field's value (no tag); true when it is a scalar zero that proto3 may leave out. */
function encodeValue(env: Env, w: Writer, field: Field, idx: number): boolean {
  const { L, registry } = env;
  if (field.type === T.enum) {
    if (lua.lua_type(L, idx) === lua.LUA_TNUMBER) {
      w.varint(BigInt.asUintN(64, BigInt(Math.trunc(lua.lua_tonumber(L, idx)))));
      return false;
    }
    const t = lua.lua_type(L, idx);
    const name = t === lua.LUA_TSTRING ? Buffer.from(lua.lua_tolstring(L, idx) as Uint8Array).toString("utf8") : undefined;
    const number = name === undefined ? undefined : registry.enums.get(field.typeName)?.byName.get(name);
    if (number !== undefined) {
      w.varint(BigInt.asUintN(64, BigInt(number)));
      return false;
    }
    if (name === undefined) argError(L, 2, `number/string expected at field '${field.name}', got ${typeNameAt(L, idx)}`);
    return argError(L, 2, `can not encode unknown enum '${name}' at field '${field.name}'`);
  }
  if (field.type === T.message) {
    checkFieldTable(L, field, idx);
    const mark = w.length;
    const nested = registry.messages.get(field.typeName);
    if (nested) encodeMessage(env, w, nested, idx);
    w.wrap(mark);
    return false;
  }
  const zero = encodeScalar(L, w, field.type, idx);
  if (typeof zero === "string") argError(L, 2, `${zero} expected for field '${field.name}', got ${typeNameAt(L, idx)}`);
  return zero;
}

function encodeTagged(env: Env, w: Writer, field: Field, idx: number, dropZero: boolean): void {
  const mark = w.length;
  w.varint(BigInt((field.number << 3) | wireTypeOf(field.type)));
  if (encodeValue(env, w, field, idx) && dropZero) w.truncate(mark);
}

function encodeMessage(env: Env, w: Writer, type: MessageType, idx: number): void {
  const { L, registry } = env;
  const table = lua.lua_absindex(L, idx);
  for (const field of type.fields) {
    if (lua.lua_getfield(L, table, field.name) === lua.LUA_TNIL) {
      lua.lua_pop(L, 1);
      continue;
    }
    const entry = field.type === T.message ? registry.messages.get(field.typeName) : undefined;
    if (entry?.isMap) {
      checkFieldTable(L, field, -1);
      const [keyField, valueField] = [entry.byNumber.get(1), entry.byNumber.get(2)];
      if (keyField && valueField) {
        lua.lua_pushnil(L);
        while (lua.lua_next(L, -2)) {
          w.varint(BigInt((field.number << 3) | BYTES));
          const mark = w.length;
          encodeTagged(env, w, keyField, -2, true);
          encodeTagged(env, w, valueField, -1, true);
          w.wrap(mark);
          lua.lua_pop(L, 1);
        }
      }
    } else if (field.repeated) {
      checkFieldTable(L, field, -1);
      if (field.packed) {
        const start = w.length;
        w.varint(BigInt((field.number << 3) | BYTES));
        const mark = w.length;
        let i = 1;
        for (; lua.lua_rawgeti(L, -1, i) !== lua.LUA_TNIL; i++) {
          encodeValue(env, w, field, -1);
          lua.lua_pop(L, 1);
        }
        lua.lua_pop(L, 1);
        if (i === 1) w.truncate(start);
        else w.wrap(mark);
      } else {
        for (let i = 1; lua.lua_rawgeti(L, -1, i) !== lua.LUA_TNIL; i++) {
          encodeTagged(env, w, field, -1, false);
          lua.lua_pop(L, 1);
        }
        lua.lua_pop(L, 1);
      }
    } else {
      encodeTagged(env, w, field, -1, type.proto3 && field.oneof === undefined);
    }
    lua.lua_pop(L, 1);
  }
}

// ---- decoding ----

function pushInteger(L: LuaState, value: bigint): void {
  if (value >= -0x80000000n && value <= 0x7fffffffn) lua.lua_pushinteger(L, Number(value));
  else lua.lua_pushnumber(L, Number(value));
}

/** proto3's zero for a scalar or enum field; false when pb.c sets none. */
function pushDefault(env: Env, field: Field): boolean {
  const { L } = env;
  switch (field.type) {
    case T.message: case T.group: return false;
    case T.enum: {
      const name = env.registry.enums.get(field.typeName)?.byNumber.get(0);
      if (name === undefined) lua.lua_pushinteger(L, 0);
      else pushBytes(L, Buffer.from(name));
      return true;
    }
    case T.string: case T.bytes: lua.lua_pushstring(L, ""); return true;
    case T.bool: lua.lua_pushboolean(L, false); return true;
    case T.double: case T.float: lua.lua_pushnumber(L, 0); return true;
    default: lua.lua_pushinteger(L, 0); return true;
  }
}

function newMessageTable(env: Env, type: MessageType): void {
  const { L } = env;
  lua.lua_createtable(L, 0, type.fields.length);
  if (!type.proto3) return;
  for (const field of type.fields) {
    if (field.repeated) lua.lua_createtable(L, 0, 0);
    else if (field.oneof !== undefined || !pushDefault(env, field)) continue;
    lua.lua_setfield(L, -2, field.name);
  }
}

function readValue(env: Env, reader: Reader, field: Field): void {
  const { L } = env;
  const fail = (kind: string): never => raise(L, `invalid ${kind} value at offset ${reader.pos + 1}`);
  switch (wireTypeOf(field.type)) {
    case BYTES: {
      const data = reader.slice() ?? fail("bytes");
      if (field.type !== T.message) {
        pushBytes(L, data);
        return;
      }
      const nested = env.registry.messages.get(field.typeName);
      if (!nested) {
        lua.lua_pushnil(L);
        return;
      }
      newMessageTable(env, nested);
      decodeMessage(env, nested, new Reader(data));
      return;
    }
    case FIXED32: {
      const raw = reader.fixed(4) ?? fail("fixed32");
      if (field.type === T.float) lua.lua_pushnumber(L, Buffer.from(Uint32Array.of(Number(raw)).buffer).readFloatLE());
      else pushInteger(L, field.type === T.sfixed32 ? BigInt.asIntN(32, raw) : raw);
      return;
    }
    case FIXED64: {
      const raw = reader.fixed(8) ?? fail("fixed64");
      if (field.type === T.double) lua.lua_pushnumber(L, Buffer.from(BigUint64Array.of(raw).buffer).readDoubleLE());
      else pushInteger(L, field.type === T.sfixed64 ? BigInt.asIntN(64, raw) : raw);
      return;
    }
    default: {
      const raw = reader.varint() ?? fail("varint");
      switch (field.type) {
        case T.bool: lua.lua_pushboolean(L, raw !== 0n); return;
        case T.int32: pushInteger(L, BigInt.asIntN(32, raw)); return;
        case T.uint32: pushInteger(L, BigInt.asUintN(32, raw)); return;
        case T.sint32: case T.sint64: {
          const bits = field.type === T.sint32 ? 32 : 64;
          const v = BigInt.asUintN(bits, raw);
          pushInteger(L, BigInt.asIntN(bits, (v >> 1n) ^ -(v & 1n)));
          return;
        }
        case T.int64: pushInteger(L, BigInt.asIntN(64, raw)); return;
        case T.enum: {
          const name = env.registry.enums.get(field.typeName)?.byNumber.get(Number(BigInt.asIntN(32, raw)));
          if (name !== undefined) pushBytes(L, Buffer.from(name));
          else pushInteger(L, BigInt.asIntN(64, raw));
          return;
        }
        default: pushInteger(L, raw);
      }
    }
  }
}

function checkWire(env: Env, reader: Reader, field: Field, wire: number): void {
  const expected = wireTypeOf(field.type);
  if (expected === wire) return;
  raise(env.L, `type mismatch for ${field.packed ? "packed " : ""}${field.repeated ? "repeated " : ""}field '${field.name}' at offset ${reader.pos + 1}, ${WIRE_NAMES[expected]} expected for type ${TYPE_NAMES[field.type]}, got ${WIRE_NAMES[wire] ?? "unknown"}`);
}

/** Fetches (or makes) the table at t[field.name], t on top of the stack. */
function fieldTable(L: LuaState, field: Field): void {
  if (lua.lua_getfield(L, -1, field.name) === lua.LUA_TNIL) {
    lua.lua_pop(L, 1);
    lua.lua_createtable(L, 0, 0);
    lua.lua_pushvalue(L, -1);
    lua.lua_setfield(L, -3, field.name);
  }
}

/** Decodes into the table on top of the stack. */
function decodeMessage(env: Env, type: MessageType, reader: Reader): void {
  const { L, registry } = env;
  while (!reader.done) {
    const tag = reader.varint();
    if (tag === undefined) return;
    const wire = Number(tag & 7n);
    const number = Number(tag >> 3n);
    const field = type.byNumber.get(number);
    if (!field) {
      if (!reader.skip(wire, number)) return;
      continue;
    }
    const entry = field.type === T.message ? registry.messages.get(field.typeName) : undefined;
    if (entry?.isMap) {
      fieldTable(L, field);
      checkWire(env, reader, field, wire);
      const data = reader.slice() ?? raise(L, `invalid bytes value at offset ${reader.pos + 1}`);
      decodeMapEntry(env, entry, new Reader(data));
      lua.lua_pop(L, 1);
    } else if (field.repeated) {
      fieldTable(L, field);
      if (wire === BYTES && wireTypeOf(field.type) !== BYTES) {
        const data = reader.slice() ?? raise(L, `invalid bytes value at offset ${reader.pos + 1}`);
        const packed = new Reader(data);
        let n = lua.lua_rawlen(L, -1);
        while (!packed.done) {
          readValue(env, packed, field);
          lua.lua_rawseti(L, -2, ++n);
        }
      } else {
        checkWire(env, reader, field, wire);
        readValue(env, reader, field);
        lua.lua_rawseti(L, -2, lua.lua_rawlen(L, -2) + 1);
      }
      lua.lua_pop(L, 1);
    } else {
      if (field.oneof !== undefined) {
        pushBytes(L, Buffer.from(field.name));
        lua.lua_setfield(L, -2, field.oneof);
      }
      checkWire(env, reader, field, wire);
      readValue(env, reader, field);
      lua.lua_setfield(L, -2, field.name);
    }
  }
}

function decodeMapEntry(env: Env, entry: MessageType, reader: Reader): void {
  const { L } = env;
  const keyField = entry.byNumber.get(1);
  const valueField = entry.byNumber.get(2);
  if (!keyField || !valueField) return;
  const top = lua.lua_gettop(L);
  lua.lua_pushnil(L);
  lua.lua_pushnil(L);
  let seen = 0;
  while (!reader.done) {
    const tag = reader.varint();
    if (tag === undefined) break;
    const n = Number(tag >> 3n);
    if (n !== 1 && n !== 2) break;
    const field = n === 1 ? keyField : valueField;
    checkWire(env, reader, field, Number(tag & 7n));
    readValue(env, reader, field);
    lua.lua_replace(L, top + n);
    seen |= n;
  }
  for (const n of [1, 2]) {
    if (!(seen & n) && pushDefault(env, n === 1 ? keyField : valueField)) {
      lua.lua_replace(L, top + n);
      seen |= n;
    }
  }
  if (seen === 3) lua.lua_rawset(L, top);
  else lua.lua_settop(L, top);
}

// ---- Lua functions ----

const load = (L: LuaState): number => {
  const bytes = checkBytes(L, 1);
  const staged: Registry = { messages: new Map(), enums: new Map() };
  let ok = true;
  let position = bytes.length;
  try {
    loadDescriptorSet(staged, bytes);
  } catch (error) {
    if (!(error instanceof DescriptorError)) throw error;
    ok = false;
    position = Number(error.message);
  }
  if (ok) {
    const registry = registryOf(boardOf(L));
    for (const [name, type] of staged.messages) registry.messages.set(name, type);
    for (const [name, type] of staged.enums) registry.enums.set(name, type);
  }
  lua.lua_pushboolean(L, ok);
  lua.lua_pushinteger(L, position + 1);
  return 2;
};

const clear = (L: LuaState): number => {
  const registry = registryOf(boardOf(L));
  if (lua.lua_isnoneornil(L, 1)) {
    registry.messages.clear();
    registry.enums.clear();
  } else {
    const name = checkText(L, 1);
    registry.messages.delete(name.startsWith(".") ? name : `.${name}`);
  }
  return 0;
};

const encode = (L: LuaState): number => {
  const registry = registryOf(boardOf(L));
  const type = messageType(L, registry);
  if (!lua.lua_istable(L, 2)) argError(L, 2, `table expected, got ${typeNameAt(L, 2)}`);
  const w = new Writer();
  encodeMessage({ L, registry }, w, type, 2);
  pushBytes(L, w.result());
  return 1;
};

const decode = (L: LuaState): number => {
  const registry = registryOf(boardOf(L));
  const type = messageType(L, registry);
  const data = lua.lua_isnoneornil(L, 2) ? new Uint8Array() : checkBytes(L, 2);
  lua.lua_settop(L, 2);
  const env = { L, registry };
  newMessageTable(env, type);
  decodeMessage(env, type, new Reader(data));
  return 1;
};

export const protobuf = defineModule("protobuf", {
  functions: { load, clear, encode, decode },
});
