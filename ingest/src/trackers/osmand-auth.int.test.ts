/**
 * Nobody may speak for a device over OsmAnd: a request is stored only for the
 * device whose issued identifier it carries. Forgeries (serials, other
 * devices' identifiers, near misses of the right one, an MQTT device's
 * credentials, every way of sending them) are refused, all alike, with a dead
 * letter that never holds the identifier; refusals are rate-limited per
 * address. Requests are sent by curl, each forgery from its own loopback
 * address so the rate limit does not hide what the authentication does.
 */
import { execFile } from "node:child_process";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ingest } from "../ingest";
import { makeDevice, makeOrganisation, type TestDevice } from "../testing/fixtures";
import { count, type Harness, startHarness, startHttpIngest } from "../testing/harness";

const REFUSALS_PER_MINUTE = 5;

let h: Harness;
let ingest: Ingest;
let base: string;
let victim: TestDevice;
let attacker: TestDevice;
let mqttDevice: TestDevice;

beforeAll(async () => {
  h = await startHarness();
  ({ ingest, base } = await startHttpIngest(
    h,
    "ingest-osmand-auth",
    { INGEST_HTTP_REFUSALS_PER_MINUTE: REFUSALS_PER_MINUTE },
    { supervise: false },
  ));
  const org = await makeOrganisation(h.db.pool);
  victim = await makeDevice(h.db.pool, org, { protocol: "osmand" });
  attacker = await makeDevice(h.db.pool, org, { protocol: "osmand" });
  mqttDevice = await makeDevice(h.db.pool, org, { protocol: "mqtt" });
});

afterAll(async () => {
  await ingest?.stop();
  await h?.close();
});

let nextAddress = 0;
/** A loopback source address of its own (127.1.x.y), so each case has its own rate-limit budget. */
const freshAddress = () => {
  const i = nextAddress++;
  return `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
};

interface Sent {
  status: number;
  body: string;
}

/** One request by curl: `query` after `/?`, optional body with its content type. */
function curl(
  req: { method?: "GET" | "POST"; query?: string; body?: string; type?: string },
  from = freshAddress(),
): Promise<Sent> {
  const args = ["-s", "--interface", from, "-w", "\n%{http_code}", "-X", req.method ?? "GET"];
  if (req.body !== undefined) {
    args.push(
      "-H",
      `content-type: ${req.type ?? "application/x-www-form-urlencoded"}`,
      "--data-binary",
      req.body,
    );
  }
  args.push(`${base}/${req.query ? `?${req.query}` : ""}`);
  return new Promise((resolve, reject) =>
    execFile("curl", args, (err, stdout) => {
      if (err) return reject(err);
      const at = stdout.lastIndexOf("\n");
      resolve({ status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) });
    }),
  );
}

const nowS = () => Math.floor(Date.now() / 1000);
const positionsOf = (d: TestDevice) =>
  count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [d.id]);
const enc = encodeURIComponent;

const swapCase = (s: string, at: number[]) =>
  [...s]
    .map((ch, i) => (at.includes(i) ? (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase()) : ch))
    .join("");

/** Every identifier an attacker might present for the victim (or the MQTT device). */
function forgedIdentifiers(): fc.Arbitrary<string> {
  const secret = victim.osmandId as string;
  const suffixChars = fc.string({
    minLength: 1,
    maxLength: 4,
    unit: fc.constantFrom("A", "z", "0", "-", "_", " ", "=", "%00"),
  });
  return fc.oneof(
    fc.constant(victim.serial),
    fc.constant(mqttDevice.serial),
    fc.constant(mqttDevice.secret),
    fc.constant(victim.serial.toUpperCase()),
    fc.integer({ min: 0, max: secret.length - 1 }).map((n) => secret.slice(0, n)),
    fc.integer({ min: 1, max: secret.length - 1 }).map((n) => secret.slice(n)),
    suffixChars.map((x) => secret + x),
    suffixChars.map((x) => x + secret),
    fc
      .uniqueArray(fc.integer({ min: 0, max: secret.length - 1 }), { minLength: 1, maxLength: 5 })
      .map((at) => swapCase(secret, at))
      .filter((s) => s !== secret),
    fc.constant(secret.toUpperCase()),
    fc.constant(secret.toLowerCase()),
    fc.constant(` ${secret}`),
    fc.constant(`${secret}\n`),
    fc.string({ minLength: 43, maxLength: 43, unit: fc.constantFrom(..."0123456789abcdef") }),
    fc.string({ minLength: 43, maxLength: 43, unit: fc.constantFrom(..."ABCxyz019-_") }),
  );
}

const fields = (extra = "") => `timestamp=${nowS() - 30}&lat=59.91&lon=10.75${extra}`;

/** The ways a request may carry an identifier; `other` is a second identifier mixed in somewhere. */
type Shape = (id: string, other: string) => Parameters<typeof curl>[0];
const shapes: Record<string, Shape> = {
  "GET id": (id) => ({ query: `id=${enc(id)}&${fields()}` }),
  "GET deviceid": (id) => ({ query: `deviceid=${enc(id)}&${fields()}` }),
  "GET location=lat,lon": (id) => ({ query: `id=${enc(id)}&timestamp=${nowS() - 30}&location=59.91,10.75` }),
  "form POST": (id) => ({ method: "POST", body: `id=${enc(id)}&${fields()}` }),
  "JSON POST": (id) => ({
    method: "POST",
    type: "application/json",
    body: JSON.stringify({
      device_id: id,
      location: {
        timestamp: new Date(Date.now() - 30_000).toISOString(),
        coords: { latitude: 59.91, longitude: 10.75 },
      },
    }),
  }),
  "query id + form id": (id, other) => ({
    method: "POST",
    query: `id=${enc(other)}`,
    body: `id=${enc(id)}&${fields()}`,
  }),
  "form id + query id": (id, other) => ({
    method: "POST",
    query: `id=${enc(id)}`,
    body: `id=${enc(other)}&${fields()}`,
  }),
  "id + deviceid": (id, other) => ({ query: `id=${enc(other)}&deviceid=${enc(id)}&${fields()}` }),
  "id twice": (id, other) => ({ query: `id=${enc(other)}&id=${enc(id)}&${fields()}` }),
  "query id + JSON device_id": (id, other) => ({
    method: "POST",
    type: "application/json",
    query: `id=${enc(other)}`,
    body: JSON.stringify({
      device_id: id,
      location: { timestamp: new Date().toISOString(), coords: { latitude: 1, longitude: 1 } },
    }),
  }),
  "JSON body sent as a form": (id) => ({
    method: "POST",
    body: JSON.stringify({ device_id: id, location: { coords: { latitude: 1, longitude: 1 } } }),
  }),
  "form body sent as JSON": (id) => ({
    method: "POST",
    type: "application/json",
    body: `id=${enc(id)}&${fields()}`,
  }),
};

describe("OsmAnd authentication", () => {
  it("stores a position sent with the device's own identifier, every way the app sends it", async () => {
    const dev = await makeDevice(h.db.pool, await makeOrganisation(h.db.pool), { protocol: "osmand" });
    const id = dev.osmandId as string;
    const t = nowS() - 300;
    const sent = [
      await curl({ query: `id=${enc(id)}&timestamp=${t}&lat=59.91&lon=10.75&batt=50` }),
      await curl({ query: `deviceid=${enc(id)}&timestamp=${t + 1}&lat=59.91&lon=10.75` }),
      await curl({ query: `id=${enc(id)}&timestamp=${t + 2}&location=59.91,10.75` }),
      await curl({ method: "POST", body: `id=${enc(id)}&timestamp=${t + 3}&lat=59.91&lon=10.75` }),
      await curl({
        method: "POST",
        query: `id=${enc(id)}`,
        body: `deviceid=${enc(id)}&timestamp=${t + 4}&lat=1&lon=1`,
      }),
      await curl({
        method: "POST",
        type: "application/json",
        body: JSON.stringify({
          device_id: id,
          location: {
            timestamp: new Date((t + 5) * 1000).toISOString(),
            coords: { latitude: 59.91, longitude: 10.75 },
          },
        }),
      }),
    ];
    expect(sent.map((s) => s.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(await positionsOf(dev)).toBe(6);
    // The identifier is a credential: the raw log keeps the request without it.
    expect(
      await count(
        h.db.pool,
        "SELECT count(*) n FROM device_messages WHERE device_id = $1 AND payload_text LIKE $2",
        [dev.id, `%${id.slice(0, 20)}%`],
      ),
    ).toBe(0);
    expect(
      await count(h.db.pool, "SELECT count(*) n FROM device_messages WHERE device_id = $1", [dev.id]),
    ).toBe(6);
  });

  it("answers a serial, a wrong identifier, an MQTT device and an unknown device alike (401, a dead letter)", async () => {
    const wrong = [
      victim.serial,
      mqttDevice.serial,
      mqttDevice.secret,
      `${victim.osmandId}x`,
      "no-such-device",
    ];
    const answers = await Promise.all(wrong.map((id) => curl({ query: `id=${enc(id)}&${fields()}` })));
    expect(answers).toEqual(wrong.map(() => ({ status: 401, body: "Unauthorized" })));
    const r = await h.db.pool.query(
      "SELECT reason, detail, device_id FROM dead_letters WHERE topic = 'osmand' AND payload_excerpt LIKE '%lat=59.91%' ORDER BY id DESC LIMIT 5",
    );
    expect(r.rows).toHaveLength(5);
    for (const row of r.rows) {
      expect(row).toEqual({
        reason: "unknown_device",
        detail: "id: no active OsmAnd device has this identifier",
        device_id: null,
      });
    }
  });

  it("refuses every forgery for another device, every way it can be sent", async () => {
    const before = await count(
      h.db.pool,
      "SELECT count(*) n FROM positions WHERE device_id = ANY($1::uuid[])",
      [[victim.id, mqttDevice.id, attacker.id]],
    );
    expect(before).toBe(0);
    const seenStatuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(
        forgedIdentifiers(),
        fc.constantFrom(...Object.keys(shapes)),
        fc.constantFrom(victim.serial, attacker.osmandId as string, mqttDevice.serial),
        async (forged, shapeName, other) => {
          const shape = shapes[shapeName] as Shape;
          const sent = await curl(shape(forged, other));
          seenStatuses.add(sent.status);
          expect([400, 401]).toContain(sent.status);
        },
      ),
      { numRuns: 150 },
    );
    // The attacker's own identifier mixed with the victim's serial or another identifier.
    for (const name of [
      "query id + form id",
      "form id + query id",
      "id + deviceid",
      "id twice",
      "query id + JSON device_id",
    ]) {
      const shape = shapes[name] as Shape;
      for (const other of [victim.serial, victim.osmandId as string]) {
        const sent = await curl(shape(attacker.osmandId as string, other));
        expect(sent.status, name).toBe(400);
      }
    }
    expect(
      await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = ANY($1::uuid[])", [
        [victim.id, mqttDevice.id, attacker.id],
      ]),
    ).toBe(0);
    expect(seenStatuses.has(401)).toBe(true);
    // No dead letter keeps anything of the victim's identifier.
    expect(
      await count(h.db.pool, "SELECT count(*) n FROM dead_letters WHERE payload_excerpt LIKE $1", [
        `%${(victim.osmandId as string).slice(8, 28)}%`,
      ]),
    ).toBe(0);

    // And the right identifier, still: stored for the victim only.
    const ok = await curl({ query: `id=${enc(victim.osmandId as string)}&${fields()}` });
    expect(ok.status).toBe(200);
    expect(await positionsOf(victim)).toBe(1);
  });

  it("answers 429 to an address after too many refusals, without looking at what it sends", async () => {
    const from = freshAddress();
    for (let i = 0; i < REFUSALS_PER_MINUTE; i++) {
      expect((await curl({ query: `id=${enc(victim.serial)}&${fields()}` }, from)).status).toBe(401);
    }
    const limited = await curl({ query: `id=${enc(victim.serial)}&${fields()}` }, from);
    expect(limited.status).toBe(429);
    // Even the right identifier waits from that address; another address is unaffected.
    expect((await curl({ query: `id=${enc(attacker.osmandId as string)}&${fields()}` }, from)).status).toBe(
      429,
    );
    expect((await curl({ query: `id=${enc(attacker.osmandId as string)}&${fields()}` })).status).toBe(200);
  });
});
