import { spawn } from "node:child_process";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase({ applyMigrations: false });
});
afterAll(async () => {
  await db.drop();
});

function run(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/create-organisation.ts", ...args], {
    cwd: new URL("../..", import.meta.url).pathname,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      PUBLIC_URL: "https://vakt.example.kommune.no",
      ACTIVITY_LOG_KEYS: `k1:${Buffer.alloc(32, 7).toString("base64")}`,
    },
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => {
    out += d;
  });
  child.stderr.on("data", (d) => {
    err += d;
  });
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    child.on("exit", (code) => resolve({ code, out, err })),
  );
}

describe("create-organisation", () => {
  it("creates an organisation requiring a second factor and prints the first administrator's invitation link", async () => {
    const r = await run([
      "--name",
      "Bergen kommune",
      "--slug",
      "bergen",
      "--admin-email",
      "Anne@Bergen.Kommune.no",
      "--admin-first-name",
      "Anne",
      "--admin-last-name",
      "Admin",
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/https:\/\/vakt\.example\.kommune\.no\/invitation#token=[A-Za-z0-9_-]{20,}/);
    const org = await db.pool.query(
      `SELECT o.require_admin_second_factor, u.email, g.role FROM organisations o
         JOIN staff_users u ON u.organisation_id = o.id JOIN role_grants g ON g.user_id = u.id
        WHERE o.slug = 'bergen'`,
    );
    expect(org.rows).toEqual([
      { require_admin_second_factor: true, email: "anne@bergen.kommune.no", role: "org_admin" },
    ]);
    const again = await run([
      "--name",
      "B",
      "--slug",
      "bergen",
      "--admin-email",
      "x@y.no",
      "--admin-first-name",
      "X",
      "--admin-last-name",
      "Y",
    ]);
    expect(again.code).toBe(1);
  });

  it("names every missing or wrong argument", async () => {
    const r = await run(["--slug", "Not A Slug"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/slug: /);
    expect(r.err).toMatch(/name: /);
    expect(r.err).toMatch(/adminEmail: /);
  });
});
