// The NodeMCU firmware's globals.
import type { FlavorDef } from "../../runtime/flavors.js";
import { tmr } from "./tmr.js";
import { node } from "./node.js";
import { mqtt } from "./mqtt.js";
import { gpio } from "./gpio.js";
import { i2c } from "./i2c.js";
import { rtctime } from "./rtctime.js";
import { sntp } from "./sntp.js";
import { adc } from "./adc.js";
import { pwm } from "./pwm.js";
import { uart } from "./uart.js";
import { ow } from "./ow.js";
import { dht } from "./dht.js";
import { net } from "./net.js";
import { http } from "./http.js";
import { websocket } from "./websocket.js";
import { tls } from "./tls.js";
import { mdns } from "./mdns.js";
import { crypto } from "./crypto.js";
import { encoder } from "./encoder.js";
import { pixbuf } from "./pixbuf.js";
import { ws2812 } from "./ws2812.js";
import { ws2812_effects } from "./ws2812_effects.js";
import { wifi } from "./wifi.js";
import { enduser_setup } from "./enduser_setup.js";
import { file } from "./file.js";
import { sjson } from "./sjson.js";
import { cjson } from "./cjson.js";
import { bit } from "./bit.js";
import { struct } from "./struct.js";
import { rtcmem } from "./rtcmem.js";
import { rtcfifo } from "./rtcfifo.js";
import { cron } from "./cron.js";
import { bloom } from "./bloom.js";
import { color_utils } from "./color_utils.js";
import { pipe } from "./pipe.js";
import { perf } from "./perf.js";
import { bme280 } from "./bme280.js";
import { bme280_math } from "./bme280_math.js";
import { bmp085 } from "./bmp085.js";
import { am2320 } from "./am2320.js";
import { si7021 } from "./si7021.js";
import { ads1115 } from "./ads1115.js";
import { hdc1080 } from "./hdc1080.js";
import { tsl2561 } from "./tsl2561.js";
import { hmc5883l } from "./hmc5883l.js";
import { mcp4725 } from "./mcp4725.js";
import { tcs34725 } from "./tcs34725.js";
import { installLua51Names } from "./lua51.js";
import { installLfsSearcher } from "./lfs.js";
import { startConsole } from "./console.js";
import { at } from "../at/at.js";

export const nodemcu: FlavorDef = {
  modules: [tmr, node, mqtt, gpio, i2c, rtctime, sntp, adc, pwm, uart, ow, dht, net, http, websocket, tls, mdns, crypto, encoder, pixbuf, ws2812, ws2812_effects, wifi, enduser_setup, file, sjson, cjson, bit, struct, rtcmem, rtcfifo, cron, bloom, color_utils, pipe, perf, bme280, bme280_math, bmp085, am2320, si7021, ads1115, at, hdc1080, tsl2561, hmc5883l, mcp4725, tcs34725],
  setup: (board) => {
    installLua51Names(board);
    installLfsSearcher(board);
    startConsole(board);
  },
};
