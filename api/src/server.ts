import type { Server } from "node:http";
import { type ServerType, serve } from "@hono/node-server";
import { createApp } from "./app";
import type { ApiDeps } from "./deps";

export interface RunningApi {
  url: string;
  /** The Node HTTP server, for socket.io to attach to. */
  server: Server;
  app: ReturnType<typeof createApp>;
  close(): Promise<void>;
}

/** Serves createApp(deps) on host:port (port 0 picks a free one). */
export async function startApiServer(deps: ApiDeps & { port: number; host?: string }): Promise<RunningApi> {
  const app = createApp(deps);
  const host = deps.host ?? "0.0.0.0";
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: deps.port, hostname: host }, () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : deps.port;
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    url: `http://${shownHost}:${port}`,
    server: server as Server,
    app,
    close: () =>
      new Promise<void>((resolve, reject) => {
        (server as Server).closeAllConnections?.();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
