// What differs between the firmwares the emulator can play. Everything not listed here is
// shared: the W800 MQTT AT set was modelled on ESP-AT's, and at-modem.md names the gaps.

export type AtDialectName = "esp-at" | "w800";

export interface Dialect {
  name: AtDialectName;
  /** Sent at power-up and after AT+RST. */
  boot: string;
  /** Sent for input that arrives while a command is still running. */
  busy: string;
  /** AT+GMR lines before OK. */
  version: readonly string[];
  /** AT+MQTTSNI exists. */
  sni: boolean;
  /** AT+MQTTCONN takes a fifth parameter, the connect timeout in ms. */
  connectTimeoutParam: boolean;
  /** AT+MQTTUSERCFG?, AT+MQTTCONNCFG? and AT+MQTTALPN? exist. */
  configQueries: boolean;
  /**
   * ALREADY SUBSCRIBE, ALREADY FULL SUBSCRIBE and NO UNSUBSCRIBE reach the AT port. ESP-AT
   * writes those notes to its log UART only, so its AT port shows just the result.
   */
  subscriptionNotes: boolean;
}

const ESP_AT: Dialect = {
  name: "esp-at",
  boot: "\r\nready\r\n",
  busy: "\r\nbusy p...\r\n",
  version: [
    "AT version:3.4.0.0(s-5a6d1c4 - ESP32 - Nov  4 2024 08:12:51)",
    "SDK version:v5.0.7-dirty",
    "compile time(2e0b7f10):Nov  4 2024 08:40:13",
    "Bin version:v3.4.0.0(WROOM-32)",
  ],
  sni: true,
  connectTimeoutParam: true,
  configQueries: false,
  subscriptionNotes: false,
};

const W800: Dialect = {
  name: "w800",
  boot: "ready\r\n",
  busy: "\r\nbusy ...\r\n",
  version: [
    "AT version:1.0.2(W800 - Mar 12 2024 15:20:08)",
    "SDK version:W800_SDK_G3.04.00",
    "compile time:Mar 12 2024 15:20:08",
  ],
  sni: false,
  connectTimeoutParam: false,
  configQueries: true,
  subscriptionNotes: true,
};

export function dialectFor(name: AtDialectName): Dialect {
  return name === "w800" ? W800 : ESP_AT;
}
