// One I2C bus at the level a master drives it: START, an address byte, data bytes each
// acknowledged or not, STOP. Chips are small units with the callback table Wokwi's chip
// API gives them (connect, read, write, disconnect); the bus only routes the phases.

/** A chip on the bus. Every callback runs synchronously inside the master's transfer. */
export interface I2cChip {
  /** The address phase: `read` is the R/W bit. Returns true to acknowledge. */
  i2cConnect(address: number, read: boolean): boolean;
  /** A byte the master sends; returns true to acknowledge it. */
  i2cWrite(byte: number): boolean;
  /** The next byte the chip drives onto SDA for the master. */
  i2cRead(): number;
  /** STOP, or a repeated START that ends this transfer. */
  i2cDisconnect(): void;
  /** A byte sent to the general call address 0 (0x06: reset), for chips that answer it. */
  i2cGeneralCall?(byte: number): void;
}

/** What SDA reads when no chip drives it: the pull-up. */
const RELEASED = 0xff;
const GENERAL_CALL = 0;

/** Address 0 written to: every chip that answers general calls hears the bytes. */
class GeneralCall implements I2cChip {
  constructor(private readonly listeners: I2cChip[]) {}

  i2cConnect(): boolean {
    return this.listeners.length > 0;
  }

  i2cWrite(byte: number): boolean {
    for (const chip of this.listeners) chip.i2cGeneralCall?.(byte);
    return true;
  }

  i2cRead(): number {
    return RELEASED;
  }

  i2cDisconnect(): void {}
}

export class I2cBus {
  private readonly chips = new Map<number, I2cChip>();
  private current: I2cChip | undefined;
  /** The R/W bit of the current transfer: who drives SDA for data bytes. */
  private reading = false;

  attach(address: number, chip: I2cChip): void {
    if (this.chips.get(address) === this.current) this.end();
    this.chips.set(address, chip);
  }

  detach(address: number): void {
    if (this.chips.get(address) === this.current) this.end();
    this.chips.delete(address);
  }

  chipAt(address: number): I2cChip | undefined {
    return this.chips.get(address);
  }

  /** START (or a repeated START): the chip addressed before sees its transfer end. */
  start(): void {
    this.end();
  }

  /** The address byte after a START; true when a chip acknowledged. */
  address(address: number, read: boolean): boolean {
    this.end();
    const chip = address === GENERAL_CALL && !read
      ? new GeneralCall([...this.chips.values()].filter((c) => c.i2cGeneralCall !== undefined))
      : this.chips.get(address & 0x7f);
    if (chip?.i2cConnect(address & 0x7f, read)) this.current = chip;
    this.reading = read;
    return this.current !== undefined;
  }

  /** A data byte from the master; nobody addressed (or a chip addressed for reading) does not acknowledge. */
  write(byte: number): boolean {
    if (this.reading) return false;
    return this.current?.i2cWrite(byte & 0xff) ?? false;
  }

  /** A byte clocked in by the master; only a chip addressed for reading drives SDA. */
  read(): number {
    return this.current && this.reading ? this.current.i2cRead() & 0xff : RELEASED;
  }

  stop(): void {
    this.end();
  }

  /**
   * A hardware master's write transfer: START, address, bytes until one is not
   * acknowledged, then STOP unless `stop` is false. True when every byte was acknowledged.
   */
  send(address: number, bytes: Uint8Array, stop = true): boolean {
    this.start();
    let ok = this.address(address, false);
    for (let i = 0; ok && i < bytes.length; i++) ok = this.write(bytes[i] as number);
    if (stop || !ok) this.stop();
    return ok;
  }

  /** A read transfer of `count` bytes ended by STOP; undefined when the address was not acknowledged. */
  receive(address: number, count: number): Uint8Array | undefined {
    this.start();
    if (!this.address(address, true)) {
      this.stop();
      return undefined;
    }
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i++) out[i] = this.read();
    this.stop();
    return out;
  }

  private end(): void {
    const chip = this.current;
    this.current = undefined;
    chip?.i2cDisconnect();
  }
}
