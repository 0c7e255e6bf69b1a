// Where an MQTT connection the script opens really goes. Scripts name device-era hosts
// (public brokers, LAN addresses); --map and --broker send them to a broker the developer
// controls, and the first use of each redirect is announced once on stderr.
export interface Route {
  /** The URL actually connected to (scheme decides the transport). */
  url: URL;
  redirected: boolean;
}

export interface RouterOptions {
  broker?: string;
  map?: ReadonlyArray<readonly [string, string]>;
  notice?: (line: string) => void;
}

const SCHEMES = new Set(["mqtt:", "mqtts:", "ws:", "wss:", "tcp:", "ssl:", "tls:"]);
const DEFAULT_PORTS: Record<string, number> = { "mqtt:": 1883, "tcp:": 1883, "mqtts:": 8883, "ssl:": 8883, "tls:": 8883, "ws:": 80, "wss:": 443 };

export class RouteError extends Error {}

export function parseBrokerUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RouteError(`invalid broker URL '${text}'`);
  }
  if (!SCHEMES.has(url.protocol)) throw new RouteError(`unsupported broker URL scheme '${url.protocol}' in '${text}' (use mqtt://, mqtts://, ws:// or wss://)`);
  return url;
}

export function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : (DEFAULT_PORTS[url.protocol] ?? 1883);
}

/** Parses `HOST[:PORT]=URL`. */
export function parseMapping(text: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0 || eq === text.length - 1) throw new RouteError(`--map expects HOST[:PORT]=URL, got '${text}'`);
  const target = text.slice(eq + 1);
  parseBrokerUrl(target);
  return [text.slice(0, eq), target];
}

export class Router {
  private readonly broker: URL | undefined;
  private readonly hostPort = new Map<string, URL>();
  private readonly hostOnly = new Map<string, URL>();
  private readonly announced = new Set<string>();

  constructor(private readonly options: RouterOptions = {}) {
    this.broker = options.broker ? parseBrokerUrl(options.broker) : undefined;
    for (const [pattern, target] of options.map ?? []) {
      const url = parseBrokerUrl(target);
      const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(pattern);
      if (!match) throw new RouteError(`--map expects HOST[:PORT]=URL, got '${pattern}=${target}'`);
      const host = (match[1] as string).replace(/^\[|\]$/g, "").toLowerCase();
      if (match[2]) this.hostPort.set(`${host}:${Number(match[2])}`, url);
      else this.hostOnly.set(host, url);
    }
  }

  /** The route for a connection the script opens to `original` (its scheme, host and port). */
  route(original: URL): Route {
    const host = original.hostname.replace(/^\[|\]$/g, "").toLowerCase();
    const port = defaultPort(original);
    const target = this.hostPort.get(`${host}:${port}`) ?? this.hostOnly.get(host) ?? this.broker;
    if (!target) return { url: original, redirected: false };
    const key = `${host}:${port}`;
    if (!this.announced.has(key)) {
      this.announced.add(key);
      this.options.notice?.(`moonrig: ${host.includes(":") ? `[${host}]` : host}:${port} -> ${target.href.replace(/\/$/, "")}`);
    }
    return { url: target, redirected: true };
  }
}
