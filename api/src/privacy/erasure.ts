/**
 * Erasure (GDPR art. 17, Safemate §7): removes a person's positions and
 * personal fields, keeps what documents care given in a minimal anonymised
 * form, and records why (erasure_records). The activity log is not touched: its
 * rows hold only ids, and the erased id now points at nobody, so the hash chain
 * still verifies.
 *
 * What goes for a recipient: the recipients row (names, birth date, notes,
 * legal-basis reference), their call list (contacts), geofences (their home and routines), every position,
 * the raw device messages and rejected messages of the devices that reported
 * for them over the time they did, and the alarms' coordinates, details and
 * free-text notes. What stays: each alarm (type, severity, times, state, who
 * handled it and how: transitions with their actors), with erasure_id set.
 *
 * What goes for a staff user: the staff_users row (name, e-mail, phone,
 * credentials), grants, sessions (with any ID token), invitations, password
 * resets, links to single sign-on subjects and login attempts under their
 * e-mail; alarms assigned to them lose the assignment.
 * What stays: their id in alarm transitions and the activity log (a pseudonym).
 */
import type { ActivityAction } from "@vakt/schemas";
import type { Queryable } from "@vakt/storage";
import { appendActivityRow, logActivity } from "../activity/writer";
import { ApiError } from "../errors";
import type { Actor } from "../policy";
import { eraseTransitions } from "../positions/geofence-transitions";

/** Why what survives an erasure is kept (recorded on every erasure record). */
export const KEPT_LEGAL_BASIS = {
  recipient:
    "Alarms and how they were handled are documentation of health care given (helsepersonelloven §§ 39-40, " +
    "pasientjournalforskriften); they are kept without coordinates, notes or the person's identity. " +
    "The activity log is kept for accountability (GDPR art. 5(2), 32) and holds only ids.",
  staff_user:
    "Alarm transitions and activity-log rows record who handled what (accountability, GDPR art. 5(2), 32); " +
    "they hold only the former user id, which no longer identifies anyone in Vakt.",
} as const;

export interface ErasureBy {
  /** Who asked: a person or token (request), or nobody (retention). */
  actor: Actor | undefined;
  ip: string | null;
  now: Date;
  trigger: "request" | "retention";
  reason: string;
}

export interface ErasureResult {
  id: string;
  subjectType: "recipient" | "staff_user";
  subjectRef: string;
  erasedAt: string;
  trigger: "request" | "retention";
  reason: string;
  keptLegalBasis: string;
  counts: Record<string, number>;
}

const actorOf = (a: Actor | undefined) =>
  a === undefined
    ? { type: "system", id: null }
    : { type: a.kind, id: a.kind === "user" ? a.userId : a.tokenId };

/** An activity-log row by the retention job (actor_type 'system'); by a person through logActivity. */
async function logErasure(
  tx: Queryable,
  organisationId: string,
  by: ErasureBy,
  entry: {
    action: ActivityAction;
    subjectType: string;
    subjectId: string;
    recipientIds: string[];
    details: object;
  },
) {
  if (by.actor) {
    await logActivity(
      tx,
      { actor: by.actor, organisationId, ip: by.ip, now: by.now },
      { ...entry, reason: by.reason, details: { ...entry.details } },
    );
    return;
  }
  await logSystemActivity(tx, organisationId, by.now, { ...entry, reason: by.reason });
}

/** Appends a row whose actor is the system itself (the retention job). */
export async function logSystemActivity(
  tx: Queryable,
  organisationId: string,
  now: Date,
  entry: {
    action: ActivityAction;
    subjectType?: string;
    subjectId?: string;
    recipientIds?: string[];
    reason?: string | null;
    details?: object;
  },
) {
  await appendActivityRow(tx, {
    organisationId,
    at: now,
    actorType: "system",
    action: entry.action,
    subjectType: entry.subjectType ?? null,
    subjectId: entry.subjectId ?? null,
    recipientIds: entry.recipientIds ?? [],
    reason: entry.reason ?? null,
    details: entry.details ?? {},
  });
}

async function insertRecord(
  tx: Queryable,
  organisationId: string,
  subjectType: "recipient" | "staff_user",
  subjectRef: string,
  by: ErasureBy,
  counts: Record<string, number>,
): Promise<ErasureResult> {
  const who = actorOf(by.actor);
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO erasure_records (organisation_id, subject_type, subject_ref, erased_at, trigger,
       requested_by_type, requested_by, reason, kept_legal_basis, counts)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [
      organisationId,
      subjectType,
      subjectRef,
      by.now,
      by.trigger,
      who.type,
      who.id,
      by.reason,
      KEPT_LEGAL_BASIS[subjectType],
      JSON.stringify(counts),
    ],
  );
  return {
    id: rows[0]?.id as string,
    subjectType,
    subjectRef,
    erasedAt: by.now.toISOString(),
    trigger: by.trigger,
    reason: by.reason,
    keptLegalBasis: KEPT_LEGAL_BASIS[subjectType],
    counts,
  };
}

const n = (r: { rowCount: number | null }) => r.rowCount ?? 0;

/**
 * The raw messages and dead letters of the devices that reported for this person, over the span they
 * did (dead letters an hour either side), and the raw messages that carried their alarms.
 */
async function eraseDeviceTraffic(tx: Queryable, organisationId: string, recipientId: string) {
  const spans = await tx.query<{ device_id: string; first: Date; last: Date }>(
    `SELECT device_id, min(time) AS first, max(time) AS last FROM positions
      WHERE organisation_id = $1 AND recipient_id = $2 GROUP BY device_id`,
    [organisationId, recipientId],
  );
  let deviceMessages = 0;
  let deadLetters = 0;
  for (const s of spans.rows) {
    deviceMessages += n(
      await tx.query(
        "DELETE FROM device_messages WHERE organisation_id = $1 AND device_id = $2 AND time BETWEEN $3 AND $4",
        [organisationId, s.device_id, s.first, s.last],
      ),
    );
    deadLetters += n(
      await tx.query(
        `DELETE FROM dead_letters WHERE organisation_id = $1 AND device_id = $2
            AND received_at BETWEEN $3::timestamptz - interval '1 hour' AND $4::timestamptz + interval '1 hour'`,
        [organisationId, s.device_id, s.first, s.last],
      ),
    );
  }
  // The raw messages that carried their alarms.
  deviceMessages += n(
    await tx.query(
      `DELETE FROM device_messages m USING alarms a
        WHERE a.organisation_id = $1 AND a.recipient_id = $2 AND a.device_message_id IS NOT NULL
          AND m.organisation_id = a.organisation_id AND m.device_id = a.device_id
          AND m.message_id = a.device_message_id`,
      [organisationId, recipientId],
    ),
  );
  return { deviceMessages, deadLetters };
}

/** Notes and details of the alarms' transitions and deliveries go; returns the transitions cleared. */
async function clearAlarmTexts(tx: Queryable, organisationId: string, alarmIds: string[]) {
  const transitions = n(
    await tx.query(
      // A call keeps only how it went (documentation of care); whom it was to goes with the call list.
      `UPDATE alarm_transitions SET note = NULL,
              details = CASE WHEN kind = 'called' THEN jsonb_build_object('result', details->'result')
                             ELSE '{}'::jsonb END
        WHERE organisation_id = $1 AND alarm_id = ANY($2::uuid[])`,
      [organisationId, alarmIds],
    ),
  );
  // Alert deliveries name staff contacts, not the recipient; their free-text detail may.
  await tx.query(
    "UPDATE alarm_deliveries SET detail = NULL WHERE organisation_id = $1 AND alarm_id = ANY($2::uuid[])",
    [organisationId, alarmIds],
  );
  return transitions;
}

/**
 * Erases one recipient in the caller's transaction. The recipient must exist in
 * the organisation (the caller has checked that it may act on it).
 */
export async function eraseRecipient(
  tx: Queryable,
  organisationId: string,
  recipientId: string,
  by: ErasureBy,
): Promise<ErasureResult> {
  const locked = await tx.query(
    "SELECT id FROM recipients WHERE organisation_id = $1 AND id = $2 FOR UPDATE",
    [organisationId, recipientId],
  );
  if (locked.rows.length === 0) throw new ApiError("not_found", "No such recipient, or not one you may see.");

  const { deviceMessages, deadLetters } = await eraseDeviceTraffic(tx, organisationId, recipientId);
  // Geofence transitions are positions too (where the person was, and when): counted with them.
  const positions =
    n(
      await tx.query("DELETE FROM positions WHERE organisation_id = $1 AND recipient_id = $2", [
        organisationId,
        recipientId,
      ]),
    ) + (await eraseTransitions(tx, organisationId, recipientId));
  const geofences = n(
    await tx.query("DELETE FROM geofences WHERE organisation_id = $1 AND recipient_id = $2", [
      organisationId,
      recipientId,
    ]),
  );
  const contacts = n(
    await tx.query("DELETE FROM recipient_contacts WHERE organisation_id = $1 AND recipient_id = $2", [
      organisationId,
      recipientId,
    ]),
  );
  const alarmIds = (
    await tx.query<{ id: string }>("SELECT id FROM alarms WHERE organisation_id = $1 AND recipient_id = $2", [
      organisationId,
      recipientId,
    ])
  ).rows.map((r) => r.id);
  const transitions = await clearAlarmTexts(tx, organisationId, alarmIds);
  const devices = n(
    await tx.query(
      "UPDATE devices SET recipient_id = NULL, updated_at = $3 WHERE organisation_id = $1 AND recipient_id = $2",
      [organisationId, recipientId, by.now],
    ),
  );
  const counts = {
    positions,
    deviceMessages,
    deadLetters,
    geofences,
    contacts,
    alarmsAnonymised: alarmIds.length,
    alarmTransitionsCleared: transitions,
    devicesUnassigned: devices,
  };
  const record = await insertRecord(tx, organisationId, "recipient", recipientId, by, counts);
  await tx.query(
    `UPDATE alarms SET recipient_id = NULL, erasure_id = $3, lat = NULL, lon = NULL, accuracy_m = NULL,
            details = '{}'::jsonb,
            -- An outcome code documents how it was handled; free text may name people.
            outcome = CASE WHEN outcome IS NULL OR outcome ~ '^[a-z_]{1,40}$' THEN outcome ELSE 'erased' END
      WHERE organisation_id = $1 AND id = ANY($2::uuid[])`,
    [organisationId, alarmIds, record.id],
  );
  await tx.query("DELETE FROM recipients WHERE organisation_id = $1 AND id = $2", [
    organisationId,
    recipientId,
  ]);
  await logErasure(tx, organisationId, by, {
    action: "recipient.erased",
    subjectType: "recipient",
    subjectId: recipientId,
    recipientIds: [recipientId],
    details: { erasureId: record.id, trigger: by.trigger, counts },
  });
  return record;
}

/** Erases one staff user in the caller's transaction. */
export async function eraseStaffUser(
  tx: Queryable,
  organisationId: string,
  userId: string,
  by: ErasureBy,
): Promise<ErasureResult> {
  const { rows } = await tx.query<{ email: string }>(
    "SELECT email FROM staff_users WHERE organisation_id = $1 AND id = $2 FOR UPDATE",
    [organisationId, userId],
  );
  const user = rows[0];
  if (!user) throw new ApiError("not_found", "No such user, or not one you may see.");
  const alarmsUnassigned = n(
    await tx.query("UPDATE alarms SET assigned_to = NULL WHERE organisation_id = $1 AND assigned_to = $2", [
      organisationId,
      userId,
    ]),
  );
  const { rows: contact } = await tx.query<{ phone: string | null }>(
    "SELECT phone FROM staff_users WHERE id = $1",
    [userId],
  );
  // Alerts sent to them keep that they were sent, not where to.
  const deliveries = n(
    await tx.query(
      "UPDATE alarm_deliveries SET target = 'erased', detail = NULL WHERE organisation_id = $1 AND target = ANY($2::text[])",
      [organisationId, [user.email, contact[0]?.phone].filter((v): v is string => !!v)],
    ),
  );
  const loginAttempts = n(await tx.query("DELETE FROM login_attempts WHERE email = $1", [user.email]));
  const sessions = n(
    await tx.query("DELETE FROM sessions WHERE organisation_id = $1 AND user_id = $2", [
      organisationId,
      userId,
    ]),
  );
  const grants = n(
    await tx.query("DELETE FROM role_grants WHERE organisation_id = $1 AND user_id = $2", [
      organisationId,
      userId,
    ]),
  );
  const ssoLinks = n(
    await tx.query("DELETE FROM sso_identities WHERE organisation_id = $1 AND user_id = $2", [
      organisationId,
      userId,
    ]),
  );
  await tx.query("DELETE FROM staff_users WHERE organisation_id = $1 AND id = $2", [organisationId, userId]);
  const counts = { alarmsUnassigned, alertDeliveries: deliveries, loginAttempts, sessions, grants, ssoLinks };
  const record = await insertRecord(tx, organisationId, "staff_user", userId, by, counts);
  await logErasure(tx, organisationId, by, {
    action: "user.erased",
    subjectType: "staff_user",
    subjectId: userId,
    recipientIds: [],
    details: { erasureId: record.id, trigger: by.trigger, counts },
  });
  return record;
}
