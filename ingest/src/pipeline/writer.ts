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
 * their own and commit at once.
 *
 * Nothing a device sends can stall a lane (storage-errors.ts):
 * - a batch the database refuses for its data is split in halves until the
 *   messages to blame are alone; each of those becomes a dead letter with the
 *   database's reason, and the rest commits and is acknowledged;
 * - a batch that keeps failing with a "transient" error while other batches
 *   commit (so the database is there) is split the same way, and a message
 *   that still fails alone is kept as a `storage_failed` dead letter;
 * - when the database is away nothing commits anywhere: batches are retried
 *   with backoff, unacknowledged, for as long as it takes, and the broker
 *   keeps the rest.
 * A lane with work and no commit for `stallAfterMs` is reported (`stalled()`,
 * a metric, one log line per change of state), and `drain` gives up after its
 * grace period: what is not committed is not acknowledged.
 */
import type pg from "pg";
import type { Logger } from "pino";
import type { IngestMetrics } from "../metrics";
import { bare, type PendingMessage, refusedRow, toBatch } from "./batch-items";
import { bytesOf, type DeadLetterReason, rowsOf } from "./decide";
import { FollowUps } from "./follow-ups";
import { batchFull, type Lane, laneIndex, newLane, type StalledLane, stalledLanes, takeBatch } from "./lanes";
import { storageErrorKind } from "./storage-errors";
import { type AlarmOutcome, commitBatch } from "./store";
import { DeviceRowThrottle } from "./throttle";

export type { PendingMessage } from "./batch-items";
export { laneIndex, type StalledLane } from "./lanes";
export { isDataError } from "./storage-errors";

export interface BatchWriterOptions {
  pool: pg.Pool;
  /** Connections for the alarm lane alone (default: pool), so an alarm never queues for one behind position batches. */
  alarmPool?: pg.Pool;
  logger: Logger;
  metrics: IngestMetrics;
  maxRows: number;
  /**
   * A batch also closes once it holds this much of what arrived (bytesOf; default
   * BATCH_MAX_BYTES), so that no statement grows with the size of the messages.
   */
  maxBytes?: number;
  maxWaitMs: number;
  maxConcurrent?: number;
  /** Runs after commit and before the acks: tells devices their alarm was stored. */
  afterCommit?: (alarms: AlarmOutcome[]) => Promise<void> | void;
  now?: () => number;
  /** Use COPY for large batches (default true). */
  useCopy?: boolean;
  /** Work waiting this long without a commit marks its lane stalled (default 10 s). */
  stallAfterMs?: number;
  /** Before each lane's name (health, metrics): the alarm worker's lanes are told apart from the main thread's. */
  laneNamePrefix?: string;
}

/**
 * 8 MiB: a full batch of small messages (5,000 rows of ~150 B is under 1 MiB) never meets it. Without
 * it, 5,000 dead letters each keeping 64 KiB made one statement of 330 MB, whose bytea[] parameter pg
 * spells as hex in one string of 655 MB, past the longest string V8 holds (2^29 - 24 characters).
 */
export const BATCH_MAX_BYTES = 8 * 1024 * 1024;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;
/** Transient failures of one batch, while others commit, before it is split to find the one to blame. */
const ISOLATE_AFTER_ATTEMPTS = 2;
/** Transient failures of one message alone, while others commit, before it is kept as a dead letter. */
const GIVE_UP_AFTER_ATTEMPTS = 4;
const STALL_CHECK_MS = 1_000;

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
  /** An alarm's newest position and device row, written apart from the alarm (alarms.ts). */
  private readonly followUps: FollowUps;
  /** The alarm lane: alarms committing (or waiting for their turn) now. */
  private readonly alarms: Lane;
  /** this.now() of the last commit anywhere: proof that the database is there. */
  private lastCommitAt = 0;
  /** Set when drain's grace period ran out: no more retries, no more acks. */
  private abandoned = false;
  private readonly stallTimer: NodeJS.Timeout;
  private readonly maxBytes: number;

  /** Another writer of the device's row (the broker's presence report) changed it: write the next update. */
  forgetDevice(deviceId: string): void {
    this.deviceRows.forget(deviceId);
  }

  constructor(private readonly options: BatchWriterOptions) {
    const lanes = Math.max(1, options.maxConcurrent ?? 3);
    this.maxBytes = options.maxBytes ?? BATCH_MAX_BYTES;
    this.now = options.now ?? Date.now;
    const prefix = options.laneNamePrefix ?? "";
    this.lanes = Array.from({ length: lanes }, (_, i) => newLane(`${prefix}positions-${i}`, this.now()));
    this.alarms = newLane(`${prefix}alarms`, this.now());
    this.followUps = new FollowUps({ pool: options.pool, logger: options.logger });
    this.stallTimer = setInterval(() => this.checkStalls(), STALL_CHECK_MS);
    this.stallTimer.unref();
  }

  /** Lanes with work and no commit for longer than `stallAfterMs`. */
  stalled(): StalledLane[] {
    return stalledLanes([...this.lanes, this.alarms], this.now(), this.options.stallAfterMs ?? 10_000);
  }

  /** One log line and a metric change per lane that stalls or recovers. */
  private checkStalls(): void {
    const stalled = new Map(this.stalled().map((s) => [s.lane, s]));
    for (const lane of [...this.lanes, this.alarms]) {
      const s = stalled.get(lane.name);
      this.options.metrics.laneWaitSeconds.set({ lane: lane.name }, s?.waitingS ?? 0);
      if ((s !== undefined) === lane.stalled) continue;
      lane.stalled = s !== undefined;
      this.options.metrics.laneStalled.set({ lane: lane.name }, lane.stalled ? 1 : 0);
      if (s) this.options.logger.error(s, "ingest lane stalled: work waiting without a commit");
      else this.options.logger.info({ lane: lane.name }, "ingest lane recovered");
    }
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
      this.alarms.committing.push(message);
      this.startCommit([message], undefined);
      return;
    }
    const lane = this.lanes[laneIndex(d, this.lanes.length)] as Lane;
    if (lane.pending.length === 0) lane.openedAt = performance.now();
    lane.pending.push(message);
    lane.rows += rowsOf(d);
    lane.bytes += bytesOf(d);
    if (batchFull(lane, this.options.maxRows, this.maxBytes)) this.flushLane(lane);
    else if (!lane.timer && !lane.busy) {
      lane.timer = setTimeout(() => this.flushLane(lane), this.options.maxWaitMs);
    }
  }

  private startCommit(items: PendingMessage[], lane: Lane | undefined): void {
    this.inFlight++;
    if (lane) {
      lane.busy = true;
      lane.committing = items;
    }
    void this.commit(items, lane ?? this.alarms).finally(() => {
      this.inFlight--;
      if (!lane) {
        const done = new Set(items);
        this.alarms.committing = this.alarms.committing.filter((m) => !done.has(m));
      }
      if (lane) {
        lane.busy = false;
        lane.committing = [];
        if (lane.pending.length > 0) {
          const waited = performance.now() - lane.openedAt;
          if (
            batchFull(lane, this.options.maxRows, this.maxBytes) ||
            this.stopping ||
            waited >= this.options.maxWaitMs
          ) {
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
    const { n, rows, bytes } = takeBatch(lane.pending, this.options.maxRows, this.maxBytes);
    const items = lane.pending.splice(0, n);
    lane.rows -= rows;
    lane.bytes -= bytes;
    if (lane.pending.length > 0) lane.openedAt = performance.now();
    this.startCommit(items, lane);
  }

  /**
   * Commits everything received so far and resolves when all of it is acknowledged, or after
   * `graceMs`: then retries stop, nothing more is acknowledged (the broker keeps it) and HTTP
   * senders waiting for an answer are told it was not stored.
   */
  async drain(graceMs = Number.POSITIVE_INFINITY): Promise<{ abandoned: number }> {
    this.stopping = true;
    this.flush();
    const idle = () => this.inFlight === 0 && this.lanes.every((l) => l.pending.length === 0);
    if (!idle()) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        ...(Number.isFinite(graceMs)
          ? [new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]
          : []),
      ]);
      clearTimeout(timer);
    }
    clearInterval(this.stallTimer);
    await this.followUps.settled(graceMs);
    if (idle()) return { abandoned: 0 };
    this.abandoned = true;
    const left = [...this.lanes, this.alarms].flatMap((l) => [...l.committing, ...l.pending]);
    for (const l of this.lanes) l.pending = [];
    for (const m of left) m.nack?.();
    this.options.logger.warn(
      { messages: left.length, stalled: this.stalled() },
      "drain grace period over: stopping with messages not committed and not acknowledged",
    );
    return { abandoned: left.length };
  }

  private async commit(items: PendingMessage[], lane: Lane): Promise<void> {
    const id = ++this.batchSeq;
    const log = this.options.logger.child({ batch: id });
    const oldest = items.reduce((m, i) => Math.min(m, i.receivedAt), Number.POSITIVE_INFINITY);
    this.options.metrics.lagSeconds.set(Math.max(0, (this.now() - oldest) / 1000));
    let releaseAlarmTurn = () => {};
    if (lane === this.alarms) {
      const previous = this.alarmChain;
      this.alarmChain = new Promise<void>((resolve) => {
        releaseAlarmTurn = resolve;
      });
      await previous;
    }
    try {
      await this.store(items, lane, log);
    } finally {
      releaseAlarmTurn();
    }
  }

  /**
   * Commits `items` in one transaction and acknowledges them, or, when that fails for something in
   * them, in halves (in order, so a device's messages still commit in the order they came), down to
   * single messages, which are then kept as dead letters. Resolves once every item is acknowledged,
   * or when drain gave up.
   */
  private async store(items: PendingMessage[], lane: Lane, log: Logger): Promise<void> {
    const started = performance.now();
    const firstTry = this.now();
    for (let attempt = 1; ; attempt++) {
      let err: unknown;
      try {
        const alarms = await this.write(items, lane);
        this.committed(items, lane, alarms, (performance.now() - started) / 1000);
        await this.options.afterCommit?.(alarms);
        this.acknowledge(items);
        log.debug({ messages: items.length, alarms: alarms.length }, "batch committed");
        return;
      } catch (e) {
        err = e;
      }
      if (this.abandoned) return;
      this.options.metrics.batchFailures.inc();
      const kind = storageErrorKind(err);
      // Others committed since this one first failed: the database is there, something in here is not.
      const isolable = this.lastCommitAt > firstTry;
      const blame =
        kind === "data" ||
        (isolable && attempt >= (items.length > 1 ? ISOLATE_AFTER_ATTEMPTS : GIVE_UP_AFTER_ATTEMPTS));
      if (blame && items.length > 1) {
        log.warn(
          { err, kind, messages: items.length },
          "batch not committed; splitting it to isolate the cause",
        );
        const half = Math.ceil(items.length / 2);
        await this.store(items.slice(0, half), lane, log);
        await this.store(items.slice(half), lane, log);
        return;
      }
      if (blame) {
        const item = items[0] as PendingMessage;
        await this.keepAsDeadLetter(
          item,
          kind === "data" ? "storage_rejected" : "storage_failed",
          err,
          lane,
          log,
        );
        return;
      }
      const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt, 10));
      log.warn({ err, attempt, retryInMs: delay, messages: items.length }, "batch not committed; will retry");
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /**
   * A message the database will not take, kept as a dead letter with the reason. Should even that be
   * refused (it cannot, by construction: bytes as bytea, text made storable), a bare one is kept.
   */
  private async keepAsDeadLetter(
    item: PendingMessage,
    reason: DeadLetterReason,
    cause: unknown,
    lane: Lane,
    log: Logger,
  ): Promise<void> {
    const row = refusedRow(item, reason, cause);
    item.decision = { kind: "dead_letter", row };
    log.warn({ reason, detail: row.detail, topic: row.topic }, "message kept as a dead letter");
    for (let attempt = 1; ; attempt++) {
      try {
        await commitBatch(this.options.pool, { stores: [], deadLetters: [attempt > 1 ? bare(row) : row] });
        this.committed([item], lane, [], 0);
        this.acknowledge([item]);
        return;
      } catch (err) {
        if (this.abandoned) return;
        log.error({ err, attempt }, "dead letter not stored; will retry");
        await new Promise((r) =>
          setTimeout(r, Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(attempt, 10))),
        );
      }
    }
  }

  private acknowledge(items: PendingMessage[]): void {
    if (this.abandoned) return;
    for (const m of items) m.ack();
    this.unacked -= items.length;
    this.options.metrics.pendingMessages.set(this.unacked);
  }

  private async write(items: PendingMessage[], lane: Lane): Promise<AlarmOutcome[]> {
    // The alarm lane never waits for a connection that a position batch holds.
    const pool = lane === this.alarms ? (this.options.alarmPool ?? this.options.pool) : this.options.pool;
    const result = await commitBatch(pool, {
      ...toBatch(items),
      deviceFilter: this.deviceRows.wants,
      ...(this.options.useCopy === false ? { copyMinRows: Number.POSITIVE_INFINITY } : {}),
    });
    if (result.aftermath) this.followUps.run("alarm aftermath", result.aftermath);
    this.deviceRows.record(result.devicesWritten);
    this.options.metrics.positionsStored.inc(result.positionsInserted);
    for (const refused of result.refused) {
      const item = items.find((i) => i.decision === refused.decision);
      if (item) item.decision = { kind: "dead_letter", row: refused.row };
    }
    return result.alarms;
  }

  private committed(items: PendingMessage[], lane: Lane, alarms: AlarmOutcome[], seconds: number): void {
    this.lastCommitAt = this.now();
    lane.lastCommitAt = this.lastCommitAt;
    const m = this.options.metrics;
    m.batchRows.observe(items.reduce((n, i) => n + rowsOf(i.decision), 0));
    m.batchBytes.observe(items.reduce((n, i) => n + bytesOf(i.decision), 0));
    m.commitSeconds.observe(seconds);
    for (const a of alarms) if (a.created) m.alarmsRaised.inc();
    for (const i of items) {
      if (i.decision.kind === "dead_letter") m.deadLetters.inc({ reason: i.decision.row.reason });
    }
  }
}
