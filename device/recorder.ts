// The simulated board's wiring: every output a script drives (a pin written, bytes sent on
// I2C or a UART, an LED strip lit) is appended here, and tests and embedders feed inputs
// back (a pin level, serial bytes, an I2C device's reply, a sensor reading). There is one
// per Runtime, not per boot, because a simulated reboot restarts the firmware, not the
// world around the board: the history and the input levels outlive it.
import type { I2cBus } from "./i2c-bus.js";
import { ScriptedReplies } from "./chips/scripted.js";

export type HardwareValue = number | string | Uint8Array | boolean | null;

export interface HardwareEvent {
  /** The firmware module, e.g. "gpio". */
  module: string;
  /** The Lua function that drove the output, e.g. "write". */
  call: string;
  args: HardwareValue[];
  /** Milliseconds since the runtime was created. */
  at: number;
}

/** pin, new level, and the level the outside world last presented (undefined: never set). */
export type InputListener = (pin: number, level: number, previous: number | undefined) => void;
export type UartListener = (id: number, data: Uint8Array) => void;
export type EventListener = (event: HardwareEvent) => void;

/** What the recorder reads from the device description: configured pin levels and sensors. */
export interface RecorderInputs {
  pins?: Record<string, number>;
  sensors?: Record<string, number>;
}

export class HardwareRecorder {
  readonly events: HardwareEvent[] = [];
  private readonly created: number;
  private readonly levels = new Map<number, number>();
  private readonly sensorOverrides = new Map<string, number>();
  private readonly inputListeners = new Set<InputListener>();
  private readonly uartListeners = new Set<UartListener>();
  private readonly eventListeners = new Set<EventListener>();

  /**
   * `inputs` is asked on every read (an embedder may replace its description); `now` is the
   * clock of event times in milliseconds; `bus` hands out the device's I2C buses.
   */
  constructor(
    private readonly inputs: () => RecorderInputs | undefined,
    private readonly now: () => number,
    private readonly bus: (id: number) => I2cBus,
  ) {
    this.created = now();
  }

  // ---- outputs ----

  record(module: string, call: string, args: readonly HardwareValue[]): void {
    // Bytes are copied: a Lua string's buffer or an LED buffer may be reused afterwards.
    const copied = args.map((value) => (value instanceof Uint8Array ? Uint8Array.from(value) : value));
    const event = { module, call, args: copied, at: this.now() - this.created };
    this.events.push(event);
    for (const listener of [...this.eventListeners]) listener(event);
  }

  /** Calls `listener` with every output from now on, as it is recorded. */
  onEvent(listener: EventListener): () => void {
    this.eventListeners.add(listener);
    return () => {
      this.eventListeners.delete(listener);
    };
  }

  /** The events of one module, optionally of one call, in order. */
  filter(module: string, call?: string): HardwareEvent[] {
    return this.events.filter((event) => event.module === module && (call === undefined || event.call === call));
  }

  clear(): void {
    this.events.length = 0;
  }

  // ---- inputs ----

  /**
   * Drives input pin `pin` to `level` (non-zero is high). A pin in interrupt mode with a
   * matching gpio.trig gets its callback through the event loop, never synchronously.
   */
  setInput(pin: number, level: number): void {
    const previous = this.inputLevel(pin);
    const normalized = level ? 1 : 0;
    this.levels.set(pin, normalized);
    for (const listener of [...this.inputListeners]) listener(pin, normalized, previous);
  }

  /** The level presented to pin `pin`: setInput's, else the --device `pins` value. */
  inputLevel(pin: number): number | undefined {
    const set = this.levels.get(pin);
    if (set !== undefined) return set;
    const configured = this.inputs()?.pins?.[String(pin)];
    return configured === undefined ? undefined : configured ? 1 : 0;
  }

  onInput(listener: InputListener): () => void {
    this.inputListeners.add(listener);
    return () => {
      this.inputListeners.delete(listener);
    };
  }

  /** Overrides a --device sensor reading from now on (adc, vdd33, temperature, humidity, ...). */
  setSensor(name: string, value: number): void {
    this.sensorOverrides.set(name, value);
  }

  sensor(name: string): number | undefined {
    return this.sensorOverrides.get(name) ?? this.inputs()?.sensors?.[name];
  }

  /**
   * Queues bytes an I2C device at 7-bit `address` answers to the next reads (then zeros),
   * for a device moonrig has no model of: the address ACKs from now on. A chip model
   * already at that address is replaced.
   */
  i2cReply(address: number, bytes: Uint8Array | readonly number[], busId = 0): void {
    const bus = this.bus(busId);
    let chip = bus.chipAt(address);
    if (!(chip instanceof ScriptedReplies)) {
      chip = new ScriptedReplies();
      bus.attach(address, chip);
    }
    (chip as ScriptedReplies).queue(bytes);
  }

  /** Bytes arriving on UART `id`, as if typed on the serial line (see uart.on("data")). */
  feedUart(id: number, data: Uint8Array | string): void {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : Uint8Array.from(data);
    for (const listener of [...this.uartListeners]) listener(id, bytes);
  }

  onUart(listener: UartListener): () => void {
    this.uartListeners.add(listener);
    return () => {
      this.uartListeners.delete(listener);
    };
  }
}
