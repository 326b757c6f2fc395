/**
 * A device's transactions log (device_messages): every message it sent and the platform sent it,
 * newest first. Read by whoever manages the device; the messages' text, which mostly holds the
 * wearer's position, only where policy's deviceTextReadable says (as for dead letters).
 */
import type { DeviceMessageQuery } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import { type Caller, logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { type Actor, allowedDepartments, deviceTextReadable } from "../policy";
import { found } from "../service-helpers";

interface MessageRow {
  t_us: string;
  time: Date;
  direction: "uplink" | "downlink";
  topic: string;
  kind: string;
  message_id: string | null;
  /** What orders entries of one microsecond (TIE). */
  tie: string;
  payload: string | null;
}

/**
 * Pages go backwards by (time, TIE): entries of one device can share a time (a burst received in
 * one millisecond), so a time alone would skip some at a page's edge. An uplink is unique by its
 * time and message id (the log's key); a downlink may have no id, and its text tells it from another
 * of the same microsecond. The hash keeps the cursor short: the time in microseconds, a dot, 32 hex.
 */
const TIE =
  "md5(m.direction || ':' || coalesce(m.message_id, '') || ':' || coalesce(m.payload_text, m.payload::text))";
const cursorOf = (r: MessageRow) => `${r.t_us}.${r.tie}`;
function parseCursor(before: string | undefined): [string, string] | [null, null] {
  if (before === undefined) return [null, null];
  const [t, tie] = before.split(".") as [string, string];
  return [t, tie];
}

export async function listDeviceMessages(
  deps: ApiDeps,
  caller: Caller & { actor: Actor },
  q: DeviceMessageQuery,
) {
  const managed = await allowedDepartments(deps.pool, caller.actor, "device:manage");
  const textReadable = await deviceTextReadable(deps.pool, caller.actor);
  return withTransaction(deps.pool, async (tx) => {
    const device = found(
      (
        await tx.query<{ department_id: string; recipient_id: string | null }>(
          `SELECT department_id, recipient_id FROM devices
            WHERE organisation_id = $1 AND id = $2 AND department_id = ANY($3::uuid[])`,
          [caller.organisationId, q.deviceId, managed],
        )
      ).rows[0],
      "device",
    );
    const [beforeUs, beforeTie] = parseCursor(q.before);
    const { rows } = await tx.query<MessageRow>(
      `SELECT (extract(epoch FROM m.time) * 1000000)::bigint::text AS t_us, m.time, m.direction, m.topic, m.kind,
              m.message_id, ${TIE} AS tie,
              coalesce(m.payload_text, m.payload::text) AS payload
         FROM device_messages m
        WHERE m.organisation_id = $1 AND m.device_id = $2
          AND ($3::text IS NULL OR m.direction = $3)
          AND ($4::timestamptz IS NULL OR m.time >= $4)
          AND ($5::timestamptz IS NULL OR m.time < $5)
          AND ($6::bigint IS NULL
               OR (m.time, ${TIE})
                  < (timestamptz 'epoch' + $6::bigint * interval '1 microsecond', $7::text))
        ORDER BY m.time DESC, ${TIE} DESC
        LIMIT $8`,
      [
        caller.organisationId,
        q.deviceId,
        q.direction ?? null,
        q.from ?? null,
        q.to ?? null,
        beforeUs,
        beforeTie,
        q.limit,
      ],
    );
    const shown = textReadable(device.department_id);
    await logActivity(tx, caller, {
      action: "device_messages.viewed",
      subjectType: "device",
      subjectId: q.deviceId,
      recipientIds: shown && device.recipient_id && rows.length > 0 ? [device.recipient_id] : [],
      details: { count: rows.length, contentShown: shown ? rows.length : 0, direction: q.direction ?? null },
    });
    const last = rows.at(-1);
    return {
      items: rows.map((r) => ({
        time: r.time.toISOString(),
        direction: r.direction,
        topic: r.topic,
        kind: r.kind,
        messageId: r.message_id,
        payload: shown ? r.payload : null,
        contentWithheld: !shown,
      })),
      nextBefore: rows.length === q.limit && last ? cursorOf(last) : null,
    };
  });
}
