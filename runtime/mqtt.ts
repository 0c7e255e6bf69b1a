// Chooses the transport for a script's MQTT client: mqtt.js, loaded on the first connect, or
// the run's AT modem.
import type { Board } from "./board.js";
import { createAtSession } from "../mqtt/at.js";
import { atModemAccess } from "./modem.js";
import { DeferredSession } from "../mqtt/deferred.js";
import type { MqttSession, SessionEnvironment, SessionFactory, SessionListener, SessionOptions } from "../mqtt/session.js";

export * from "../mqtt/session.js";

const loadMqttJs = async (): Promise<SessionFactory> => (await import("../mqtt/mqttjs.js")).createMqttJsSession;

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
  if (runtime.options.at !== undefined) return createAtSession(atModemAccess(runtime), options, listener, env);
  return new DeferredSession(loadMqttJs, options, listener, env);
}
