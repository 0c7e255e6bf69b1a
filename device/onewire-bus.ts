// One 1-Wire bus (one GPIO pin) at the level a master drives it: reset pulses and time
// slots. The line is open-drain with a pull-up, so in every slot it reads the AND of what the
// master and every device leave on it; each device sees every slot and keeps its own state
// (the ROM search works only because of that).

/** A device on the bus. Every callback runs synchronously inside the master's slot. */
export interface OneWireChip {
  /** A reset pulse: returns true when the device answers with a presence pulse. */
  owReset(): boolean;
  /**
   * One time slot. `bit` is what the master drives (a read slot is a 1 slot); the return is
   * what the device leaves on the line: 0 to pull it low, 1 to release it.
   */
  owSlot(bit: number): number;
}

/** The CRC-8 of the 1-Wire ROM codes and the DS18B20 scratchpad (x^8+x^5+x^4+1, reflected, initial 0). */
export function crc8Maxim(bytes: ArrayLike<number>): number {
  let crc = 0;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i] as number;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x8c : crc >>> 1;
  }
  return crc;
}

/** The CRC-16 (x^16+x^15+x^2+1, reflected) that 1-Wire memory devices append, from `initial`. */
export function crc16Maxim(bytes: ArrayLike<number>, initial = 0): number {
  let crc = initial & 0xffff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i] as number;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

export class OneWireBus {
  private readonly devices: OneWireChip[] = [];

  attach(chip: OneWireChip): void {
    this.devices.push(chip);
  }

  /** Reset and presence detect: true when any device pulled the line low after the reset pulse. */
  reset(): boolean {
    let present = false;
    // Every device hears the reset, so none may be skipped once one has answered.
    for (const chip of this.devices) present = chip.owReset() || present;
    return present;
  }

  /** One slot: the master writes `bit` (1 also reads) and gets the line's level back. */
  slot(bit: number): number {
    let line = bit & 1;
    for (const chip of this.devices) line &= chip.owSlot(bit & 1) & 1;
    return line;
  }

  writeBit(bit: number): void {
    this.slot(bit);
  }

  readBit(): number {
    return this.slot(1);
  }

  /** A byte, least significant bit first as 1-Wire sends it. */
  writeByte(byte: number): void {
    for (let i = 0; i < 8; i++) this.slot((byte >> i) & 1);
  }

  readByte(): number {
    let byte = 0;
    for (let i = 0; i < 8; i++) byte |= this.slot(1) << i;
    return byte;
  }
}
