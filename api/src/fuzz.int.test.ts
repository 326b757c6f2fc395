/**
 * The abuse lab's API half: every route of the app (enumerated from its own
 * OpenAPI document, so a new route is fuzzed without an entry here) gets
 * random and hostile path ids, query strings, bodies and headers, as a logged-in
 * organisation administrator (the widest grant, so requests get past the
 * permission check and reach validation and the services).
 *
 * - Never a 5xx.
 * - A 4xx changes nothing: a row trigger on every table of the (throw-away)
 *   test database counts committed row writes; the count must not move across
 *   a rejected request.
 * - Text with SQL or script injection in it is stored verbatim and returned
 *   verbatim as JSON data (checked on the routes that create named things).
 * - Oversized bodies are refused with 413 before they are parsed, and a
 *   client that sends its headers too slowly (slow loris) is disconnected.
 *
 * Covered elsewhere, not repeated: a device publishing to another device's
 * topics (ingest/src/broker/security.int.test.ts, the broker ACL), an operator using
 * another department's or organisation's ids (permissions.int.test.ts, the
 * permission matrix). The console renders names with React, which escapes
 * text; that alone is not counted as proof here, and a browser-level check
 * (injection text shown as text in the console) belongs in web/e2e.
 */
import { randomUUID } from "node:crypto";
import { connect } from "node:net";
import { arbitraryOf, INJECTION_STRINGS, type JsonSchema } from "@vakt/schemas/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addPositions,
  addRecipient,
  addUser,
  Client,
  createHarness,
  createOrg,
  type Harness,
  PASSWORD,
  type TestOrg,
} from "../test/harness";
import { startApiServer } from "./server";

interface Operation {
  parameters?: { name: string; in: "path" | "query" | "header"; schema?: JsonSchema }[];
  requestBody?: { content: Record<string, { schema?: JsonSchema }> };
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

let h: Harness;
let org: TestOrg;
let doc: OpenApi;
let admin: Client;
let ids: Record<string, string[]>;
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_122);
const CASES_PER_ROUTE = Number(process.env.FUZZ_CASES_PER_ROUTE ?? 40);
const counts = { requests: 0, rejected: 0, accepted: 0 };

/**
 * Tables whose rows change on any authenticated request by design: the session
 * row records when it was last used (idle expiry). Everything else must stand still on a 4xx.
 */
const TOUCHED_BY_EVERY_REQUEST = new Set(["sessions"]);

/** Committed row writes so far (a rolled-back attempt leaves no row), in every table but those touched by every request. */
async function digest(): Promise<number> {
  const r = await h.db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM fuzz_row_writes");
  return r.rows[0]?.n ?? 0;
}

/** The writes since write number `since`, as "OP table". */
async function writesSince(since: number): Promise<string[]> {
  const r = await h.db.pool.query<{ w: string }>(
    "SELECT op || ' ' || tbl AS w FROM fuzz_row_writes WHERE seq > $1 ORDER BY seq",
    [since],
  );
  return r.rows.map((x) => x.w);
}

/**
 * The one intended write on a rejection: a refused login is recorded so that
 * repeated failures are throttled (per account and address).
 */
const WRITES_ON_REJECTION: Record<string, string[]> = {
  "POST /api/v1/auth/login": ["INSERT login_attempts"],
};

async function newAdmin(): Promise<Client> {
  const u = await addUser(h, org, `fuzz-admin-${randomUUID().slice(0, 8)}`, [
    { role: "org_admin", departmentId: null },
  ]);
  const c = new Client(h);
  c.ip = "192.0.2.200";
  await c.login(u.email, PASSWORD);
  return c;
}

/** Keeps a working session: a fuzzed request may have logged out, revoked or changed the admin. */
async function ensureSession() {
  const me = await admin.get("/api/v1/auth/me");
  if (me.status === 200) return;
  admin = await newAdmin();
}

beforeAll(async () => {
  h = await createHarness();
  org = await createOrg(h);
  admin = await newAdmin();
  const r = await addRecipient(h, org, org.departments.a1, "Fuzz");
  await addPositions(h, org, r, h.clock.now, 30, 60);
  doc = (await (await h.app.request("/api/openapi.json")).json()) as OpenApi;
  const tables = await h.db.pool.query<{ table_name: string }>(
    `SELECT c.relname AS table_name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
  );
  // Test-only instrumentation of this throw-away database: every committed INSERT, UPDATE or DELETE
  // of a row adds a row naming its table, in the same transaction.
  await h.db.pool.query(`
    CREATE TABLE fuzz_row_writes (seq bigserial PRIMARY KEY, tbl text NOT NULL, op text NOT NULL);
    CREATE FUNCTION fuzz_count_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO fuzz_row_writes (tbl, op) VALUES (TG_TABLE_NAME, TG_OP); RETURN NULL; END $$;`);
  for (const t of tables.rows) {
    if (TOUCHED_BY_EVERY_REQUEST.has(t.table_name)) continue;
    await h.db.pool.query(
      `CREATE TRIGGER fuzz_count_write AFTER INSERT OR UPDATE OR DELETE ON "${t.table_name}"
         FOR EACH ROW EXECUTE FUNCTION fuzz_count_write()`,
    );
  }
  const col = async (sql: string) =>
    (await h.db.pool.query<{ id: string }>(sql, [org.organisationId])).rows.map((x) => x.id);
  ids = {
    recipient: await col("SELECT id FROM recipients WHERE organisation_id = $1"),
    device: await col("SELECT id FROM devices WHERE organisation_id = $1"),
    department: await col("SELECT id FROM departments WHERE organisation_id = $1"),
    user: await col("SELECT id FROM staff_users WHERE organisation_id = $1"),
  };
});
afterAll(async () => {
  await h?.close();
});

const resolveRef = (ref: string): JsonSchema | undefined =>
  doc.components?.schemas?.[ref.replace(/^#\/components\/schemas\//, "")];

/** A path parameter: a real id of the right kind, another uuid, or something hostile. */
function pathValue(name: string): fc.Arbitrary<string> {
  const kind = Object.keys(ids).find((k) => name.toLowerCase().startsWith(k));
  const real = kind && ids[kind]?.length ? [fc.constantFrom(...(ids[kind] as string[]))] : [];
  return fc.oneof(
    ...real,
    fc.uuid(),
    fc.constantFrom(
      ...INJECTION_STRINGS,
      "0",
      "-1",
      "null",
      "undefined",
      "%00",
      "a\u0000b",
      "..",
      "a".repeat(3_000),
    ),
    fc.string({ maxLength: 40 }),
  );
}

const hostileJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.dictionary(fc.constantFrom("__proto__", "constructor", "id", "name", "email"), fc.jsonValue()),
  fc.constantFrom(...INJECTION_STRINGS),
);
const rawBody = fc.oneof(
  hostileJson.map((j) => JSON.stringify(j) ?? "null"),
  fc.constantFrom("{", "[", '{"a":', "\u0000", "", "nul", `{"x":"${"\\u0000".repeat(10)}"}`, "1e99999"),
  fc.string({ maxLength: 200, unit: "binary" }),
);
/** Header values must be byte strings; injection text that fits. */
const HEADER_INJECTION = INJECTION_STRINGS.filter((t) => /^[\x20-\x7e]*$/.test(t));
const headerSets = fc.oneof(
  fc.constant<Record<string, string>>({}),
  fc.record({
    "content-type": fc.constantFrom(
      "text/plain",
      "application/json; charset=utf-16",
      "multipart/form-data; boundary=x",
      "application/x-www-form-urlencoded",
      "application/json",
    ),
  }),
  fc.record({ "x-request-id": fc.constantFrom(...HEADER_INJECTION, "a".repeat(500)) }),
  fc.record({ accept: fc.constantFrom("text/html", "*/*", "application/xml", "\u00ff") }),
  fc.record({ "x-csrf-token": fc.stringMatching(/^[\x21-\x7e]{0,40}$/) }),
  fc.record({
    authorization: fc.constantFrom("Bearer ' OR 1=1 --", "Bearer ", "Basic Zm9vOmJhcg==", "Bearer vakt_x"),
  }),
  fc.record({ "accept-language": fc.constantFrom("zz", "nb;q=abc", ...HEADER_INJECTION) }),
);

/** Every string and number in a JSON value, each with a setter that replaces it in place. */
function leavesOf(value: unknown): { value: unknown; set: (v: unknown) => void }[] {
  const out: { value: unknown; set: (v: unknown) => void }[] = [];
  const walk = (v: unknown, set: (x: unknown) => void) => {
    if (typeof v === "string" || typeof v === "number") out.push({ value: v, set });
    else if (Array.isArray(v))
      for (const [i, x] of v.entries())
        walk(x, (y) => {
          v[i] = y;
        });
    else if (v && typeof v === "object")
      for (const k of Object.keys(v))
        walk((v as Record<string, unknown>)[k], (y) => {
          (v as Record<string, unknown>)[k] = y;
        });
  };
  walk(value, () => {});
  return out;
}

interface FuzzCase {
  path: string;
  body: string | undefined;
  headers: Record<string, string>;
}

function casesFor(method: string, template: string, op: Operation): FuzzCase[] {
  const params = op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === "path");
  const queryParams = params.filter((p) => p.in === "query");
  const bodySchema = op.requestBody?.content["application/json"]?.schema;
  const pathArb = fc
    .tuple(...pathParams.map((p) => pathValue(p.name)))
    .map((values) =>
      pathParams.reduce(
        (path, p, i) => path.replace(`{${p.name}}`, encodeURIComponent(values[i] as string)),
        template,
      ),
    );
  const queryArb = fc
    .tuple(
      ...queryParams.map((p) =>
        fc.option(
          fc.oneof(
            p.schema
              ? arbitraryOf(p.schema, resolveRef).map((v) => (typeof v === "string" ? v : JSON.stringify(v)))
              : fc.string(),
            fc.constantFrom(...INJECTION_STRINGS, "", "-1", "1e400", "NaN"),
          ),
          { nil: undefined },
        ),
      ),
      fc.option(
        fc.tuple(fc.constantFrom("limit", "from", "to", "__proto__", "x"), fc.string({ maxLength: 20 })),
        {
          nil: undefined,
        },
      ),
    )
    .map(([...values]) => {
      const extra = values.pop() as [string, string] | undefined;
      const q = new URLSearchParams();
      queryParams.forEach((p, i) => {
        const v = values[i];
        if (typeof v === "string") q.append(p.name, v);
      });
      if (extra) q.append(extra[0], extra[1]);
      const s = q.toString();
      return s ? `?${s}` : "";
    });
  const withBody = method !== "get" && method !== "delete";
  const bodyArb: fc.Arbitrary<string | undefined> = withBody
    ? fc.oneof(
        ...(bodySchema ? [arbitraryOf(bodySchema, resolveRef).map((v) => JSON.stringify(v) ?? "null")] : []),
        rawBody,
        fc.constant(undefined),
      )
    : method === "delete"
      ? fc.oneof(fc.constant(undefined), rawBody)
      : fc.constant(undefined);
  return fc.sample(
    fc.record({
      path: fc.tuple(pathArb, queryArb).map(([p, q]) => p + q),
      body: bodyArb,
      headers: headerSets,
    }),
    { numRuns: CASES_PER_ROUTE, seed: SEED + template.length * 31 + method.length },
  );
}

async function send(method: string, c: FuzzCase) {
  const headers: Record<string, string> = { "x-test-ip": "198.51.100.7" };
  headers.cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  const unsafe = method !== "get" && method !== "head";
  if (unsafe) {
    headers.origin = "http://localhost:3000";
    headers["x-csrf-token"] = admin.cookies.get("vakt_csrf") ?? "";
  }
  if (c.body !== undefined) headers["content-type"] = "application/json";
  Object.assign(headers, c.headers);
  const res = await h.app.request(c.path, {
    method: method.toUpperCase(),
    headers,
    ...(c.body !== undefined ? { body: c.body } : {}),
  });
  const text = await res.text();
  return { status: res.status, text, contentType: res.headers.get("content-type") ?? "" };
}

describe("API fuzzer", () => {
  it("answers every route's random and hostile requests without a 5xx, and a 4xx changes nothing", async () => {
    const failures: string[] = [];
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ method, path, op })),
    );
    expect(operations.length).toBeGreaterThan(30);
    for (const { method, path, op } of operations) {
      for (const c of casesFor(method, path, op)) {
        const before = await digest();
        const res = await send(method, c);
        counts.requests++;
        const label = `${method.toUpperCase()} ${c.path.slice(0, 120)} [${JSON.stringify(c.headers).slice(0, 80)}] body=${(c.body ?? "").slice(0, 80)}`;
        if (res.status >= 500) failures.push(`${res.status} ${label}: ${res.text.slice(0, 200)}`);
        if (res.status >= 400 && res.status < 500) {
          counts.rejected++;
          if (!res.contentType.includes("json"))
            failures.push(`${res.status} not JSON (${res.contentType}) ${label}`);
          const allowed = WRITES_ON_REJECTION[`${method.toUpperCase()} ${path}`] ?? [];
          const writes = (await writesSince(before)).filter((w) => !allowed.includes(w));
          if (writes.length) failures.push(`${res.status} wrote ${writes.join(", ")}: ${label}`);
        } else if (res.status < 400) {
          counts.accepted++;
          await ensureSession();
        }
      }
    }
    console.log(
      `API fuzzer: ${operations.length} routes, ${counts.requests} requests (${counts.rejected} rejected with 4xx, ${counts.accepted} accepted), seed ${SEED}`,
    );
    expect(failures).toEqual([]);
    // The instrument works: the accepted requests' writes were counted.
    expect(Number(await digest())).toBeGreaterThan(0);
    // About 3,600 requests, each between two digests of the database: 20-40 s alone, past a minute on
    // two cores shared with the browser tests.
  }, 240_000);

  it("refuses text PostgreSQL cannot hold (a NUL) in any path, query value or body string, with a 400 that changes nothing", async () => {
    await ensureSession();
    const failures: string[] = [];
    let sent = 0;
    const withNul = (text: string, at: number) => {
      const i = at % (text.length + 1);
      return `${text.slice(0, i)}\u0000${text.slice(i)}`;
    };
    /** The value with one of its strings (or a new field, when it has none) carrying a NUL. */
    const poison = (value: unknown, pick: number, at: number): unknown => {
      const copy = structuredClone(value);
      const strings = leavesOf(copy).filter((l) => typeof l.value === "string");
      const leaf = strings[pick % Math.max(1, strings.length)];
      if (leaf) {
        leaf.set(withNul(leaf.value as string, at));
        return copy;
      }
      return copy && typeof copy === "object" && !Array.isArray(copy)
        ? { ...copy, note: withNul("x", at) }
        : { note: withNul("", 0) };
    };
    for (const [template, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const params = op.parameters ?? [];
        const pathParams = params.filter((p) => p.in === "path");
        const queryParams = params.filter((p) => p.in === "query");
        const bodySchema = op.requestBody?.content["application/json"]?.schema;
        const realPath = pathParams.reduce(
          (path, p) =>
            path.replace(
              `{${p.name}}`,
              ids[Object.keys(ids).find((k) => p.name.toLowerCase().startsWith(k)) ?? ""]?.[0] ??
                randomUUID(),
            ),
          template,
        );
        const places = [
          ...(pathParams.length ? (["path"] as const) : []),
          ...(queryParams.length ? (["query"] as const) : []),
          ...(bodySchema ? (["body"] as const) : []),
        ];
        if (places.length === 0) continue;
        const where = fc.sample(
          fc.record({
            into: fc.constantFrom(...places),
            pick: fc.nat(),
            at: fc.nat(),
            text: fc.string({ maxLength: 12 }),
          }),
          { numRuns: 4, seed: SEED + template.length },
        );
        for (const w of where) {
          let path = realPath;
          let body: string | undefined;
          if (w.into === "path") {
            const p = pathParams[w.pick % pathParams.length];
            if (!p) continue;
            path = template.replace(`{${p.name}}`, encodeURIComponent(withNul(w.text, w.at)));
            path = pathParams.reduce((x, q) => x.replace(`{${q.name}}`, randomUUID()), path);
          } else if (w.into === "query") {
            const p = queryParams[w.pick % queryParams.length];
            if (!p) continue;
            path = `${realPath}?${new URLSearchParams({ [p.name]: withNul(w.text, w.at) })}`;
          } else if (bodySchema) {
            const [valid] = fc.sample(arbitraryOf(bodySchema, resolveRef), {
              numRuns: 1,
              seed: SEED + w.pick,
            });
            body = JSON.stringify(poison(valid, w.pick, w.at));
          }
          const before = await digest();
          const res = await send(method, { path, body, headers: {} });
          sent++;
          const label = `${method.toUpperCase()} ${path.slice(0, 120)} body=${(body ?? "").slice(0, 80)}`;
          const problem = (() => {
            try {
              return JSON.parse(res.text) as { type?: string };
            } catch {
              return {};
            }
          })();
          if (res.status !== 400 || !problem.type?.endsWith("/validation-failed"))
            failures.push(`${res.status} ${problem.type ?? ""} ${label}: ${res.text.slice(0, 160)}`);
          const writes = (await writesSince(before)).filter((x) => x !== "INSERT login_attempts");
          if (writes.length) failures.push(`wrote ${writes.join(", ")}: ${label}`);
        }
      }
    }
    expect(sent).toBeGreaterThan(60);
    expect(failures).toEqual([]);
  });

  /**
   * Values a schema's pattern lets through but PostgreSQL cannot hold: a year 0 (ISO's pattern takes
   * "0000", PostgreSQL has no year 0), numbers past bigint or float8. Put into each query value and
   * into the dates and numbers of a valid body, one at a time: never a 5xx, and a refusal changes nothing.
   */
  it("refuses values past what PostgreSQL holds (a year 0, a number past bigint) without a 5xx or a write", async () => {
    await ensureSession();
    const EDGE_TEXT = [
      "0000-01-01T00:00:00Z",
      "0000-12-31T23:59:59.999+14:00",
      "9999999999999999999",
      "-9223372036854775809",
      "99999999999999999999999999",
      "1e309",
    ];
    const EDGE_NUMBERS = [1e308, -1e308, 2 ** 63, Number.MAX_SAFE_INTEGER];
    const ISO = /^\d{4}-\d{2}-\d{2}T/;
    /** The value with its `pick`-th date or number leaf set to an edge value; undefined when it has none. */
    const atEdge = (value: unknown, pick: number, edge: number): unknown => {
      const copy = structuredClone(value);
      const edges = leavesOf(copy).filter(
        (l) => typeof l.value === "number" || (typeof l.value === "string" && ISO.test(l.value)),
      );
      const leaf = edges[pick % Math.max(1, edges.length)];
      if (!leaf) return undefined;
      leaf.set(
        typeof leaf.value === "string" ? EDGE_TEXT[edge % 2] : EDGE_NUMBERS[edge % EDGE_NUMBERS.length],
      );
      return copy;
    };
    const failures: string[] = [];
    let sent = 0;
    for (const [template, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const params = op.parameters ?? [];
        const queryParams = params.filter((p) => p.in === "query");
        const bodySchema = op.requestBody?.content["application/json"]?.schema;
        const realPath = params
          .filter((p) => p.in === "path")
          .reduce(
            (path, p) =>
              path.replace(
                `{${p.name}}`,
                ids[Object.keys(ids).find((k) => p.name.toLowerCase().startsWith(k)) ?? ""]?.[0] ??
                  randomUUID(),
              ),
            template,
          );
        const requests: { path: string; body?: string }[] = [];
        for (const p of queryParams)
          for (const edge of EDGE_TEXT)
            requests.push({ path: `${realPath}?${new URLSearchParams({ [p.name]: edge })}` });
        if (bodySchema)
          for (const w of fc.sample(fc.record({ pick: fc.nat(), edge: fc.nat() }), {
            numRuns: 6,
            seed: SEED + template.length + method.length,
          })) {
            const [valid] = fc.sample(arbitraryOf(bodySchema, resolveRef), {
              numRuns: 1,
              seed: SEED + w.pick,
            });
            const edged = atEdge(valid, w.pick, w.edge);
            if (edged !== undefined) requests.push({ path: realPath, body: JSON.stringify(edged) });
          }
        for (const r of requests) {
          const before = await digest();
          const res = await send(method, { path: r.path, body: r.body, headers: {} });
          sent++;
          const label = `${method.toUpperCase()} ${r.path.slice(0, 120)} body=${(r.body ?? "").slice(0, 100)}`;
          if (res.status >= 500) failures.push(`${res.status} ${label}: ${res.text.slice(0, 160)}`);
          if (res.status >= 400) {
            const allowed = WRITES_ON_REJECTION[`${method.toUpperCase()} ${template}`] ?? [];
            const writes = (await writesSince(before)).filter(
              (x) => x !== "INSERT login_attempts" && !allowed.includes(x),
            );
            if (writes.length) failures.push(`${res.status} wrote ${writes.join(", ")}: ${label}`);
          } else await ensureSession();
        }
      }
    }
    expect(sent).toBeGreaterThan(100);
    expect(failures).toEqual([]);
  }, 240_000);

  it("stores injection text verbatim and returns it verbatim as JSON data", async () => {
    await ensureSession();
    for (const text of INJECTION_STRINGS) {
      const created = await admin.post("/api/v1/departments", { name: text, parentId: org.departments.a });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.headers.get("content-type")).toContain("application/json");
      expect(created.body.name).toBe(text);
      const row = await h.db.pool.query<{ name: string }>("SELECT name FROM departments WHERE id = $1", [
        created.body.id,
      ]);
      expect(row.rows[0]?.name).toBe(text);
      const listed = await admin.get("/api/v1/departments");
      const items = (Array.isArray(listed.body) ? listed.body : listed.body.items) as { name: string }[];
      expect(items.map((d) => d.name)).toContain(text);
    }
    // The tables the injection text named are all still there and untouched.
    const t = await h.db.pool.query("SELECT count(*)::int AS n FROM positions");
    expect(t.rows[0]?.n).toBeGreaterThan(0);
  });
});

describe("HTTP limits on a real server", () => {
  it("refuses an oversized body with 413 before parsing it", async () => {
    const api = await startApiServer({ ...h.deps, port: 0, host: "127.0.0.1", live: false, alerting: false });
    try {
      const huge = JSON.stringify({ email: "a@example.org", password: "x".repeat(5 * 1024 * 1024) });
      const res = await fetch(`${api.url}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: "http://localhost:3000" },
        body: huge,
      });
      expect(res.status).toBe(413);
      expect(res.headers.get("content-type")).toContain("application/problem+json");
    } finally {
      await api.close();
    }
  });

  it("disconnects a client that sends its headers too slowly (slow loris)", async () => {
    const api = await startApiServer({
      ...h.deps,
      port: 0,
      host: "127.0.0.1",
      live: false,
      alerting: false,
      http: { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, checkIntervalMs: 250 },
    });
    try {
      const port = Number(new URL(api.url).port);
      const socket = connect(port, "127.0.0.1");
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      let received = "";
      socket.on("data", (b) => {
        received += b.toString();
      });
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      socket.write("GET /api/v1/auth/me HTTP/1.1\r\nHost: x\r\n");
      // One more header line now and then, never the blank line that ends the headers.
      let n = 0;
      const drip = setInterval(() => {
        if (!socket.destroyed) socket.write(`X-Drip-${n++}: ${"a".repeat(10)}\r\n`);
      }, 300);
      await closed;
      clearInterval(drip);
      // The server gave up on the request (408 Request Timeout) and closed the connection.
      expect(received).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await api.close();
    }
  });
});
