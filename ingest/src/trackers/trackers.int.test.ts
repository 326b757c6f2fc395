/**
 * Existing trackers through the same pipeline: OwnTracks over MQTT and the
 * OsmAnd protocol over HTTP, with the payloads those projects document; and
 * the operations endpoints on the same HTTP port.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIngest, type Ingest } from "../ingest";
import { makeDevice, makeOrganisation } from "../testing/fixtures";
import { count, eventually, type Harness, ingestConnection, startHarness } from "../testing/harness";

let h: Harness;
let ingest: Ingest;
let base: string;

beforeAll(async () => {
  h = await startHarness();
  ingest = createIngest({
    ...ingestConnection(h),
    config: {
      INGEST_CLIENT_ID: "ingest-trackers",
      INGEST_HTTP_PORT: 0,
      INGEST_HTTP_HOST: "127.0.0.1",
      INGEST_HTTP_REFUSALS_PER_MINUTE: 1_000,
    },
    http: true,
    metricsAddress: { port: 0, host: "127.0.0.1" },
  });
  await ingest.start();
  base = `http://127.0.0.1:${ingest.httpPort}`;
});

afterAll(async () => {
  await ingest?.stop();
  await h?.close();
});

const nowS = () => Math.floor(Date.now() / 1000);

describe("OsmAnd over HTTP", () => {
  it("takes a GET with a query string (speed in knots) and answers after commit", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org, { protocol: "osmand" });
    const ts = nowS() - 60;
    const res = await fetch(
      `${base}/?id=${dev.osmandId}&timestamp=${ts}&lat=59.9139&lon=10.7522&speed=10&bearing=90&altitude=40&accuracy=5&batt=66`,
    );
    expect(res.status).toBe(200);
    const r = await h.db.pool.query(
      "SELECT lat, lon, speed_mps, heading_deg, battery_percent, time FROM positions WHERE device_id = $1",
      [dev.id],
    );
    expect(r.rows).toHaveLength(1);
    expect(r.rows[0]).toMatchObject({ lat: 59.9139, lon: 10.7522, heading_deg: 90, battery_percent: 66 });
    expect(r.rows[0].speed_mps).toBeCloseTo(5.144, 2);
    expect(r.rows[0].time.getTime()).toBe(ts * 1000);
  });

  it("takes a form POST and Traccar Client's JSON body", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org, { protocol: "osmand" });
    const form = await fetch(`${base}/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `id=${dev.osmandId}&timestamp=${nowS() - 30}&lat=60.39&lon=5.32`,
    });
    expect(form.status).toBe(200);
    const json = await fetch(`${base}/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        device_id: dev.osmandId,
        location: {
          timestamp: new Date(Date.now() - 10_000).toISOString(),
          coords: { latitude: 63.43, longitude: 10.39, accuracy: 12, speed: 1.5, heading: 180, altitude: 20 },
          is_moving: true,
          odometer: 0,
          event: "motionchange",
          battery: { level: 0.42, is_charging: true },
          activity: { type: "walking" },
        },
      }),
    });
    expect(json.status).toBe(200);
    expect(await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [dev.id])).toBe(2);
    const d = await h.db.pool.query("SELECT battery_percent, charging, online FROM devices WHERE id = $1", [
      dev.id,
    ]);
    expect(d.rows[0]).toEqual({ battery_percent: 42, charging: true, online: true });
  });

  it("answers 401 for an unknown device, 400 for a malformed request, and keeps a dead letter", async () => {
    const unknown = Date.now();
    expect(
      (await fetch(`${base}/?id=nobody&lat=1&lon=1&timestamp=${nowS()}&altitude=${unknown}`)).status,
    ).toBe(401);
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org, { protocol: "osmand" });
    expect((await fetch(`${base}/?id=${dev.osmandId}&lat=200&lon=1`)).status).toBe(400);
    const r = await h.db.pool.query(
      "SELECT reason, transport, detail FROM dead_letters WHERE payload_excerpt LIKE $1 OR device_id = $2 ORDER BY id",
      [`%altitude=${unknown}%`, dev.id],
    );
    expect(r.rows).toEqual([
      {
        reason: "unknown_device",
        transport: "http",
        detail: "id: no active OsmAnd device has this identifier",
      },
      { reason: "invalid_message", transport: "http", detail: expect.stringMatching(/^lat: /) },
    ]);
  });
});

describe("OwnTracks over MQTT", () => {
  it("maps location, transition and last will into positions and the device's online state", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org);
    const sim = await h.connectSim({ protocolVersion: 4 });
    const topic = `owntracks/anna/${dev.serial}`;
    const tst = nowS() - 120;
    // As documented in the OwnTracks booklet (JSON, _type location).
    const location = {
      _type: "location",
      acc: 15,
      alt: 40,
      batt: 84,
      bs: 1,
      conn: "w",
      created_at: tst,
      lat: 59.9139,
      lon: 10.7522,
      t: "u",
      tid: "an",
      tst,
      vac: 0,
      vel: 18,
      cog: 270,
    };
    await sim.publishAsync(topic, JSON.stringify(location), { qos: 1 });
    const transition = {
      _type: "transition",
      wtst: tst - 1_000,
      lat: 59.914,
      lon: 10.753,
      tst: tst + 10,
      acc: 10,
      tid: "an",
      event: "leave",
      desc: "Home",
      t: "c",
    };
    await sim.publishAsync(topic, JSON.stringify(transition), { qos: 1 });
    const rows = await eventually(async () => {
      const r = await h.db.pool.query(
        "SELECT message_id, speed_mps, battery_percent FROM positions WHERE device_id = $1 ORDER BY time",
        [dev.id],
      );
      return r.rows.length === 2 ? r.rows : undefined;
    }, "two positions");
    expect(rows[0].message_id).toBe(`ot-location-${tst}`);
    expect(rows[0].speed_mps).toBeCloseTo(5, 3);
    expect(rows[0].battery_percent).toBe(84);
    await eventually(async () => {
      const r = await h.db.pool.query("SELECT online FROM devices WHERE id = $1", [dev.id]);
      return r.rows[0]?.online === true ? true : undefined;
    }, "online");

    await sim.publishAsync(topic, JSON.stringify({ _type: "lwt", tst: nowS() }), { qos: 1 });
    await eventually(async () => {
      const r = await h.db.pool.query("SELECT online FROM devices WHERE id = $1", [dev.id]);
      return r.rows[0]?.online === false ? true : undefined;
    }, "offline after the last will");
    await sim.endAsync();
  });
});

describe("operations", () => {
  it("reports health on the ingest HTTP port, and Prometheus metrics only on the metrics address", async () => {
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", mqtt: true });
    // The OsmAnd port is public (phones): no metrics there.
    const onPublic = await fetch(`${base}/metrics`);
    expect(onPublic.status).not.toBe(200);
    expect(await onPublic.text()).not.toContain("vakt_ingest_");
    expect(ingest.metricsPort).toBeDefined();
    expect(ingest.metricsPort).not.toBe(ingest.httpPort);
    const metrics = await (await fetch(`http://127.0.0.1:${ingest.metricsPort}/metrics`)).text();
    for (const name of [
      "vakt_ingest_messages_total",
      "vakt_ingest_dead_letters_total",
      "vakt_ingest_batch_rows",
      "vakt_ingest_commit_seconds",
      "vakt_ingest_pending_messages",
      "vakt_ingest_lag_seconds",
    ]) {
      expect(metrics).toContain(name);
    }
    expect(metrics).toMatch(/vakt_ingest_messages_total\{transport="http",kind="osmand"\} [1-9]/);
  });
});
