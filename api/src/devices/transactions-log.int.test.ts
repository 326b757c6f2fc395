/**
 * The transactions log holds every message between device and platform: what the api sends
 * (configuration, commands, staff's acknowledgements, OwnTracks commands) is in device_messages as a
 * downlink, character for character, once each, whatever staff did in between.
 */
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  addRecipient,
  addUser,
  type Client,
  createHarness,
  createOrg,
  type Harness,
  loggedIn,
  type TestOrg,
  until,
} from "../../test/harness";

let h: Harness;
let org: TestOrg;
let operator: Client;
let admin: Client;

beforeAll(async () => {
  h = await createHarness();
  org = await createOrg(h);
  operator = await loggedIn(
    h,
    (await addUser(h, org, "op", [{ role: "operator", departmentId: org.departments.a }])).email,
  );
  admin = await loggedIn(
    h,
    (await addUser(h, org, "admin", [{ role: "org_admin", departmentId: null }])).email,
  );
});
afterAll(async () => {
  await h.close();
});

/** An open device alarm, as ingest stores it. */
async function raise(r: { recipientId: string; deviceId: string }) {
  const { rows } = await h.db.pool.query<{ id: string }>(
    `INSERT INTO alarms (organisation_id, department_id, device_id, recipient_id, type, severity, source,
                         device_message_id, raised_at)
     VALUES ($1, $2, $3, $4, 'sos', 'critical', 'device', $5, now()) RETURNING id`,
    [
      org.organisationId,
      org.departments.a1,
      r.deviceId,
      r.recipientId,
      `m-${randomBytes(4).toString("hex")}`,
    ],
  );
  await h.db.pool.query(
    "INSERT INTO alarm_transitions (organisation_id, alarm_id, at, kind, to_state) VALUES ($1, $2, now(), 'raised', 'open')",
    [org.organisationId, rows[0]?.id],
  );
  return rows[0]?.id as string;
}

type Action = "config" | "locate" | "raise" | "take" | "resolve" | "reopen" | "cancel";

describe("the transactions log", () => {
  it("holds each downlink the api sent, as sent, once, for MQTT and OwnTracks devices", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("mqtt", "owntracks"),
        fc.array(
          fc.constantFrom<Action>("config", "locate", "raise", "take", "resolve", "reopen", "cancel"),
          {
            minLength: 1,
            maxLength: 10,
          },
        ),
        fc.integer({ min: 10, max: 86_400 }),
        async (protocol, actions, interval) => {
          const r = await addRecipient(h, org, org.departments.a1, "Kari");
          const { serial } = (
            await h.db.pool.query<{ serial: string }>("SELECT serial FROM devices WHERE id = $1", [
              r.deviceId,
            ])
          ).rows[0] as { serial: string };
          if (protocol === "owntracks") {
            await h.db.pool.query("UPDATE devices SET protocol = 'owntracks' WHERE id = $1", [r.deviceId]);
            await h.db.pool.query(
              `INSERT INTO device_messages (time, device_id, organisation_id, direction, topic, message_id, kind, payload_text)
               VALUES (now() - interval '1 minute', $1, $2, 'uplink', $3, NULL, 'owntracks_location', '{}')`,
              [r.deviceId, org.organisationId, `owntracks/kari/${serial}`],
            );
          }
          const sentBefore = h.downlinks.length;
          let alarmId: string | undefined;
          for (const [i, action] of actions.entries()) {
            if (action === "config") {
              const current = (await admin.get(`/api/v1/devices/${r.deviceId}`)).body.desiredConfig;
              await admin.put(`/api/v1/devices/${r.deviceId}/config`, {
                settings: { ...current, reportIntervalS: interval + i },
              });
            } else if (action === "locate") {
              await operator.post(`/api/v1/devices/${r.deviceId}/locate`, {});
            } else if (action === "raise") {
              alarmId = await raise(r);
            } else if (alarmId) {
              const body =
                action === "resolve"
                  ? { outcome: "helped_on_site", note: "Helped up" }
                  : action === "take"
                    ? {}
                    : { note: "n" };
              // Some are refused in the state the alarm is in (409): nothing is sent for them.
              await operator.post(`/api/v1/alarms/${alarmId}/${action}`, body);
            }
          }
          const sent = h.downlinks.slice(sentBefore).filter((d) => d.serial === serial);
          // A command sent beside a transition (stop_tracking on resolve) is logged a moment after the answer.
          const logged = async () => {
            const { rows } = await h.db.pool.query<{
              topic: string;
              payload_text: string;
              kind: string;
              message_id: string | null;
              organisation_id: string;
            }>(
              `SELECT topic, payload_text, kind, message_id, organisation_id FROM device_messages
              WHERE device_id = $1 AND direction = 'downlink' ORDER BY time`,
              [r.deviceId],
            );
            return rows;
          };
          await until("every downlink logged", async () => (await logged()).length >= sent.length, 5_000, 20);
          const rows = await logged();
          // As a set: a transition sends its ack and its command side by side, and logs each when the
          // broker has it.
          const byText = (a: object, b: object) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
          expect(rows.sort(byText)).toEqual(
            sent
              .map((d) => ({
                topic: d.topic,
                payload_text: d.payload,
                kind: d.kind,
                message_id: d.messageId,
                organisation_id: org.organisationId,
              }))
              .sort(byText),
          );
          // Each kind names what it answers: a command its id, an ack the alarm message it confirms.
          for (const d of sent) {
            const message = JSON.parse(d.payload);
            if (d.kind === "command") expect(d.messageId).toBe(message.id);
            if (d.kind === "ack") expect(d.messageId).toBe(message.ackOf);
          }
        },
      ),
      {
        numRuns: 15,
        // Two runs that send every kind, so the check below does not hang on what the generator drew.
        examples: [
          ["mqtt", ["config", "locate", "raise", "take", "resolve"], 60],
          ["owntracks", ["config", "locate", "raise", "cancel"], 60],
        ],
      },
    );
    // The run sent something of every kind the api sends.
    expect(new Set(h.downlinks.map((d) => d.kind))).toEqual(
      new Set(["config", "command", "ack", "owntracks_command"]),
    );
  });

  it("keeps the command when its log cannot be written, and says so", async () => {
    const r = await addRecipient(h, org, org.departments.a1, "Ola");
    // A log that refuses downlinks stands for one that cannot be written (full disk, lost connection).
    await h.db.pool.query(
      "ALTER TABLE device_messages ADD CONSTRAINT refuse_downlinks CHECK (direction = 'uplink') NOT VALID",
    );
    try {
      const res = await operator.post(`/api/v1/devices/${r.deviceId}/locate`, {});
      expect(res.status).toBe(202);
      expect(h.downlinks.at(-1)?.kind).toBe("command");
    } finally {
      await h.db.pool.query("ALTER TABLE device_messages DROP CONSTRAINT refuse_downlinks");
    }
    const { rows } = await h.db.pool.query("SELECT 1 FROM device_messages WHERE device_id = $1", [
      r.deviceId,
    ]);
    expect(rows).toEqual([]);
  });
});
