/**
 * Turns a batch of decisions into rows, in one transaction: the orchestration
 * (which path, in which order, rolled back to what). The statements live
 * beside it: rows.ts (positions, raw log, statuses, dead letters), copy-binary.ts
 * (the bulk path's COPYs), copy.ts (COPY text and staging), straight.ts (a small batch in one statement),
 * alarms.ts, devices.ts, and throttle.ts (which device rows a batch writes).
 * Every insert is idempotent, so a batch the broker redelivers after a crash
 * stores nothing twice.
 */
import type pg from "pg";
import { commitDeviceAlarm, storeDeviceAlarm } from "./alarms";
import { copyData, STAGING_SQL } from "./copy";
import {
  LATEST_COPY_BINARY,
  latestBinary,
  MESSAGES_COPY_BINARY,
  messagesBinary,
  POSITIONS_COPY_BINARY,
  positionsBinary,
  UPLINK_IDS_COPY_BINARY,
  uplinkIdsBinary,
} from "./copy-binary";
import type {
  DeadLetterRow,
  DeviceRef,
  PositionRow,
  RawMessageRow,
  StatusRow,
  StoreDecision,
} from "./decide";
import { type DeviceUpdate, updateDevices } from "./devices";
import { classify, payloadSha256, type Refused } from "./idempotency";
import {
  insertDeadLetters,
  insertPositionsAndRaw,
  insertPositionsStaged,
  insertRawMessagesStaged,
  insertStatuses,
  insertUplinkIds,
  newestPerDevice,
  upsertLatestPositions,
} from "./rows";
import { LATEST_FROM_STAGE } from "./sql";
import { sqlState } from "./storage-errors";
import { commitStraight, takesStraightPath } from "./straight";
import { insertTransitions } from "./transitions";

export type AckStatus = "received" | "cancelled";

/** An alarm the batch stored (or found already stored): the device is told after commit. */
export interface AlarmOutcome {
  device: DeviceRef;
  messageId: string;
  alarmId: string;
  created: boolean;
  ackStatus: AckStatus;
}

export interface BatchInput {
  stores: StoreDecision[];
  deadLetters: DeadLetterRow[];
  /** Batches with at least this many rows go through staging + COPY (default 64; Infinity: never). */
  copyMinRows?: number;
  /** Which per-device updates to write (default all); see DeviceRowThrottle. */
  deviceFilter?: (update: DeviceUpdate) => boolean;
  /** Stores the broker marked as sent before (MQTT DUP): a conflict dead letter of theirs may be stored already. */
  redelivered?: ReadonlySet<StoreDecision>;
  /** Small batches in one statement when they can (straight.ts; default true). False: the careful way, for tests that compare. */
  straight?: boolean;
}

export interface BatchResult {
  alarms: AlarmOutcome[];
  /** The device rows this batch updated. */
  devicesWritten: DeviceUpdate[];
  positionsInserted: number;
  events: number;
  /** Messages the batch held that turned out to conflict with what is stored: stored as these dead letters. */
  refused: Refused[];
  /** Written after the commit, apart from it, on the position pool (an alarm's newest position and device row). */
  aftermath?: (pool: pg.Pool) => Promise<void>;
}

/** Below this many rows a plain multi-row INSERT beats COPY (fewer round trips). */
const COPY_THRESHOLD = 64;

/** Connections whose staging tables exist: created in a transaction of theirs that committed. */
const staged = new WeakSet<pg.ClientBase>();

/**
 * Writes a batch in one transaction on a connection of its own and commits it.
 *
 * Small batches of positions and statuses (most batches of a site whose devices each send now and
 * then) are one statement, so one round trip and its own transaction (straight.ts); one that holds
 * something stored already falls back to the careful way below.
 *
 * Large batches take few round trips: BEGIN (with the staging DDL on a new
 * connection, and a savepoint); COPY of the positions and of the raw log
 * straight into their tables; status, alarm and device rows; COPY of each
 * device's newest fix into `stage_latest`; and one last round trip that
 * upserts `latest_positions` from it and commits. The row locks on
 * `latest_positions` are so held only for the length of that last statement
 * and the commit. A redelivered message makes the straight COPY fail on a
 * unique key; the batch then rolls back to the savepoint and goes through
 * staging with ON CONFLICT DO NOTHING, storing nothing twice.
 */
export async function commitBatch(pool: pg.Pool, batch: BatchInput): Promise<BatchResult> {
  const only = aloneAlarm(batch);
  if (only) return commitDeviceAlarm(pool, only, batch.deviceFilter, batch.redelivered?.has(only) === true);
  const all = rowsOfStores(batch.stores);
  const shas = batch.stores.map(payloadSha256);
  const copyMin = batch.copyMinRows ?? COPY_THRESHOLD;
  const bulk = all.positions.length + all.raws.length >= copyMin;
  if (!bulk && batch.straight !== false && takesStraightPath(batch)) {
    const stored = await commitStraight(pool, batch, all, shas);
    if (stored) return stored;
  }
  const client = await pool.connect();
  let createsStaging = false;
  let broken: Error | undefined;
  try {
    let begin = "BEGIN";
    if (bulk) {
      createsStaging = !staged.has(client);
      begin = `BEGIN;${createsStaging ? STAGING_SQL : ""} SAVEPOINT straight_copy`;
    }
    await client.query(begin);
    let events = 0;
    let positionsInserted = 0;
    let stores = batch.stores;
    let rows = all;
    let refused: Refused[] = [];
    let careful = !bulk;
    if (bulk) {
      try {
        if (all.positions.length > 0)
          positionsInserted = await copyData(client, POSITIONS_COPY_BINARY, positionsBinary(all.positions));
        if (all.raws.length > 0) await copyData(client, MESSAGES_COPY_BINARY, messagesBinary(all.raws));
        const ids = uplinkIdsBinary(batch.stores, shas);
        if (ids) await copyData(client, UPLINK_IDS_COPY_BINARY, ids);
      } catch (err) {
        if ((err as { code?: unknown }).code !== "23505") throw err;
        // Something in the batch is stored already (a redelivery, or a reused id or fix time).
        await client.query("ROLLBACK TO SAVEPOINT straight_copy");
        careful = true;
      }
    }
    if (careful)
      ({ stores, rows, refused, positionsInserted } = await storeCarefully(client, batch, shas, bulk));
    const deadLetters = [...batch.deadLetters, ...refused.map((r) => r.row)];
    if (deadLetters.length > 0) await insertDeadLetters(client, deadLetters);
    if (rows.statuses.length > 0) await insertStatuses(client, rows.statuses);
    await insertTransitions(client, stores);

    const alarms: AlarmOutcome[] = [];
    for (const s of stores) {
      const outcome = s.alarm ? await storeDeviceAlarm(client, s) : undefined;
      if (!outcome) continue;
      alarms.push(outcome);
      if (outcome.created || outcome.ackStatus === "cancelled") events++;
    }
    // Every message says the device was heard from, stored or refused.
    const devices = await updateDevices(client, batch.stores, batch.deviceFilter);
    events += devices.events;
    if (rows.positions.length === 0) {
      await client.query("COMMIT");
    } else if (bulk) {
      await copyData(client, LATEST_COPY_BINARY, latestBinary(newestPerDevice(rows.positions)));
      await client.query(`${LATEST_FROM_STAGE}; COMMIT`);
    } else {
      await upsertLatestPositions(client, rows.positions);
      await client.query("COMMIT");
    }
    if (createsStaging) staged.add(client);
    return { alarms, positionsInserted, events, devicesWritten: devices.written, refused };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    // A connection that failed (rather than a statement the database refused) is not reused.
    if (sqlState(err) === undefined) broken = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.release(broken);
  }
}

/** A batch that is one new device alarm and nothing else goes through the alarm lane. */
function aloneAlarm(batch: BatchInput): StoreDecision | undefined {
  const only = batch.stores[0];
  const alone = batch.stores.length === 1 && batch.deadLetters.length === 0;
  return alone && only?.alarm && only.alarm.cancels === null && only.status === null ? only : undefined;
}

/**
 * The batch message by message: what is stored already is looked up first
 * (classify), only the fresh messages' rows are inserted (ON CONFLICT DO
 * NOTHING), and the ones that conflict with what is stored become dead letters.
 */
async function storeCarefully(client: pg.ClientBase, batch: BatchInput, shas: Buffer[], bulk: boolean) {
  const c = await classify(client, batch.stores, shas);
  const fresh = new Set(c.fresh);
  const stores = c.fresh;
  const rows = rowsOfStores(stores);
  const refused = c.refused;
  for (const r of refused) if (batch.redelivered?.has(r.decision)) r.row.redelivered = true;
  const freshShas = shas.filter((_, i) => fresh.has(batch.stores[i] as StoreDecision));
  let positionsInserted = 0;
  if (bulk) {
    positionsInserted = rows.positions.length > 0 ? await insertPositionsStaged(client, rows.positions) : 0;
    if (rows.raws.length > 0) await insertRawMessagesStaged(client, rows.raws);
  } else if (rows.positions.length > 0 || rows.raws.length > 0) {
    positionsInserted = await insertPositionsAndRaw(client, rows.positions, rows.raws);
  }
  await insertUplinkIds(client, stores, freshShas);
  return { stores, rows, refused, positionsInserted };
}

function rowsOfStores(stores: StoreDecision[]) {
  const positions: PositionRow[] = [];
  const statuses: StatusRow[] = [];
  const raws: RawMessageRow[] = [];
  for (const s of stores) {
    for (const p of s.positions) positions.push(p);
    if (s.status) statuses.push(s.status);
    raws.push(s.raw);
  }
  return { positions, statuses, raws };
}
