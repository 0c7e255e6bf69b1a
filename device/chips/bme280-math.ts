// The BME280's compensation, as its datasheet gives it in integer arithmetic (section 4.2.3
// and 8.2): the firmware's bme280 and bme280_math modules compute exactly this, and the
// chip model inverts it to turn a reading into raw ADC values.

export interface Bme280Trimming {
  T1: number; T2: number; T3: number;
  P1: number; P2: number; P3: number; P4: number; P5: number; P6: number; P7: number; P8: number; P9: number;
  H1: number; H2: number; H3: number; H4: number; H5: number; H6: number;
}

/** Arithmetic right shift of an integer beyond 32 bits. */
const shr = (value: number, bits: number): number => Math.floor(value / 2 ** bits);

/** t_fine, the temperature the pressure and humidity formulas take. */
export function bme280TFine(adcT: number, c: Bme280Trimming): number {
  const var1 = shr((shr(adcT, 3) - c.T1 * 2) * c.T2, 11);
  const d = shr(adcT, 4) - c.T1;
  const var2 = shr(shr(d * d, 12) * c.T3, 14);
  return var1 + var2;
}

/** Temperature in 0.01 °C. */
export function bme280Temperature(tFine: number): number {
  return shr(tFine * 5 + 128, 8);
}

/** Pressure in Pa as Q24.8 (the datasheet's 64-bit formula), 0 where it would divide by zero. */
export function bme280Pressure(adcP: number, tFine: number, c: Bme280Trimming): number {
  const big = BigInt;
  let var1 = big(tFine) - 128000n;
  let var2 = var1 * var1 * big(c.P6);
  var2 += (var1 * big(c.P5)) << 17n;
  var2 += big(c.P4) << 35n;
  var1 = ((var1 * var1 * big(c.P3)) >> 8n) + ((var1 * big(c.P2)) << 12n);
  var1 = (((1n << 47n) + var1) * big(c.P1)) >> 33n;
  if (var1 === 0n) return 0;
  let p = 1048576n - big(adcP);
  p = (((p << 31n) - var2) * 3125n) / var1;
  const v1 = (big(c.P9) * (p >> 13n) * (p >> 13n)) >> 25n;
  const v2 = (big(c.P8) * p) >> 19n;
  p = ((p + v1 + v2) >> 8n) + (big(c.P7) << 4n);
  return Number(p);
}

/** Relative humidity in %RH as Q22.10 (the datasheet's 32-bit formula). */
export function bme280Humidity(adcH: number, tFine: number, c: Bme280Trimming): number {
  let x = tFine - 76800;
  const a = shr(adcH * 16384 - c.H4 * 1048576 - c.H5 * x + 16384, 15);
  const b = shr((shr(shr(x * c.H6, 10) * (shr(x * c.H3, 11) + 32768), 10) + 2097152) * c.H2 + 8192, 14);
  x = a * b;
  x -= shr(shr(shr(x, 15) * shr(x, 15), 7) * c.H1, 4);
  x = Math.min(Math.max(x, 0), 419430400);
  return shr(x, 12);
}

/** Decodes the trimming registers: 0x88..0xA1 (26 bytes) and, for a BME280, 0xE1..0xE7 (7 bytes). */
export function bme280Trimming(low: ArrayLike<number>, high?: ArrayLike<number>): Bme280Trimming {
  const u16 = (b: ArrayLike<number>, i: number): number => (b[i] as number) | ((b[i + 1] as number) << 8);
  const s16 = (b: ArrayLike<number>, i: number): number => (u16(b, i) << 16) >> 16;
  const s8 = (value: number): number => (value << 24) >> 24;
  const h = high ?? [0, 0, 0, 0, 0, 0, 0];
  const e4 = h[3] as number;
  const e5 = h[4] as number;
  const e6 = h[5] as number;
  return {
    T1: u16(low, 0), T2: s16(low, 2), T3: s16(low, 4),
    P1: u16(low, 6), P2: s16(low, 8), P3: s16(low, 10), P4: s16(low, 12), P5: s16(low, 14),
    P6: s16(low, 16), P7: s16(low, 18), P8: s16(low, 20), P9: s16(low, 22),
    H1: (low[25] as number) ?? 0,
    H2: s16(h, 0), H3: h[2] as number,
    // H4 and H5 are 12-bit signed values sharing register 0xE5.
    H4: (s8(e4) * 16) | (e5 & 0x0f), H5: (s8(e6) * 16) | (e5 >> 4), H6: s8(h[6] as number),
  };
}
