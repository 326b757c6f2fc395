/**
 * When is a message "the same one again"? Per protocol:
 * - a native message by (device, message id): the id with the same payload is
 *   a redelivery (stored once); the id with another payload is a dead letter
 *   `conflicting_message_id`;
 * - OwnTracks and OsmAnd carry no id; theirs is derived from type and fix
 *   time, so the same rule makes a second, different fix at one time a dead
 *   letter instead of a silent drop;
 * - whatever the id, a fix (or a status) at a time the device already has a
 *   different one for is a dead letter `conflicting_fix`: positions are keyed
 *   by (device, time), and the first one stays.
 * Used on the careful path only (small batches, and large ones whose straight
 * COPY met a unique key): the straight COPY into `uplink_ids` and `positions`
 * proves a batch has neither.
 */
import { hash } from "node:crypto";
import type pg from "pg";
import { type DeadLetterRow, deadLetterOfStored, type StoreDecision } from "./decide";

export interface Refused {
  decision: StoreDecision;
  row: DeadLetterRow;
}

export interface Classified {
  /** To store (idempotently: ON CONFLICT DO NOTHING still guards against a racing alarm lane). */
  fresh: StoreDecision[];
  /** Stored before: nothing to write. */
  redelivered: StoreDecision[];
  refused: Refused[];
}

export function payloadSha256(s: StoreDecision): Buffer {
  // One-shot: no Hash object per message.
  return hash("sha256", s.raw.payloadText, "buffer");
}

const f32 = Math.fround;

interface StoredFix {
  lat: number;
  lon: number;
  acc: number | null;
}
interface StoredStatus {
  bat: number | null;
  chg: boolean | null;
  sig: number | null;
  fw: string | null;
}

function sameFix(a: StoredFix, b: StoredFix): boolean {
  return (
    a.lat === b.lat &&
    a.lon === b.lon &&
    (a.acc === null ? b.acc === null : b.acc !== null && f32(a.acc) === f32(b.acc))
  );
}
function sameStatus(a: StoredStatus, b: StoredStatus): boolean {
  const bat = (x: number | null) => (x === null ? null : Math.round(x));
  return bat(a.bat) === bat(b.bat) && a.chg === b.chg && a.sig === b.sig && a.fw === b.fw;
}

/** Looks up what the batch's ids and fix times already hold, and sorts its messages. Alarms are always fresh (their own key). */
export async function classify(
  client: pg.ClientBase,
  stores: StoreDecision[],
  shas: Buffer[],
): Promise<Classified> {
  const { ids, fixes, statuses } = await storedFor(client, stores);
  const out: Classified = { fresh: [], redelivered: [], refused: [] };
  stores.forEach((s, i) => {
    if (s.alarm) {
      out.fresh.push(s);
      return;
    }
    const sha = (shas[i] as Buffer).toString("hex");
    const idKey = `${s.device.id}|${s.raw.messageId}`;
    const known = ids.get(idKey);
    if (known === sha) {
      out.redelivered.push(s);
      return;
    }
    if (known !== undefined) {
      out.refused.push(
        refuse(
          s,
          "conflicting_message_id",
          `message id ${s.raw.messageId} was used before for other content`,
        ),
      );
      return;
    }
    const conflict = conflictOf(s, fixes, statuses);
    if (conflict) {
      out.refused.push(conflict);
      return;
    }
    remember(s, idKey, sha, ids, fixes, statuses);
    out.fresh.push(s);
  });
  return out;
}

/** What is stored already under the batch's message ids, fix times and status times. */
async function storedFor(client: pg.ClientBase, stores: StoreDecision[]) {
  const ids = new Map<string, string>();
  const fixes = new Map<string, StoredFix>();
  const statuses = new Map<string, StoredStatus>();
  const idDevices: string[] = [];
  const idValues: string[] = [];
  const fixDevices: string[] = [];
  const fixTimes: number[] = [];
  const statusDevices: string[] = [];
  const statusTimes: number[] = [];
  for (const s of stores) {
    if (s.alarm) continue;
    idDevices.push(s.device.id);
    idValues.push(s.raw.messageId);
    for (const p of s.positions) {
      fixDevices.push(p.deviceId);
      fixTimes.push(p.time);
    }
    if (s.status) {
      statusDevices.push(s.status.deviceId);
      statusTimes.push(s.status.time);
    }
  }
  if (idDevices.length > 0) {
    const found = await client.query<{
      k: string;
      d: string;
      m: string | null;
      t: string | null;
      sha: Buffer | null;
      lat: number | null;
      lon: number | null;
      acc: number | null;
      bat: number | null;
      chg: boolean | null;
      sig: number | null;
      fw: string | null;
    }>({
      name: "vakt_ingest_stored_for",
      text: `SELECT 'id' AS k, u.device_id AS d, u.message_id AS m, NULL::bigint AS t, u.payload_sha256 AS sha,
              NULL::float8 AS lat, NULL::float8 AS lon, NULL::real AS acc,
              NULL::smallint AS bat, NULL::boolean AS chg, NULL::smallint AS sig, NULL::text AS fw
         FROM uplink_ids u JOIN unnest($1::uuid[], $2::text[]) AS q(d, m) ON u.device_id = q.d AND u.message_id = q.m
       UNION ALL
       SELECT 'fix', p.device_id, NULL, q.t, NULL, p.lat, p.lon, p.accuracy_m, NULL, NULL, NULL, NULL
         FROM unnest($3::uuid[], $4::bigint[]) AS q(d, t)
         JOIN positions p ON p.device_id = q.d AND p.time = timestamptz 'epoch' + q.t * interval '1 millisecond'
       UNION ALL
       SELECT 'status', s.device_id, NULL, q.t, NULL, NULL, NULL, NULL, s.battery_percent, s.charging, s.signal_dbm, s.firmware
         FROM unnest($5::uuid[], $6::bigint[]) AS q(d, t)
         JOIN device_status s ON s.device_id = q.d AND s.time = timestamptz 'epoch' + q.t * interval '1 millisecond'`,
      values: [idDevices, idValues, fixDevices, fixTimes, statusDevices, statusTimes],
    });
    for (const r of found.rows) {
      if (r.k === "id") ids.set(`${r.d}|${r.m}`, (r.sha as Buffer).toString("hex"));
      else if (r.k === "fix")
        fixes.set(`${r.d}|${r.t}`, { lat: r.lat as number, lon: r.lon as number, acc: r.acc });
      else statuses.set(`${r.d}|${r.t}`, { bat: r.bat, chg: r.chg, sig: r.sig, fw: r.fw });
    }
  }
  return { ids, fixes, statuses };
}

/** A fix or status stored (or earlier in this batch) for the same time with other content. */
function conflictOf(
  s: StoreDecision,
  fixes: Map<string, StoredFix>,
  statuses: Map<string, StoredStatus>,
): Refused | undefined {
  for (const p of s.positions) {
    const held = fixes.get(`${p.deviceId}|${p.time}`);
    if (held && !sameFix(held, { lat: p.lat, lon: p.lon, acc: p.accuracyM })) {
      return refuse(
        s,
        "conflicting_fix",
        `a different fix is stored for ${new Date(p.time).toISOString()} (${held.lat}, ${held.lon})`,
      );
    }
  }
  if (s.status) {
    const held = statuses.get(`${s.status.deviceId}|${s.status.time}`);
    const st = s.status;
    if (
      held &&
      !sameStatus(held, { bat: st.batteryPct, chg: st.charging, sig: st.signalDbm, fw: st.firmware })
    ) {
      return refuse(
        s,
        "conflicting_fix",
        `a different status is stored for ${new Date(st.time).toISOString()}`,
      );
    }
  }
  return undefined;
}

/** Later messages of this batch compare with this one. */
function remember(
  s: StoreDecision,
  idKey: string,
  sha: string,
  ids: Map<string, string>,
  fixes: Map<string, StoredFix>,
  statuses: Map<string, StoredStatus>,
) {
  ids.set(idKey, sha);
  for (const p of s.positions) {
    const k = `${p.deviceId}|${p.time}`;
    if (!fixes.has(k)) fixes.set(k, { lat: p.lat, lon: p.lon, acc: p.accuracyM });
  }
  if (s.status) {
    const k = `${s.status.deviceId}|${s.status.time}`;
    if (!statuses.has(k)) {
      statuses.set(k, {
        bat: s.status.batteryPct,
        chg: s.status.charging,
        sig: s.status.signalDbm,
        fw: s.status.firmware,
      });
    }
  }
}

export function refuse(
  s: StoreDecision,
  reason: "conflicting_message_id" | "conflicting_fix",
  detail: string,
): Refused {
  return { decision: s, row: deadLetterOfStored(s, reason, detail, s.seen.at > 0 ? s.seen.at : Date.now()) };
}
