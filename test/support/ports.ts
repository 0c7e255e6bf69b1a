import { createServer, type Server } from "node:net";

// 1883 is taken by the machine's own Mosquitto; a test that silently talks to it
// would pass for the wrong reason, so it is never handed out even if it looks free.
const RESERVED = new Set([1883, 8883]);

function listenOnZero(host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port: 0, host, exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === "string") {
    throw new Error("listening socket has no TCP address");
  }
  return address.port;
}

/** A TCP port that was free on `host` a moment ago. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [port] = await freePorts(1, host);
  return port as number;
}

/**
 * `count` distinct free ports. All probe sockets stay open until every port is
 * chosen, because closing one before asking for the next lets the kernel hand
 * the same port out twice.
 */
export async function freePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      // A reserved port stays open too, so the kernel does not offer it again this round.
      const server = await listenOnZero(host);
      servers.push(server);
      const port = portOf(server);
      if (!RESERVED.has(port)) ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map(close));
  }
}
