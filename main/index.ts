// The package root: the embedding API, with both firmwares installed.
import "./flavors.js";

export { Runtime, ScriptError, LuaFailure, type RuntimeOptions, type LookupFunction } from "../runtime/runtime.js";
export type { UartEndpoint } from "../runtime/uart-links.js";
export type { DeviceConfig, WifiNetwork } from "../runtime/device.js";
export type { Flavor, FlavorChoice } from "../runtime/flavors.js";
export type { JsValue } from "../engine/lua.js";
export { startBroker, type BrokerOptions, type RunningBroker } from "../runtime/broker.js";
export type { HardwareEvent, HardwareRecorder, HardwareValue } from "../device/recorder.js";
export { DeviceError, type Device, type DevicePatch, type I2cChipConfig, type OneWireChipConfig } from "../device/device.js";
export type { ChipModel } from "../device/chips/model.js";
