// The LuatOS firmware's globals.
import type { FlavorDef } from "../../runtime/flavors.js";
import { mqtt } from "./mqtt.js";
import { websocket } from "./websocket.js";
import { rtos } from "./rtos.js";
import { log } from "./log.js";
import { json } from "./json.js";
import { mcu } from "./mcu.js";
import { sys } from "./sys.js";
import { mobile } from "./mobile.js";
import { socket, startNetwork } from "./socket.js";
import { wlan, wlanScanOnly } from "./wlan.js";
import { pm } from "./pm.js";
import { wdt } from "./wdt.js";
import { gpio } from "./gpio.js";
import { uart } from "./uart.js";
import { adc } from "./adc.js";
import { pin } from "./pin.js";
import { rtc } from "./rtc.js";
import { spi } from "./spi.js";
import { i2c } from "./i2c.js";
import { sms } from "./sms.js";
import { libgnss } from "./libgnss.js";
import { netdrv } from "./netdrv.js";
import { fskv } from "./fskv.js";
import { crypto } from "./crypto.js";
import { zbuff } from "./zbuff.js";
import { pack } from "./pack.js";
import { http } from "./http.js";
import { iotauth } from "./iotauth.js";
import { fota } from "./fota.js";
import { hmeta } from "./hmeta.js";
import { bit, bit32 } from "./bit.js";
import { bit64 } from "./bit64.js";
import { xxtea } from "./xxtea.js";
import { fs } from "./fs.js";
import { pwm } from "./pwm.js";
import { errDump } from "./errdump.js";
import { audio } from "./audio.js";
import { i2s } from "./i2s.js";
import { sfud } from "./sfud.js";
import { iconv } from "./iconv.js";
import { miniz } from "./miniz.js";
import { fastlz } from "./fastlz.js";
import { protobuf } from "./protobuf.js";
import { statem } from "./statem.js";
import { gmssl } from "./gmssl.js";
import { ymodem } from "./ymodem.js";
import { httpsrv } from "./httpsrv.js";
import { ftp } from "./ftp.js";
import { onewire } from "./onewire.js";
import { sensor } from "./sensor.js";
import { installLua51Globals } from "./lua51.js";
import { installLuatosStdlib } from "./stdlib.js";
import { installOsTime } from "./ostime.js";
import { at } from "../at/at.js";
import { repl, startRepl } from "./repl.js";

export const luatos: FlavorDef = {
  modules: [mqtt, rtos, log, json, mcu, sys, mobile, socket, wlan, wlanScanOnly, pm, wdt, gpio, uart, adc, pin, rtc, spi, i2c, sms, libgnss, netdrv, fskv, crypto, zbuff, pack, http, websocket, iotauth, fota, hmeta, bit, bit32, bit64, xxtea, fs, pwm, errDump, audio, i2s, sfud, iconv, repl, miniz, fastlz, protobuf, statem, gmssl, ymodem, httpsrv, ftp, onewire, sensor, at],
  setup: (board) => {
    installLuatosStdlib(board);
    installOsTime(board);
    installLua51Globals(board);
    startNetwork(board);
    startRepl(board);
  },
};
