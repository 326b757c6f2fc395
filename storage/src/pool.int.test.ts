/**
 * A pooled client whose connection the database ends while someone holds it (a restart, a failover,
 * an operator's pg_terminate_backend) must fail that holder's queries and nothing else: without a
 * listener, pg's 'error' event on the client was an uncaught exception, and ingest or the API
 * process died with every batch and request in it.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPool } from "./pool";
import { createTestDatabase, type TestDatabase } from "./testing/index";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe("createPool", () => {
  it("survives a client in use losing its connection, between queries or during one, and serves again", async () => {
    const pool = createPool(db.url, { max: 3 });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("between", "during", "in a transaction"),
          fc.integer({ min: 1, max: 3 }),
          async (when, held) => {
            const clients = await Promise.all(Array.from({ length: held }, () => pool.connect()));
            const pids = await Promise.all(
              clients.map(
                async (c) => (await c.query<{ p: number }>("SELECT pg_backend_pid() AS p")).rows[0]?.p,
              ),
            );
            if (when === "in a transaction") await Promise.all(clients.map((c) => c.query("BEGIN")));
            const running =
              when === "during"
                ? clients.map((c) =>
                    c.query("SELECT pg_sleep(5)").then(
                      () => "done",
                      (e: Error) => e.message,
                    ),
                  )
                : [];
            await db.pool.query("SELECT pg_terminate_backend(p) FROM unnest($1::int[]) AS p", [pids]);
            if (when === "during") for (const r of await Promise.all(running)) expect(r).not.toBe("done");
            // Let the connections' end reach the clients (the 'error' event that used to be uncaught).
            await new Promise((r) => setTimeout(r, 100));
            for (const c of clients) {
              await expect(c.query("SELECT 1")).rejects.toThrow();
              c.release();
            }
            // The pool drops them and hands out working connections.
            expect((await pool.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
          },
        ),
        { numRuns: 9 },
      );
    } finally {
      await pool.end();
    }
  });
});
