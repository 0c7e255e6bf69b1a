// Chooses the transport for a session and loads it only when a script first connects, so
// scripts that never touch MQTT do not pay for mqtt.js at start-up.
import type { Board } from "../board.js";
import { createAtSession } from "../../bindings/at/session.js";
import type { MqttSession, SessionEnvironment, SessionFactory, SessionListener, SessionOptions, SessionState } from "./session.js";

export * from "./session.js";

/** A session whose transport module is imported on the first connect. */
class DeferredSession implements MqttSession {
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

const loadMqttJs = async (): Promise<SessionFactory> => (await import("./mqttjs.js")).createMqttJsSession;

/**
 * A new session for a script's client, with the runtime's routing, DNS and tracing.
 * `debug` turns tracing on for this client alone (LuatOS client:debug(true)).
 */
export function createSession(board: Board, options: SessionOptions, listener: SessionListener, debug?: () => boolean): MqttSession {
  const runtime = board.host.runtime;
  const traceAll = runtime.options.trace === true;
  const tracing = () => traceAll || debug?.() === true;
  const env: SessionEnvironment = {
    route: (url) => runtime.router.route(url).url,
    lookup: runtime.options.lookup,
    trace: traceAll || debug ? (line) => {
      if (tracing()) board.host.stderr(`${line}\n`);
    } : undefined,
    tracing,
  };
  // Through an AT modem, modem limits (one link, ten topics) are checked as the script
  // calls, so they surface as Lua errors at the call.
  if (runtime.options.at !== undefined) return createAtSession(board, options, listener, env);
  return new DeferredSession(loadMqttJs, options, listener, env);
}
