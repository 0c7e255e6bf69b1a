// The firmware's numbers for the NodeMCU `wifi` module, and the simulated network's defaults.

export const NULLMODE = 0;
export const STATION = 1;
export const SOFTAP = 2;
export const STATIONAP = 3;

export const STA_IDLE = 0;
export const STA_CONNECTING = 1;
export const STA_WRONGPWD = 2;
export const STA_APNOTFOUND = 3;
export const STA_FAIL = 4;
export const STA_GOTIP = 5;

export const EVENTS = {
  STA_CONNECTED: 0,
  STA_DISCONNECTED: 1,
  STA_AUTHMODE_CHANGE: 2,
  STA_GOT_IP: 3,
  STA_DHCP_TIMEOUT: 4,
  AP_STACONNECTED: 5,
  AP_STADISCONNECTED: 6,
  AP_PROBEREQRECVED: 7,
  WIFI_MODE_CHANGED: 8,
  EVENT_MAX: 10,
} as const;

export const REASON_ASSOC_LEAVE = 8;
export const REASON_HANDSHAKE = 15;
export const REASON_NO_AP_FOUND = 201;

export const AUTH_OPEN = 0;
export const AUTH_WPA2_PSK = 3;
export const AUTH_WPA_WPA2_PSK = 4;

export const DEFAULT_CONNECT_DELAY_MS = 300;
/** The SDK tries again a few seconds after a failed attempt. */
export const RETRY_FACTOR = 10;
/** The network a board with none listed in the device file has saved. */
export const DEFAULT_SSID = "moonrig";
export const DEFAULT_IP = "192.168.1.100";
export const DEFAULT_NETMASK = "255.255.255.0";
export const DEFAULT_GATEWAY = "192.168.1.1";
export const AP_IP = "192.168.4.1";
export const DEFAULT_CHIP_ID = 0x00c0ffee;
export const NO_BSSID = "00:00:00:00:00:00";
/** getconfig's bssid when none was configured and the station is not associated. */
export const UNSET_BSSID = "ff:ff:ff:ff:ff:ff";
export const INVALID_MAC = "MAC:FF:FF:FF:FF:FF:FF";
