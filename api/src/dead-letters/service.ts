import type { DeadLetterQuery } from "@vakt/schemas";
import { withTransaction } from "@vakt/storage";
import { type Caller, logActivity } from "../activity/writer";
import type { ApiDeps } from "../deps";
import { type Actor, allowedDepartments, deviceTextReadable } from "../policy";

interface DeadLetterRow {
  id: string;
  received_at: Date;
  transport: "mqtt" | "http";
  topic: string;
  device_id: string | null;
  department_id: string;
  serial: string | null;
  recipient_id: string | null;
  reason: string;
  detail: string | null;
  payload_excerpt: string;
  payload_bytes: number;
}

/**
 * Dead letters of the devices in the caller's departments. Those of unknown
 * devices belong to no organisation and are seen only in ingest's metrics and
 * logs. A refused message is usually a position, and its detail can quote it, so both are shown
 * only where policy's deviceTextReadable says, and reading them is logged.
 */
export async function listDeadLetters(deps: ApiDeps, caller: Caller & { actor: Actor }, q: DeadLetterQuery) {
  const allowed = await allowedDepartments(deps.pool, caller.actor, "device:manage");
  const textReadable = await deviceTextReadable(deps.pool, caller.actor);
  return withTransaction(deps.pool, async (tx) => {
    const { rows } = await tx.query<DeadLetterRow>(
      `SELECT dl.id::text AS id, dl.received_at, dl.transport, dl.topic, dl.device_id, d.department_id, d.serial,
              d.recipient_id,
              dl.reason, dl.detail, dl.payload_excerpt, dl.payload_bytes
         FROM dead_letters dl
         JOIN devices d ON d.id = dl.device_id AND d.organisation_id = dl.organisation_id
        WHERE dl.organisation_id = $1 AND d.department_id = ANY($2::uuid[])
          AND ($3::text IS NULL OR dl.reason = $3)
          AND ($4::uuid IS NULL OR dl.device_id = $4)
          AND ($5::timestamptz IS NULL OR dl.received_at >= $5)
          AND ($6::timestamptz IS NULL OR dl.received_at < $6)
          AND ($7::bigint IS NULL OR dl.id < $7)
        ORDER BY dl.id DESC
        LIMIT $8`,
      [
        caller.organisationId,
        allowed,
        q.reason ?? null,
        q.deviceId ?? null,
        q.from ?? null,
        q.to ?? null,
        q.before ?? null,
        q.limit,
      ],
    );
    const shown = (r: DeadLetterRow) => textReadable(r.department_id);
    const recipientIds = [
      ...new Set(rows.flatMap((r) => (r.recipient_id && shown(r) ? [r.recipient_id] : []))),
    ];
    await logActivity(tx, caller, {
      action: "dead_letters.viewed",
      recipientIds,
      details: {
        count: rows.length,
        contentShown: rows.filter(shown).length,
        reason: q.reason ?? null,
        deviceId: q.deviceId ?? null,
      },
    });
    return {
      items: rows.map((r) => ({
        id: r.id,
        receivedAt: r.received_at.toISOString(),
        transport: r.transport,
        topic: r.topic,
        deviceId: r.device_id,
        deviceSerial: r.serial,
        reason: r.reason,
        detail: shown(r) ? r.detail : null,
        payloadExcerpt: shown(r) ? r.payload_excerpt : null,
        payloadBytes: r.payload_bytes,
        contentWithheld: !shown(r),
      })),
      nextBefore: rows.length === q.limit ? (rows.at(-1)?.id ?? null) : null,
    };
  });
}
