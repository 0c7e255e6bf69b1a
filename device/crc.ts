// The checksums sensors append to their readings.

/** CRC-8 with polynomial 0x31 (x^8+x^5+x^4+1), initial value 0xFF, no reflection: Sensirion's and ASAIR's. */
export function crc8(bytes: ArrayLike<number>, init = 0xff): number {
  let crc = init;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i] as number;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/** CRC-16 as Modbus computes it (reflected polynomial 0xA001, initial 0xFFFF): the AM2320's. */
export function crc16Modbus(bytes: ArrayLike<number>): number {
  let crc = 0xffff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i] as number;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}
