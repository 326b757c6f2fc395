/**
 * Geofence transitions (OwnTracks `transition`) into device_transitions, in the batch's transaction.
 * The department is the recipient's at the time of the message (like organisation and recipient on
 * positions), so a scoped timeline query needs no join. ON CONFLICT: the same transition delivered
 * twice is stored once, also when the uplink id check was skipped (a bulk COPY that went through).
 * Times go as epoch milliseconds and become timestamptz in SQL: a value no timestamp holds is then
 * the database's refusal of one row (a data error, isolated), never an exception that stalls a lane.
 */
import type pg from "pg";
import type { StoreDecision, TransitionRow } from "./decide";
import { ts } from "./sql";

export async function insertTransitions(
  client: Pick<pg.ClientBase, "query">,
  stores: readonly StoreDecision[],
): Promise<number> {
  const rows: TransitionRow[] = [];
  for (const s of stores) if (s.transition) rows.push(s.transition);
  if (rows.length === 0) return 0;
  const col = <K extends keyof TransitionRow>(k: K) => rows.map((r) => r[k]);
  const r = await client.query(
    `INSERT INTO device_transitions (device_id, organisation_id, recipient_id, department_id, message_id, event,
       region_desc, region_id, region_time, trigger, time, lat, lon, accuracy_m)
     SELECT t.device_id, t.organisation_id, t.recipient_id, rc.department_id, t.message_id, t.event,
       t.region_desc, t.region_id, ${ts("t.region_time")}, t.trigger, ${ts("t.time")}, t.lat, t.lon, t.accuracy_m
     FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
       $8::bigint[], $9::text[], $10::bigint[], $11::float8[], $12::float8[], $13::real[])
       AS t(device_id, organisation_id, recipient_id, message_id, event, region_desc, region_id, region_time,
            trigger, time, lat, lon, accuracy_m)
     LEFT JOIN recipients rc ON rc.id = t.recipient_id AND rc.organisation_id = t.organisation_id
     ON CONFLICT (device_id, message_id) DO NOTHING`,
    [
      col("deviceId"),
      col("organisationId"),
      col("recipientId"),
      col("messageId"),
      col("event"),
      col("regionDesc"),
      col("regionId"),
      col("regionTime"),
      col("trigger"),
      col("time"),
      col("lat"),
      col("lon"),
      col("accuracyM"),
    ],
  );
  return r.rowCount ?? 0;
}
