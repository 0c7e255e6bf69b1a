// Solomon Systech SSD1306 OLED controller on I2C, from its datasheet: after the address a
// control byte (Co bit 7, D/C# bit 6) says whether commands or GDDRAM data follow; commands
// with their parameter counts (addressing mode 0x20, column 0x21 and page 0x22 windows, page
// start 0xB0-0xB7, column nibbles 0x00-0x1F, start line, remap 0xA0/0xA1, COM scan
// 0xC0/0xC8, inverse, entire-on, display on/off, contrast, charge pump and timing settings,
// scrolling commands accepted but not animated). The frame buffer is readable as rows of pixels.
import { ChipConfigError, type ChipModel, type Reading } from "./model.js";

const WIDTH = 128;
/** Parameter bytes of each command taking any (datasheet section 9). */
const PARAMETERS: Record<number, number> = {
  0x81: 1, 0x20: 1, 0x21: 2, 0x22: 2, 0xa8: 1, 0xd3: 1, 0xd5: 1, 0xd9: 1, 0xda: 1, 0xdb: 1, 0x8d: 1,
  0x26: 6, 0x27: 6, 0x29: 5, 0x2a: 5, 0xa3: 2,
};

export class Ssd1306 implements ChipModel {
  readonly kind = "ssd1306";
  private height = 64;
  private readonly ram = new Uint8Array(WIDTH * 8);
  private control: number | undefined;
  private command: number[] = [];
  private mode = 2;
  private column = 0;
  private page = 0;
  private columnStart = 0;
  private columnEnd = WIDTH - 1;
  private pageStart = 0;
  private pageEnd = 7;
  private on = false;
  private inverse = false;
  private entireOn = false;
  private segmentRemap = false;
  private comFlip = false;
  private startLine = 0;
  private contrast = 0x7f;
  private dataWritten = false;

  /** `output` reports what the panel shows changing: "display" on/off, "frame" after data. */
  constructor(private readonly output: (call: string, args: number[]) => void = () => undefined) {}

  readings(): Record<string, Reading> {
    return { height: this.height, on: this.on ? 1 : 0, contrast: this.contrast };
  }

  set(values: Record<string, unknown>): void {
    for (const [name, value] of Object.entries(values)) {
      if (name !== "height") throw new ChipConfigError(`ssd1306 has no setting '${name}' (it has height)`);
      if (value !== 64 && value !== 32) throw new ChipConfigError("ssd1306 height must be 64 or 32");
    }
    if (values.height !== undefined) this.height = values.height as number;
  }

  /** The display RAM as the controller holds it: 8 pages of 128 columns, bit n of a byte is row 8·page+n. */
  gddram(): Uint8Array {
    return Uint8Array.from(this.ram);
  }

  /** What the panel shows, row by row (1 lit); all dark while the display is off. */
  pixels(): number[][] {
    const rows: number[][] = [];
    for (let y = 0; y < this.height; y++) {
      const row: number[] = [];
      // COM scan direction and start line choose the RAM row; remap mirrors the columns.
      const com = this.comFlip ? this.height - 1 - y : y;
      const ramRow = (com + this.startLine) % 64;
      for (let x = 0; x < WIDTH; x++) {
        const column = this.segmentRemap ? WIDTH - 1 - x : x;
        const bit = ((this.ram[(ramRow >> 3) * WIDTH + column] as number) >> (ramRow & 7)) & 1;
        const lit = this.entireOn ? 1 : bit ^ (this.inverse ? 1 : 0);
        row.push(this.on ? lit : 0);
      }
      rows.push(row);
    }
    return rows;
  }

  i2cConnect(_address: number, read: boolean): boolean {
    this.control = undefined;
    return !read;
  }

  i2cWrite(byte: number): boolean {
    if (this.control === undefined) {
      this.control = byte;
      return true;
    }
    if (this.control & 0x40) this.data(byte);
    else this.commandByte(byte);
    // Co set: one byte, then another control byte.
    if (this.control & 0x80) this.control = undefined;
    return true;
  }

  i2cRead(): number {
    return 0xff;
  }

  i2cDisconnect(): void {
    this.control = undefined;
    if (this.dataWritten) this.output("frame", []);
    this.dataWritten = false;
  }

  private data(byte: number): void {
    this.dataWritten = true;
    this.ram[this.page * WIDTH + this.column] = byte;
    if (this.mode === 0) {
      if (this.column < this.columnEnd) {
        this.column++;
      } else {
        this.column = this.columnStart;
        this.page = this.page < this.pageEnd ? this.page + 1 : this.pageStart;
      }
    } else if (this.mode === 1) {
      if (this.page < this.pageEnd) {
        this.page++;
      } else {
        this.page = this.pageStart;
        this.column = this.column < this.columnEnd ? this.column + 1 : this.columnStart;
      }
    } else {
      // Page mode: the column wraps within the page.
      this.column = (this.column + 1) % WIDTH;
    }
  }

  private commandByte(byte: number): void {
    this.command.push(byte);
    const [op, a, b] = this.command as [number, number | undefined, number | undefined];
    if (this.command.length <= (PARAMETERS[op] ?? 0)) return;
    this.command = [];
    if (op === 0x81) this.contrast = a as number;
    else if (op === 0x20) this.mode = (a as number) & 3;
    else if (op === 0x21) {
      this.columnStart = (a as number) & 0x7f;
      this.columnEnd = (b as number) & 0x7f;
      this.column = this.columnStart;
    } else if (op === 0x22) {
      this.pageStart = (a as number) & 7;
      this.pageEnd = (b as number) & 7;
      this.page = this.pageStart;
    } else if (op >= 0xb0 && op <= 0xb7) this.page = op & 7;
    else if (op <= 0x0f) this.column = (this.column & 0xf0) | op;
    else if (op >= 0x10 && op <= 0x1f) this.column = ((op & 0x07) << 4) | (this.column & 0x0f);
    else if (op >= 0x40 && op <= 0x7f) this.startLine = op & 0x3f;
    else if (op === 0xa0 || op === 0xa1) this.segmentRemap = op === 0xa1;
    else if (op === 0xc0 || op === 0xc8) this.comFlip = op === 0xc8;
    else if (op === 0xa6 || op === 0xa7) this.inverse = op === 0xa7;
    else if (op === 0xa4 || op === 0xa5) this.entireOn = op === 0xa5;
    else if (op === 0xae || op === 0xaf) {
      this.on = op === 0xaf;
      this.output("display", [this.on ? 1 : 0]);
    }
  }
}
