/**
 * A small batch of positions and statuses in one statement: one round trip and one implicit
 * transaction for the positions, the raw log, the uplink ids, the statuses, each device's newest
 * position, the device rows and their NOTIFYs. A site of many devices each sending now and then
 * (10,000 devices every 60 s) fills batches of a message or two, so what a batch costs whatever its
 * size is most of what storing a position costs: the fleet bench measured PostgreSQL at 1.5-2 ms of
 * CPU per position over the eight round trips this replaces.
 *
 * Like the bulk path's straight COPY (store.ts), nothing here says ON CONFLICT: a batch holding
 * something stored already (a redelivery, a reused id or fix time) fails on a unique key as a whole,
 * nothing of it is kept, and commitBatch stores it carefully instead, message by message.
 */
import { EVENTS_CHANNEL } from "@vakt/schemas";
import type pg from "pg";
import type { PositionRow, RawMessageRow, StatusRow, StoreDecision } from "./decide";
import {
  DEVICE_SEEN_PARAMS,
  deviceSeenCtes,
  deviceSeenValues,
  devicesNotified,
  deviceUpdatesOf,
} from "./devices";
import {
  POSITION_COLUMNS,
  POSITION_SELECT,
  positionsFrom,
  positionValues,
  rawInsert,
  rawValues,
  statusInsert,
  statusValues,
} from "./rows";
import { LATEST_UPSERT, ts } from "./sql";
import { sqlState } from "./storage-errors";
import type { BatchInput, BatchResult } from "./store";

/** Parameters: positions $1-$13, raw log $14-$20, uplink ids $21-$23, statuses $24-$32, devices, channel. */
const DEVICES_FROM = 33;
const STRAIGHT_SQL = `WITH pu AS (SELECT * FROM ${positionsFrom(1)}),
   p AS (INSERT INTO positions (${POSITION_COLUMNS}) SELECT ${POSITION_SELECT} FROM pu RETURNING 1),
   l AS (
     INSERT INTO latest_positions (time, device_id, organisation_id, recipient_id, lat, lon, accuracy_m,
                                   speed_mps, heading_deg, source, battery_percent)
     SELECT DISTINCT ON (dev) ${ts("t")}, dev, org, rec, lat, lon, acc, spd, hdg, src, round(bat)::smallint
     FROM pu ORDER BY dev, t DESC ${LATEST_UPSERT}
   ),
   m AS (${rawInsert(14)}),
   i AS (
     INSERT INTO uplink_ids (device_id, message_id, payload_sha256)
     SELECT * FROM unnest($21::uuid[], $22::text[], $23::bytea[])
   ),
   s AS (${statusInsert(24)}),
   ${deviceSeenCtes(DEVICES_FROM)}
   SELECT (SELECT count(*) FROM p)::int AS positions,
          ${devicesNotified(`$${DEVICES_FROM + DEVICE_SEEN_PARAMS}`)} AS events`;

/** Batches the one statement can hold: no alarm, transition or dead letter (those go the usual way). */
export function takesStraightPath(batch: BatchInput): boolean {
  if (batch.deadLetters.length > 0) return false;
  for (const s of batch.stores) if (s.alarm || s.transition) return false;
  return true;
}

/**
 * Stores the batch in one statement; undefined when a unique key refused it (nothing of it is
 * stored then, and the caller goes the careful way). Any other error is the caller's, as in commitBatch.
 */
export async function commitStraight(
  pool: pg.Pool,
  batch: BatchInput,
  rows: { positions: PositionRow[]; raws: RawMessageRow[]; statuses: StatusRow[] },
  shas: readonly Buffer[],
): Promise<BatchResult | undefined> {
  const updates = deviceUpdatesOf(batch.stores, batch.deviceFilter);
  const stores: readonly StoreDecision[] = batch.stores;
  // Not pool.query: it would close the connection on a refused key too, and its prepared statements with it.
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const { rows: out } = await client.query<{ positions: number; events: number }>({
      name: "vakt_ingest_straight_batch",
      text: STRAIGHT_SQL,
      values: [
        ...positionValues(rows.positions),
        ...rawValues(rows.raws),
        stores.map((s) => s.device.id),
        stores.map((s) => s.raw.messageId),
        shas,
        ...statusValues(rows.statuses),
        ...deviceSeenValues(updates),
        EVENTS_CHANNEL,
      ],
    });
    const r = out[0];
    return {
      alarms: [],
      positionsInserted: r?.positions ?? 0,
      events: r?.events ?? 0,
      devicesWritten: updates,
      refused: [],
    };
  } catch (err) {
    const code = sqlState(err);
    if (code === "23505") return undefined;
    // A connection that failed (rather than a statement the database refused) is not reused.
    if (code === undefined) broken = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.release(broken);
  }
}
