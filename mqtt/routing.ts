// Where a connection the script opens really goes. Scripts name device-era hosts (public
// brokers, cloud APIs, LAN addresses); --map and --broker send them to a broker or server
// the developer controls, and the first use of each redirect is announced once on stderr.
// --broker takes every MQTT connection; a --map entry with an http:// or https:// target
// redirects HTTP requests to its host (LuatOS http.request), one with a broker URL MQTT.
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
const HTTP_SCHEMES = new Set(["http:", "https:"]);
const DEFAULT_PORTS: Record<string, number> = { "mqtt:": 1883, "tcp:": 1883, "mqtts:": 8883, "ssl:": 8883, "tls:": 8883, "ws:": 80, "wss:": 443, "http:": 80, "https:": 443 };

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

/** A --map target: a broker URL, or an http(s) URL for HTTP requests. */
function parseMapTarget(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RouteError(`invalid URL '${text}' in --map`);
  }
  if (!SCHEMES.has(url.protocol) && !HTTP_SCHEMES.has(url.protocol)) {
    throw new RouteError(`unsupported URL scheme '${url.protocol}' in --map '${text}' (use mqtt://, mqtts://, ws://, wss://, http:// or https://)`);
  }
  return url;
}

/** Parses `HOST[:PORT]=URL`. */
export function parseMapping(text: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0 || eq === text.length - 1) throw new RouteError(`--map expects HOST[:PORT]=URL, got '${text}'`);
  const target = text.slice(eq + 1);
  parseMapTarget(target);
  return [text.slice(0, eq), target];
}

/** host:port and host-only redirects of one kind (MQTT or HTTP). */
class RedirectTable {
  readonly hostPort = new Map<string, URL>();
  readonly hostOnly = new Map<string, URL>();

  find(host: string, port: number): URL | undefined {
    return this.hostPort.get(`${host}:${port}`) ?? this.hostOnly.get(host);
  }
}

export class Router {
  private readonly broker: URL | undefined;
  private readonly mqtt = new RedirectTable();
  private readonly http = new RedirectTable();
  private readonly announced = new Set<string>();

  constructor(private readonly options: RouterOptions = {}) {
    this.broker = options.broker ? parseBrokerUrl(options.broker) : undefined;
    for (const [pattern, target] of options.map ?? []) {
      const url = parseMapTarget(target);
      const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(pattern);
      if (!match) throw new RouteError(`--map expects HOST[:PORT]=URL, got '${pattern}=${target}'`);
      const host = (match[1] as string).replace(/^\[|\]$/g, "").toLowerCase();
      const table = HTTP_SCHEMES.has(url.protocol) ? this.http : this.mqtt;
      if (match[2]) table.hostPort.set(`${host}:${Number(match[2])}`, url);
      else table.hostOnly.set(host, url);
    }
  }

  /** The route for an MQTT connection the script opens to `original` (its scheme, host and port). */
  route(original: URL): Route {
    const { host, port } = endpoint(original);
    return this.redirect(host, port, this.mqtt.find(host, port) ?? this.broker) ?? { url: original, redirected: false };
  }

  /**
   * The URL an HTTP request to `original` goes to: a --map entry for its host moves it to
   * the target's scheme, host and port, with the target's path in front of the request's.
   */
  routeHttp(original: URL): Route {
    const { host, port } = endpoint(original);
    const route = this.redirect(host, port, this.http.find(host, port));
    if (!route) return { url: original, redirected: false };
    const url = new URL(route.url.href);
    url.pathname = `${url.pathname.replace(/\/$/, "")}${original.pathname}`;
    url.search = original.search;
    return { url, redirected: true };
  }

  /** A --map entry for `original`'s host and port, whatever its target's scheme; never --broker. */
  mapped(original: URL): Route | undefined {
    const { host, port } = endpoint(original);
    return this.redirect(host, port, this.mqtt.find(host, port) ?? this.http.find(host, port));
  }

  private redirect(host: string, port: number, target: URL | undefined): Route | undefined {
    if (!target) return undefined;
    const key = `${host}:${port}`;
    if (!this.announced.has(key)) {
      this.announced.add(key);
      this.options.notice?.(`moonrig: ${host.includes(":") ? `[${host}]` : host}:${port} -> ${target.href.replace(/\/$/, "")}`);
    }
    return { url: target, redirected: true };
  }
}

function endpoint(url: URL): { host: string; port: number } {
  return { host: url.hostname.replace(/^\[|\]$/g, "").toLowerCase(), port: defaultPort(url) };
}
