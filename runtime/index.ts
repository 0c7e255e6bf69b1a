// The package root: the embedding API.
export { Runtime, ScriptError, LuaFailure, type RuntimeOptions, type LookupFunction } from "./runtime.js";
export type { DeviceConfig, WifiNetwork } from "./device.js";
export type { Flavor, FlavorChoice } from "./flavors.js";
export type { JsValue } from "./lua.js";
export { startBroker, type BrokerOptions, type RunningBroker } from "./broker.js";
export type { HardwareEvent, HardwareRecorder, HardwareValue } from "../device/recorder.js";
export { DeviceError, type Device, type DevicePatch, type I2cChipConfig } from "../device/device.js";
export type { ChipModel } from "../device/chips/model.js";
