/** SQL fragments the row, alarm and device statements share. */

/** A bigint of epoch milliseconds as a timestamptz. */
export const ts = (col: string) => `timestamptz 'epoch' + ${col} * interval '1 millisecond'`;

export const LATEST_UPSERT = `
  ON CONFLICT (device_id) DO UPDATE SET
    time = EXCLUDED.time, organisation_id = EXCLUDED.organisation_id, recipient_id = EXCLUDED.recipient_id,
    lat = EXCLUDED.lat, lon = EXCLUDED.lon, accuracy_m = EXCLUDED.accuracy_m, speed_mps = EXCLUDED.speed_mps,
    heading_deg = EXCLUDED.heading_deg, source = EXCLUDED.source, battery_percent = EXCLUDED.battery_percent
  WHERE latest_positions.time < EXCLUDED.time`;
/** Rows come sorted by device, so concurrent writers lock them in one order (no deadlocks). */
export const LATEST_FROM_STAGE = `
  INSERT INTO latest_positions (time, device_id, organisation_id, recipient_id, lat, lon, accuracy_m, speed_mps,
                                heading_deg, source, battery_percent)
  SELECT ${ts("t")}, device_id, organisation_id, recipient_id, lat, lon, accuracy_m, speed_mps, heading_deg,
         source, round(battery)::smallint
  FROM stage_latest ORDER BY device_id ${LATEST_UPSERT}`;
