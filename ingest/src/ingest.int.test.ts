/**
 * End to end through a real Mosquitto (shipped config) into a real
 * PostgreSQL: positions, status, alarms, dead letters, idempotent redelivery.
 */
import {
  ackMessage,
  alarmOutcome,
  downlinkTopic,
  EVENTS_CHANNEL,
  platformEvent,
  uplinkTopic,
} from "@vakt/schemas";
import type { MqttClient } from "mqtt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIngest, type Ingest } from "./ingest";
import { makeDevice, makeOrganisation } from "./testing/fixtures";
import { count, eventually, type Harness, ingestConnection, listen, startHarness } from "./testing/harness";

let h: Harness;
let ingest: Ingest;
let sim: MqttClient;

beforeAll(async () => {
  h = await startHarness();
  ingest = createIngest({
    ...ingestConnection(h),
    config: { INGEST_CLIENT_ID: "ingest-int", INGEST_BATCH_MAX_WAIT_MS: 20, INGEST_MAX_PAYLOAD_BYTES: 4_096 },
    http: false,
  });
  await ingest.start();
  sim = await h.connectSim();
});

afterAll(async () => {
  await ingest?.stop();
  await h?.close();
});

const now = () => Date.now();
const publish = (topic: string, body: unknown) =>
  sim.publishAsync(topic, typeof body === "string" ? body : JSON.stringify(body), { qos: 1 });

describe("positions and status", () => {
  it("stores single fixes and batches once each, logs every uplink, and updates the device", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org, { recipient: true });
    const t0 = now() - 60_000;
    await publish(uplinkTopic(dev.serial, "position"), {
      v: 1,
      id: "p1",
      fix: { t: t0, lat: 59.9, lon: 10.7 },
    });
    const fixes = [1, 2, 3].map((i) => ({
      t: t0 + i * 1_000,
      lat: 59.9 + i / 1000,
      lon: 10.7,
      batteryPct: 80 - i,
    }));
    await publish(uplinkTopic(dev.serial, "position"), { v: 1, id: "p2", fixes });
    await publish(uplinkTopic(dev.serial, "status"), {
      v: 1,
      id: "s1",
      t: t0 + 5_000,
      batteryPct: 55,
      charging: false,
    });

    await eventually(async () => {
      const n = await count(h.db.pool, "SELECT count(*) n FROM device_messages WHERE device_id = $1", [
        dev.id,
      ]);
      return n === 3 ? n : undefined;
    }, "three logged uplinks");
    const positions = await h.db.pool.query(
      "SELECT message_id, organisation_id, recipient_id, battery_percent FROM positions WHERE device_id = $1 ORDER BY time",
      [dev.id],
    );
    expect(positions.rows.map((r) => r.message_id)).toEqual(["p1", "p2", "p2", "p2"]);
    expect(
      positions.rows.every((r) => r.organisation_id === org.orgId && r.recipient_id === dev.recipientId),
    ).toBe(true);
    expect(
      await count(h.db.pool, "SELECT count(*) n FROM device_status WHERE device_id = $1", [dev.id]),
    ).toBe(1);
    const d = await h.db.pool.query(
      "SELECT online, battery_percent, charging, last_seen_at FROM devices WHERE id = $1",
      [dev.id],
    );
    expect(d.rows[0]).toMatchObject({ online: true, battery_percent: 55, charging: false });
    expect(d.rows[0]?.last_seen_at).toBeInstanceOf(Date);

    // The broker redelivering the same messages (same ids and fixes) changes nothing.
    await publish(uplinkTopic(dev.serial, "position"), { v: 1, id: "p2", fixes });
    await publish(uplinkTopic(dev.serial, "status"), {
      v: 1,
      id: "s1",
      t: t0 + 5_000,
      batteryPct: 55,
      charging: false,
    });
    const marker = { v: 1, id: "p3", fix: { t: t0 + 10_000, lat: 59.95, lon: 10.7 } };
    await publish(uplinkTopic(dev.serial, "position"), marker);
    await eventually(async () => {
      const n = await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [dev.id]);
      return n === 5 ? n : undefined;
    }, "the marker position");
    expect(
      await count(h.db.pool, "SELECT count(*) n FROM device_messages WHERE device_id = $1", [dev.id]),
    ).toBe(4);
    expect(
      await count(h.db.pool, "SELECT count(*) n FROM device_status WHERE device_id = $1", [dev.id]),
    ).toBe(1);
  });

  it("keeps each device's newest fix, and a late batch never moves it back", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org, { recipient: true });
    const t0 = now() - 120_000;
    const latest = async () =>
      (
        await h.db.pool.query<{ time: Date; lat: number; recipient_id: string }>(
          "SELECT time, lat, recipient_id FROM latest_positions WHERE device_id = $1",
          [dev.id],
        )
      ).rows[0];
    await publish(uplinkTopic(dev.serial, "position"), {
      v: 1,
      id: "n1",
      fixes: [
        { t: t0 + 2_000, lat: 59.92, lon: 10.7 },
        { t: t0 + 1_000, lat: 59.91, lon: 10.7 },
      ],
    });
    await eventually(async () => ((await latest())?.lat === 59.92 ? true : undefined), "newest of the batch");
    // A device that was offline uploads what it buffered, older than what is known.
    await publish(uplinkTopic(dev.serial, "position"), {
      v: 1,
      id: "n0",
      fix: { t: t0, lat: 59.9, lon: 10.7 },
    });
    await eventually(async () => {
      const n = await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [dev.id]);
      return n === 3 ? n : undefined;
    }, "the late fix stored");
    const row = await latest();
    expect(row?.lat).toBe(59.92);
    expect(row?.time.getTime()).toBe(t0 + 2_000);
    expect(row?.recipient_id).toBe(dev.recipientId);
  });

  it("files a reassigned device's positions under its new recipient", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org, { recipient: true });
    const t0 = now() - 30_000;
    await publish(uplinkTopic(dev.serial, "position"), { v: 1, id: "r1", fix: { t: t0, lat: 60, lon: 10 } });
    await eventually(
      async () =>
        (await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [dev.id])) ||
        undefined,
      "first position",
    );
    const { makeRecipient } = await import("./testing/fixtures");
    const other = await makeRecipient(h.db.pool, org);
    await h.db.pool.query("UPDATE devices SET recipient_id = $2 WHERE id = $1", [dev.id, other]);
    // The trigger's NOTIFY reaches the directory asynchronously; wait for the cache to drop the serial.
    await eventually(
      () => (ingest.directory.peek(dev.serial) === undefined ? true : undefined),
      "cache eviction",
    );
    await publish(uplinkTopic(dev.serial, "position"), {
      v: 1,
      id: "r2",
      fix: { t: t0 + 1_000, lat: 60, lon: 10 },
    });
    const row = await eventually(async () => {
      const r = await h.db.pool.query(
        "SELECT recipient_id FROM positions WHERE device_id = $1 AND message_id = 'r2'",
        [dev.id],
      );
      return r.rows[0];
    }, "second position");
    expect(row.recipient_id).toBe(other);
  });
});

describe("device alarms", () => {
  it("stores an alarm once, notifies the API in the same transaction, and acknowledges to the device", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org, { recipient: true });
    const events = await listen(h.db.url, EVENTS_CHANNEL);
    const acks: unknown[] = [];
    const ackTexts: string[] = [];
    const watcher = await h.connectSim();
    watcher.on("message", (_t, p) => {
      ackTexts.push(p.toString());
      acks.push(JSON.parse(p.toString()));
    });
    await watcher.subscribeAsync(downlinkTopic(dev.serial, "ack"), { qos: 1 });

    const t = now() - 2_000;
    const alarm = { v: 1, id: "alarm-1", t, type: "sos", fix: { t, lat: 59.1, lon: 10.2, accM: 12 } };
    await publish(uplinkTopic(dev.serial, "alarm"), alarm);
    await eventually(() => (acks.length >= 1 ? true : undefined), "the device's ack");

    const rows = await h.db.pool.query(
      "SELECT id, source, type, severity, state, device_message_id, lat, recipient_id FROM alarms WHERE device_id = $1",
      [dev.id],
    );
    expect(rows.rows).toHaveLength(1);
    const stored = rows.rows[0];
    expect(stored).toMatchObject({
      source: "device",
      type: "sos",
      severity: "critical",
      state: "open",
      device_message_id: "alarm-1",
      lat: 59.1,
      recipient_id: dev.recipientId,
    });
    const transitions = await h.db.pool.query(
      "SELECT kind, to_state FROM alarm_transitions WHERE alarm_id = $1",
      [stored.id],
    );
    expect(transitions.rows).toEqual([{ kind: "raised", to_state: "open" }]);
    const ack = ackMessage.parse(acks[0]);
    expect(ack).toMatchObject({ ackOf: "alarm-1", status: "received", alarmId: stored.id });
    // The transactions log: the alarm as it came, and the ack as the device got it.
    const logged = async () =>
      (
        await h.db.pool.query(
          `SELECT direction, topic, kind, message_id, payload_text FROM device_messages
            WHERE device_id = $1 ORDER BY time`,
          [dev.id],
        )
      ).rows;
    await eventually(async () => ((await logged()).length >= 2 ? true : undefined), "the ack in the log");
    expect(await logged()).toEqual([
      {
        direction: "uplink",
        topic: uplinkTopic(dev.serial, "alarm"),
        kind: "alarm",
        message_id: "alarm-1",
        payload_text: JSON.stringify(alarm),
      },
      {
        direction: "downlink",
        topic: downlinkTopic(dev.serial, "ack"),
        kind: "ack",
        message_id: "alarm-1",
        payload_text: ackTexts[0],
      },
    ]);
    await eventually(() => (events.payloads.length > 0 ? true : undefined), "the NOTIFY");
    const raised = events.payloads
      .map((p) => platformEvent.parse(JSON.parse(p)))
      .filter((e) => e.kind === "alarm.raised");
    expect(raised).toEqual([
      {
        kind: "alarm.raised",
        alarmId: stored.id,
        organisationId: org.orgId,
        departmentId: org.deptId,
        recipientId: dev.recipientId,
        deviceId: dev.id,
      },
    ]);

    // Redelivered: no second alarm, no second event, but the device hears again.
    await publish(uplinkTopic(dev.serial, "alarm"), alarm);
    await eventually(() => (acks.length >= 2 ? true : undefined), "the second ack");
    expect(ackMessage.parse(acks[1]).alarmId).toBe(stored.id);
    expect(await count(h.db.pool, "SELECT count(*) n FROM alarms WHERE device_id = $1", [dev.id])).toBe(1);
    expect(
      await count(h.db.pool, "SELECT count(*) n FROM alarm_transitions WHERE alarm_id = $1", [stored.id]),
    ).toBe(1);
    expect(
      events.payloads
        .map((p) => JSON.parse(p))
        .filter((e) => e.kind === "alarm.raised" && e.alarmId === stored.id),
    ).toHaveLength(1);
    await events.close();
  });

  it("cancels an alarm the wearer cancelled on the device", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org);
    const t = now() - 5_000;
    await publish(uplinkTopic(dev.serial, "alarm"), { v: 1, id: "fall-1", t, type: "fall" });
    await publish(uplinkTopic(dev.serial, "alarm"), {
      v: 1,
      id: "fall-1-x",
      t: t + 1_000,
      type: "fall",
      cancels: "fall-1",
    });
    const state = await eventually(async () => {
      const r = await h.db.pool.query("SELECT state, outcome FROM alarms WHERE device_id = $1", [dev.id]);
      return r.rows[0]?.state === "cancelled" ? r.rows : undefined;
    }, "the cancelled alarm");
    expect(state).toHaveLength(1);
    // One of the API's outcomes (alarmOutcome): any other made the console drop the change.
    expect(alarmOutcome.parse(state[0].outcome)).toBe("false_alarm");
  });
});

describe("bad input", () => {
  it("keeps each rejected message as a dead letter with its reason, counts it, and carries on", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org);
    const t = now() - 1_000;
    const good = { v: 1, id: "good-1", fix: { t, lat: 59.9, lon: 10.7 } };
    await publish(uplinkTopic(dev.serial, "position"), good);
    await eventually(
      async () =>
        (await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [dev.id])) ||
        undefined,
      "the good position",
    );
    const before = await h.db.pool.query("SELECT * FROM positions WHERE device_id = $1", [dev.id]);

    const pos = uplinkTopic(dev.serial, "position");
    const cases: [string, string, unknown][] = [
      ["invalid_json", pos, "{oops"],
      ["invalid_message", pos, { v: 1, id: "x1", fix: { t, lat: "north", lon: 10 } }],
      ["invalid_message", pos, { v: 1, id: "x2", fix: { t, lat: 200, lon: 10 } }],
      ["invalid_message", uplinkTopic(dev.serial, "status"), { v: 1, id: "x3", t, batteryPct: 300 }],
      ["timestamp_in_future", pos, { v: 1, id: "x4", fix: { t: t + 86_400_000, lat: 1, lon: 1 } }],
      ["timestamp_before_2000", pos, { v: 1, id: "x5", fix: { t: 946_684_700_000, lat: 1, lon: 1 } }],
      ["payload_too_large", pos, { v: 1, id: "x6", fix: { t, lat: 1, lon: 1 }, pad: "z".repeat(5_000) }],
      ["unknown_topic", `vakt/v1/d/${dev.serial}/up/diary`, { v: 1 }],
      // Same fix time as the good one, different content: must not overwrite it.
      ["invalid_message", pos, { v: 1, id: "good-1", fix: { t, lat: 95, lon: 10.7 } }],
    ];
    const unknownSerial = `${dev.serial}-gone`;
    for (const [, topic, body] of cases) await publish(topic, body);
    await publish(uplinkTopic(unknownSerial, "position"), good);

    const rows = await eventually(async () => {
      const r = await h.db.pool.query(
        "SELECT reason, device_id, payload_bytes, length(payload_excerpt) AS excerpt FROM dead_letters WHERE topic LIKE $1",
        [`%${dev.serial}%`],
      );
      return r.rows.length === cases.length + 1 ? r.rows : undefined;
    }, "all dead letters");
    const reasons = rows.map((r) => r.reason).sort();
    expect(reasons).toEqual([...cases.map((c) => c[0]), "unknown_device"].sort());
    expect(rows.find((r) => r.reason === "unknown_device")?.device_id).toBeNull();
    expect(rows.find((r) => r.reason === "invalid_json")?.device_id).toBe(dev.id);
    const big = rows.find((r) => r.reason === "payload_too_large");
    expect(big?.payload_bytes).toBeGreaterThan(5_000);
    expect(big?.excerpt).toBeLessThanOrEqual(2_048);
    const metric = await ingest.metrics.deadLetters.get();
    const invalid = metric.values.find((v) => v.labels.reason === "invalid_message")?.value ?? 0;
    expect(invalid).toBeGreaterThanOrEqual(4);

    const after = await h.db.pool.query("SELECT * FROM positions WHERE device_id = $1", [dev.id]);
    expect(after.rows).toEqual(before.rows);
    // Still running.
    await publish(pos, { v: 1, id: "good-2", fix: { t: t + 1, lat: 59.9, lon: 10.7 } });
    await eventually(async () => {
      const n = await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [dev.id]);
      return n === 2 ? n : undefined;
    }, "the next good position");
  });

  it("turns a message the database could not store into a dead letter without holding back its batch", async () => {
    const org = await makeOrganisation(h.db.pool);
    const dev = await makeDevice(h.db.pool, org);
    const t = now() - 5_000;
    // Valid by the contract, but PostgreSQL text cannot hold a NUL character: refused before the database.
    const refused = `{"v":1,"id":"nul-1","t":${t},"firmware":"1.0\\u0000beta"}`;
    await Promise.all([
      publish(uplinkTopic(dev.serial, "status"), refused),
      publish(uplinkTopic(dev.serial, "position"), { v: 1, id: "ok-1", fix: { t, lat: 59.9, lon: 10.7 } }),
      publish(uplinkTopic(dev.serial, "position"), {
        v: 1,
        id: "ok-2",
        fix: { t: t + 1, lat: 59.9, lon: 10.7 },
      }),
    ]);
    const dead = await eventually(async () => {
      const r = await h.db.pool.query("SELECT reason, device_id FROM dead_letters WHERE device_id = $1", [
        dev.id,
      ]);
      return r.rows.length > 0 ? r.rows : undefined;
    }, "the refused message");
    expect(dead).toEqual([{ reason: "unstorable_text", device_id: dev.id }]);
    await eventually(async () => {
      const n = await count(h.db.pool, "SELECT count(*) n FROM positions WHERE device_id = $1", [dev.id]);
      return n === 2 ? n : undefined;
    }, "both good positions");
    expect(
      await count(h.db.pool, "SELECT count(*) n FROM device_status WHERE device_id = $1", [dev.id]),
    ).toBe(0);
  });
});
