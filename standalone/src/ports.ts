/**
 * `npm start` never fails on a taken port: each listener (broker, API, OsmAnd)
 * gets its configured port when it is free, else the next free one above it,
 * else one the system assigns. The banner then prints where everything is.
 */
import { createServer } from "node:net";

/** Whether a TCP listener could bind `host:port` now (the same host the real listener binds). */
export function portFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function systemPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export interface ChosenPort {
  port: number;
  /** The configured port, when it was taken and `port` is another. */
  wanted?: number;
}

/**
 * The configured port if free, else the first free one of the next `span`, else a
 * system-assigned one. `avoid` holds ports already handed to other listeners of
 * this process (they are not listening yet, so a probe would find them free).
 */
export async function choosePort(
  wanted: number,
  host: string,
  avoid: ReadonlySet<number> = new Set(),
  span = 20,
): Promise<ChosenPort> {
  for (let port = wanted; port < Math.min(wanted + span, 65_536); port++) {
    if (avoid.has(port)) continue;
    if (await portFree(port, host)) return port === wanted ? { port } : { port, wanted };
  }
  for (;;) {
    const port = await systemPort(host);
    if (!avoid.has(port)) return { port, wanted };
  }
}
