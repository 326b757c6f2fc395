/**
 * Batches decisions into transactions and acknowledges each message only
 * after the transaction holding its rows has committed.
 *
 * Messages go to one of `maxConcurrent` lanes by device, and each lane
 * commits one batch at a time while it collects the next: so up to
 * `maxConcurrent` batches commit at once, a device's messages are committed
 * in the order they arrived, and concurrent batches never touch the same
 * device's rows (`latest_positions`, `devices`), so they never wait for each
 * other's locks. A lane's batch closes when it holds `maxRows` rows or when
 * `maxWaitMs` has passed since its first message (if its previous batch is
 * still committing, as soon as that one is done). Alarms take a lane of
 * their own and commit at once. When the database is
 * unreachable a batch is retried with backoff, unacknowledged, for as long as
 * it takes; the broker keeps (and after a crash redelivers) everything not yet
 * acknowledged. A batch the database refuses for its data (a constraint, a
 * value out of range) is split: each message is tried alone and the one that
 * still fails becomes a dead letter, so one bad message cannot stall the rest.
 */
import type pg from "pg";
import type { Logger } from "pino";
import type { IngestMetrics } from "../metrics";
import {
  type DeadLetterRow,
  type Decision,
  payloadExcerpt,
  rowsOf,
  type StoreDecision,
  sha256Hex,
} from "./decide";
import { type AlarmOutcome, type BatchInput, commitBatch, DeviceRowThrottle } from "./store";

export interface PendingMessage {
  decision: Decision;
  receivedAt: number;
  /** Tells the sender the message is safe (MQTT PUBACK, HTTP 200). Called once, after commit. */
  ack: () => void;
  /** The broker sent it before (MQTT DUP): a crash may have come between our commit and our PUBACK. */
  redelivered?: boolean;
}

export interface BatchWriterOptions {
  pool: pg.Pool;
  logger: Logger;
  metrics: IngestMetrics;
  maxRows: number;
  maxWaitMs: number;
  maxConcurrent?: number;
  /** Runs after commit and before the acks: tells devices their alarm was stored. */
  afterCommit?: (alarms: AlarmOutcome[]) => Promise<void> | void;
  now?: () => number;
  /** Use COPY for large batches (default true). */
  useCopy?: boolean;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

/** SQLSTATE classes that blame the data, not the database being unavailable. */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^(22|23)[0-9A-Z]{3}$/.test(code);
}

/** One lane: the batch being collected, and whether the lane's previous batch is committing. */
interface Lane {
  pending: PendingMessage[];
  rows: number;
  /** performance.now() when the oldest pending message arrived. */
  openedAt: number;
  timer: NodeJS.Timeout | undefined;
  busy: boolean;
}

export class BatchWriter {
  private readonly lanes: Lane[];
  private inFlight = 0;
  private batchSeq = 0;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];
  private readonly now: () => number;
  private unacked = 0;
  /** Batches holding alarms commit in order, so a cancellation finds the alarm it cancels. */
  private alarmChain: Promise<void> = Promise.resolve();
  private readonly deviceRows = new DeviceRowThrottle();

  constructor(private readonly options: BatchWriterOptions) {
    const lanes = Math.max(1, options.maxConcurrent ?? 3);
    this.lanes = Array.from({ length: lanes }, () => ({
      pending: [],
      rows: 0,
      openedAt: 0,
      timer: undefined,
      busy: false,
    }));
    this.now = options.now ?? Date.now;
  }

  /** Messages received but not yet acknowledged (in an open batch or committing). */
  get backlog(): number {
    return this.unacked;
  }

  add(message: PendingMessage): void {
    this.unacked++;
    this.options.metrics.pendingMessages.set(this.unacked);
    const d = message.decision;
    if (d.kind === "store" && d.alarm !== null) {
      // Alarms take their own lane: committed at once, never waiting for a batch or a commit slot.
      this.startCommit([message], undefined);
      return;
    }
    const lane = this.lanes[laneIndex(d, this.lanes.length)] as Lane;
    if (lane.pending.length === 0) lane.openedAt = performance.now();
    lane.pending.push(message);
    lane.rows += rowsOf(d);
    if (lane.rows >= this.options.maxRows) this.flushLane(lane);
    else if (!lane.timer && !lane.busy) {
      lane.timer = setTimeout(() => this.flushLane(lane), this.options.maxWaitMs);
    }
  }

  private startCommit(items: PendingMessage[], lane: Lane | undefined): void {
    this.inFlight++;
    if (lane) lane.busy = true;
    void this.commit(items, lane === undefined).finally(() => {
      this.inFlight--;
      if (lane) {
        lane.busy = false;
        if (lane.pending.length > 0) {
          const waited = performance.now() - lane.openedAt;
          if (lane.rows >= this.options.maxRows || this.stopping || waited >= this.options.maxWaitMs) {
            this.flushLane(lane);
          } else if (!lane.timer) {
            lane.timer = setTimeout(() => this.flushLane(lane), this.options.maxWaitMs - waited);
          }
        }
      }
      if (this.inFlight === 0 && this.lanes.every((l) => l.pending.length === 0)) {
        for (const w of this.idleWaiters.splice(0)) w();
      }
    });
  }

  /** Closes every lane's open batch now (a lane still committing closes its batch when done). */
  flush(): void {
    for (const lane of this.lanes) this.flushLane(lane);
  }

  private flushLane(lane: Lane): void {
    if (lane.timer) {
      clearTimeout(lane.timer);
      lane.timer = undefined;
    }
    if (lane.busy || lane.pending.length === 0) return;
    let rows = 0;
    let n = 0;
    while (n < lane.pending.length && (n === 0 || rows < this.options.maxRows)) {
      rows += rowsOf((lane.pending[n] as PendingMessage).decision);
      n++;
    }
    const items = lane.pending.splice(0, n);
    lane.rows -= rows;
    if (lane.pending.length > 0) lane.openedAt = performance.now();
    this.startCommit(items, lane);
  }

  /** Commits everything received so far and resolves when all of it is acknowledged. */
  async drain(): Promise<void> {
    this.stopping = true;
    this.flush();
    if (this.inFlight === 0 && this.lanes.every((l) => l.pending.length === 0)) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private async commit(items: PendingMessage[], isAlarm: boolean): Promise<void> {
    const id = ++this.batchSeq;
    const log = this.options.logger.child({ batch: id });
    const started = performance.now();
    const oldest = items.reduce((m, i) => Math.min(m, i.receivedAt), Number.POSITIVE_INFINITY);
    this.options.metrics.lagSeconds.set(Math.max(0, (this.now() - oldest) / 1000));
    let attempt = 0;
    let releaseAlarmTurn = () => {};
    if (isAlarm) {
      const previous = this.alarmChain;
      this.alarmChain = new Promise<void>((resolve) => {
        releaseAlarmTurn = resolve;
      });
      await previous;
    }
    try {
      await this.commitAttempts(items, log, started, attempt);
    } finally {
      releaseAlarmTurn();
    }
  }

  private async commitAttempts(
    items: PendingMessage[],
    log: Logger,
    started: number,
    attempt: number,
  ): Promise<void> {
    for (;;) {
      try {
        const alarms = await this.writeSplitting(items, log);
        const seconds = (performance.now() - started) / 1000;
        this.afterCommit(items, alarms, seconds);
        await this.options.afterCommit?.(alarms);
        for (const m of items) m.ack();
        this.unacked -= items.length;
        this.options.metrics.pendingMessages.set(this.unacked);
        log.debug(
          { messages: items.length, alarms: alarms.length, ms: Math.round(seconds * 1000) },
          "batch committed",
        );
        return;
      } catch (err) {
        attempt++;
        this.options.metrics.batchFailures.inc();
        const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt, 10));
        log.warn(
          { err, attempt, retryInMs: delay, messages: items.length },
          "batch not committed; will retry",
        );
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** One transaction for the batch; on a data error, one per message, the refused ones as dead letters. */
  private async writeSplitting(items: PendingMessage[], log: Logger): Promise<AlarmOutcome[]> {
    try {
      const result = await commitBatch(this.options.pool, {
        ...toBatch(items),
        deviceFilter: this.deviceRows.wants,
        ...(this.options.useCopy === false ? { copyMinRows: Number.POSITIVE_INFINITY } : {}),
      });
      this.deviceRows.record(result.devicesWritten);
      this.options.metrics.positionsStored.inc(result.positionsInserted);
      return result.alarms;
    } catch (err) {
      if (!isDataError(err) || items.length === 0) throw err;
      log.warn({ err, messages: items.length }, "batch refused for its data; storing message by message");
    }
    const alarms: AlarmOutcome[] = [];
    for (const item of items) {
      try {
        const result = await commitBatch(this.options.pool, toBatch([item]));
        this.options.metrics.positionsStored.inc(result.positionsInserted);
        alarms.push(...result.alarms);
      } catch (err) {
        if (!isDataError(err)) throw err;
        const row = refusedRow(item, err);
        item.decision = { kind: "dead_letter", row };
        await commitBatch(this.options.pool, { stores: [], deadLetters: [row] });
      }
    }
    return alarms;
  }

  private afterCommit(items: PendingMessage[], alarms: AlarmOutcome[], seconds: number): void {
    const m = this.options.metrics;
    m.batchRows.observe(items.reduce((n, i) => n + rowsOf(i.decision), 0));
    m.commitSeconds.observe(seconds);
    for (const a of alarms) if (a.created) m.alarmsRaised.inc();
    for (const i of items) {
      if (i.decision.kind === "dead_letter") m.deadLetters.inc({ reason: i.decision.row.reason });
    }
  }
}

/** The lane of a message: by device (or, for a dead letter of no known device, by topic). */
function laneIndex(d: Decision, lanes: number): number {
  if (lanes === 1) return 0;
  const key = d.kind === "store" ? d.device.id : (d.row.deviceId ?? d.row.topic);
  let h = 0;
  for (let i = key.length - 8; i < key.length; i++) h = (h * 31 + key.charCodeAt(Math.max(0, i))) | 0;
  return (h >>> 0) % lanes;
}

function toBatch(items: PendingMessage[]): BatchInput {
  const stores: StoreDecision[] = [];
  const deadLetters: DeadLetterRow[] = [];
  for (const item of items) {
    if (item.decision.kind === "store") stores.push(item.decision);
    else deadLetters.push(marked(item, item.decision.row));
  }
  return { stores, deadLetters };
}

function refusedRow(item: PendingMessage, err: unknown): DeadLetterRow {
  const d = item.decision;
  if (d.kind === "dead_letter") return marked(item, d.row);
  const text = Buffer.from(d.raw.payloadText, "utf8");
  return marked(item, {
    receivedAt: item.receivedAt,
    transport: "mqtt",
    topic: d.raw.topic,
    organisationId: d.device.organisationId,
    deviceId: d.device.id,
    reason: "storage_rejected",
    detail: err instanceof Error ? err.message.slice(0, 1_000) : String(err),
    payloadExcerpt: payloadExcerpt(text),
    payloadBytes: text.byteLength,
    payloadSha256: sha256Hex(text),
  });
}

/** A dead letter carries its message's redelivery mark (MQTT DUP), so storing it looks for the first copy. */
function marked(item: PendingMessage, row: DeadLetterRow): DeadLetterRow {
  return item.redelivered ? { ...row, redelivered: true } : row;
}
