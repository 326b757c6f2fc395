/**
 * A message that kills ingest each time it is handled: the real process (a child, restarted each
 * time it dies, as a service manager would) dies on it until the broker has redelivered it
 * INGEST_MAX_REDELIVERIES times, the last time handled alone; then it is one dead letter
 * `redelivery_limit` and ingest stays up, storing what comes before and after it. The message sent
 * just before it (committed, its PUBACK perhaps not yet written when ingest died, so redelivered
 * beside the poison each time) is stored once and never blamed. Through Mosquitto, which marks redeliveries (DUP), and
 * through the embedded aedes, which is made to (broker/embedded.ts).
 */
import { fileURLToPath } from "node:url";
import { uplinkTopic } from "@vakt/schemas";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IngestChild, spawnIngest } from "./testing/child";
import { makeDevice, makeOrganisation } from "./testing/fixtures";
import {
  type AedesHarness,
  count,
  eventually,
  type Harness,
  startAedesHarness,
  startHarness,
} from "./testing/harness";

const CRASH_HOOK = fileURLToPath(new URL("./testing/crash-on-marker.mjs", import.meta.url));
const MARKER = "kill-ingest-while-handling-this";
const MAX_REDELIVERIES = 2;

describe.each([
  ["Mosquitto", startHarness, "5"],
  ["aedes", startAedesHarness, "4"],
] as const)("a message that crashes ingest, through %s", (_name, start, protocolVersion) => {
  let h: Harness | AedesHarness;
  let sim: MqttClient;
  let child: IngestChild | undefined;

  beforeAll(async () => {
    h = await start();
    sim = await h.connectSim();
  });
  afterAll(async () => {
    child?.process.kill("SIGKILL");
    await h?.close();
  });

  it("comes back at most INGEST_MAX_REDELIVERIES times, then is a dead letter and ingest stays up", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org);
    const env = {
      DATABASE_URL: h.db.url,
      MQTT_URL: h.broker.url,
      MQTT_USERNAME: h.ingestAccount.username,
      MQTT_PASSWORD: h.ingestAccount.password,
      INGEST_CLIENT_ID: "redelivery-limit",
      // aedes has no $share: one ingest subscribes directly there.
      ...(protocolVersion === "5" ? { INGEST_SHARE_GROUP: "redelivery-limit" } : {}),
      MQTT_PROTOCOL_VERSION: protocolVersion,
      INGEST_MAX_REDELIVERIES: String(MAX_REDELIVERIES),
      NODE_OPTIONS: `--import ${CRASH_HOOK}`,
      VAKT_TEST_CRASH_MARKER: MARKER,
    };
    const base = Date.now() - 600_000;
    const position = (n: number, extra: Record<string, unknown> = {}) =>
      sim.publishAsync(
        uplinkTopic(dev.serial, "position"),
        JSON.stringify({ v: 1, id: `p${n}`, fix: { t: base + n * 1_000, lat: 59, lon: 10 }, ...extra }),
        { qos: 1 },
      );
    const stored = () => count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [dev.id]);

    child = await spawnIngest(env);
    await position(0);
    await eventually(async () => ((await stored()) === 1 ? true : undefined), "the first position");

    // The poison: valid in every way but the marker the preload dies on, right behind ten innocent
    // positions, which are in flight beside it (not yet committed, or not yet acknowledged) each time.
    const innocents = Array.from({ length: 10 }, (_, i) => 10 + i);
    await Promise.all([...innocents.map((n) => position(n)), position(1, { note: MARKER })]);
    // A restarted process may die on the redelivery before it is even healthy.
    const restart = () =>
      spawnIngest(env).catch((err: unknown) => {
        if (String(err).includes("exited early")) return undefined;
        throw err;
      });
    const kept = () =>
      eventually(
        async () =>
          (await count(h.db.pool, "SELECT count(*) n FROM dead_letters WHERE device_id = $1", [dev.id])) > 0
            ? true
            : undefined,
        "the dead letter",
        60_000,
      );
    let crashes = 0;
    let running: IngestChild | undefined = child;
    for (;;) {
      if (running) {
        const outcome = await Promise.race([
          running.exited.then(() => "died" as const),
          kept().then(() => "kept" as const),
        ]);
        if (outcome === "kept") break;
      }
      crashes++;
      expect(crashes).toBeLessThanOrEqual(MAX_REDELIVERIES + 1);
      running = await restart();
    }
    child = running;
    // The first delivery and each counted redelivery up to the limit killed it; the next was kept.
    expect(crashes).toBe(MAX_REDELIVERIES + 1);
    const letters = await h.db.pool.query(
      "SELECT reason, detail, convert_from(payload, 'UTF8') AS payload FROM dead_letters WHERE device_id = $1",
      [dev.id],
    );
    expect(letters.rows).toEqual([
      {
        reason: "redelivery_limit",
        detail: `delivered ${MAX_REDELIVERIES + 1} times without being stored (limit ${MAX_REDELIVERIES}); ingest died handling it alone`,
        payload: expect.stringContaining(MARKER),
      },
    ]);

    // Ingest stays up and stores what follows.
    await position(2);
    await eventually(async () => ((await stored()) === 12 ? true : undefined), "the position after");
    const ids = await h.db.pool.query("SELECT message_id FROM positions WHERE device_id = $1 ORDER BY time", [
      dev.id,
    ]);
    expect(ids.rows.map((r: { message_id: string }) => r.message_id)).toEqual([
      "p0",
      "p2",
      ...innocents.map((n) => `p${n}`),
    ]);
    expect(running.process.exitCode).toBeNull();
    running.process.kill("SIGTERM");
    expect(await running.exited).toBe(0);
    child = undefined;
  }, 180_000);
});
