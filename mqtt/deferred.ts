// A session whose transport is loaded on the first connect, so scripts that never touch MQTT
// do not pay for mqtt.js at start-up.
import type { MqttSession, SessionEnvironment, SessionFactory, SessionListener, SessionOptions, SessionState } from "./session.js";

/** A session whose transport module is imported on the first connect. */
export class DeferredSession implements MqttSession {
  private real: MqttSession | undefined;
  private loading = false;

  constructor(
    private readonly load: () => Promise<SessionFactory>,
    private readonly options: SessionOptions,
    private readonly listener: SessionListener,
    private readonly env: SessionEnvironment,
  ) {}

  get state(): SessionState {
    if (this.real) return this.real.state;
    return this.loading ? "connecting" : "idle";
  }

  connect(): void {
    if (this.real) return this.real.connect();
    if (this.loading) return;
    this.loading = true;
    this.load().then(
      (factory) => {
        if (!this.loading) return;
        this.loading = false;
        this.real = factory(this.options, this.listener, this.env);
        this.real.connect();
      },
      (error: unknown) => {
        this.loading = false;
        this.listener.connectFailed({ kind: "unreachable", message: `cannot load the MQTT transport: ${String(error)}` });
      },
    );
  }

  publish(...args: Parameters<MqttSession["publish"]>): number | undefined {
    return this.real?.publish(...args);
  }

  subscribe(...args: Parameters<MqttSession["subscribe"]>): number | undefined {
    return this.real?.subscribe(...args);
  }

  unsubscribe(...args: Parameters<MqttSession["unsubscribe"]>): number | undefined {
    return this.real?.unsubscribe(...args);
  }

  sendRaw(build: (allocateId: () => number) => Uint8Array): boolean {
    return this.real?.sendRaw?.(build) ?? false;
  }

  disconnect(): void {
    if (this.real) return this.real.disconnect();
    if (this.loading) {
      this.loading = false;
      this.listener.closed({ kind: "local" });
    }
  }

  destroy(): void {
    this.loading = false;
    this.real?.destroy();
  }
}
