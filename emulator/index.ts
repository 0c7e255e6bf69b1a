// The AT modem emulator: `moonrig at-modem` and `--at emulator` both build on this.
export { AtModemEmulator, DEFAULT_TIMING, MAX_COMMAND_LINE, type AtModemOptions, type AtModemTiming } from "./emulator.js";
export { dialectFor, type AtDialectName, type Dialect } from "./dialect.js";
export { AtError, MqttError, formatErrCode, mqttErrorCode } from "./errors.js";
export { SUBRECV_FRAGMENT } from "./mqtt.js";
