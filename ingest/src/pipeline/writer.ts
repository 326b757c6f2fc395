/**
 * Batches decisions into transactions and acknowledges each message only
 * after the transaction holding its rows has committed.
 *
 * A batch closes when it holds `maxRows` rows, when `maxWaitMs` has passed
 * since its first message, or at once when it holds an alarm. Up to
 * `maxConcurrent` batches commit at the same time. When the database is
 * unreachable a batch is retried with backoff, unacknowledged, for as long as
 * it takes; the broker keeps (and after a crash redelivers) everything not yet
 * acknowledged. A batch the database refuses for its data (a constraint, a
 * value out of range) is split: each message is tried alone and the one that
 * still fails becomes a dead letter, so one bad message cannot stall the rest.
 */
import { withTransaction } from "@vakt/storage";
import type pg from "pg";
import type { Logger } from "pino";
import type { IngestMetrics } from "../metrics";
import { type DeadLetterRow, type Decision, payloadExcerpt, rowsOf, type StoreDecision } from "./decide";
import { type AlarmOutcome, type BatchInput, DeviceRowThrottle, writeBatch } from "./store";

export interface PendingMessage {
  decision: Decision;
  receivedAt: number;
  /** Tells the sender the message is safe (MQTT PUBACK, HTTP 200). Called once, after commit. */
  ack: () => void;
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

export class BatchWriter {
  private pending: PendingMessage[] = [];
  private pendingRows = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly inFlightBatches = new Set<Promise<void>>();
  private batchSeq = 0;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];
  private readonly maxConcurrent: number;
  private readonly now: () => number;
  private unacked = 0;
  /** Batches holding alarms commit in order, so a cancellation finds the alarm it cancels. */
  private alarmChain: Promise<void> = Promise.resolve();
  private alarmCommits = 0;
  private readonly deviceRows = new DeviceRowThrottle();

  constructor(private readonly options: BatchWriterOptions) {
    this.maxConcurrent = options.maxConcurrent ?? 3;
    this.now = options.now ?? Date.now;
  }

  /** Messages received but not yet acknowledged (in the open batch or committing). */
  get backlog(): number {
    return this.unacked;
  }

  add(message: PendingMessage): void {
    this.unacked++;
    this.options.metrics.pendingMessages.set(this.unacked);
    if (message.decision.kind === "store" && message.decision.alarm !== null) {
      // Alarms take their own lane: committed at once, never waiting for a batch or a commit slot.
      this.startCommit([message]);
      return;
    }
    this.pending.push(message);
    this.pendingRows += rowsOf(message.decision);
    if (this.pendingRows >= this.options.maxRows) this.flush();
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.options.maxWaitMs);
  }

  private startCommit(items: PendingMessage[]): void {
    this.inFlight++;
    const p = this.commit(items).finally(() => {
      this.inFlight--;
      this.inFlightBatches.delete(p);
      if (this.pending.length > 0) {
        const full = this.pendingRows >= this.options.maxRows;
        if (full || this.stopping) this.flush();
        else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.options.maxWaitMs);
      }
      if (this.inFlight === 0 && this.pending.length === 0) {
        for (const w of this.idleWaiters.splice(0)) w();
      }
    });
    this.inFlightBatches.add(p);
  }

  /** Closes the open batch now (if a commit slot is free; otherwise when one frees up). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.pending.length > 0 && this.batchesInFlight() < this.maxConcurrent) {
      this.startCommit(this.takeBatch());
    }
  }

  /** Commit slots taken by ordinary batches (alarm commits do not count). */
  private batchesInFlight(): number {
    return this.inFlight - this.alarmCommits;
  }

  private takeBatch(): PendingMessage[] {
    let rows = 0;
    let n = 0;
    while (n < this.pending.length && (n === 0 || rows < this.options.maxRows)) {
      rows += rowsOf((this.pending[n] as PendingMessage).decision);
      n++;
    }
    const items = this.pending.splice(0, n);
    this.pendingRows -= rows;
    return items;
  }

  /** Commits everything received so far and resolves when all of it is acknowledged. */
  async drain(): Promise<void> {
    this.stopping = true;
    this.flush();
    if (this.inFlight === 0 && this.pending.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private async commit(items: PendingMessage[]): Promise<void> {
    const id = ++this.batchSeq;
    const log = this.options.logger.child({ batch: id });
    const started = performance.now();
    const oldest = items.reduce((m, i) => Math.min(m, i.receivedAt), Number.POSITIVE_INFINITY);
    this.options.metrics.lagSeconds.set(Math.max(0, (this.now() - oldest) / 1000));
    let attempt = 0;
    let releaseAlarmTurn = () => {};
    const isAlarm = items.some((m) => m.decision.kind === "store" && m.decision.alarm);
    if (isAlarm) {
      this.alarmCommits++;
      const previous = this.alarmChain;
      this.alarmChain = new Promise<void>((resolve) => {
        releaseAlarmTurn = resolve;
      });
      await previous;
    }
    try {
      await this.commitAttempts(items, log, started, attempt);
    } finally {
      if (isAlarm) this.alarmCommits--;
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
      const result = await withTransaction(this.options.pool, (c) =>
        writeBatch(c, {
          ...toBatch(items),
          deviceFilter: this.deviceRows.wants,
          ...(this.options.useCopy === false ? { copyMinRows: Number.POSITIVE_INFINITY } : {}),
        }),
      );
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
        const result = await withTransaction(this.options.pool, (c) => writeBatch(c, toBatch([item])));
        this.options.metrics.positionsStored.inc(result.positionsInserted);
        alarms.push(...result.alarms);
      } catch (err) {
        if (!isDataError(err)) throw err;
        const row = refusedRow(item, err);
        item.decision = { kind: "dead_letter", row };
        await withTransaction(this.options.pool, (c) => writeBatch(c, { stores: [], deadLetters: [row] }));
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

function toBatch(items: PendingMessage[]): BatchInput {
  const stores: StoreDecision[] = [];
  const deadLetters: DeadLetterRow[] = [];
  for (const { decision } of items) {
    if (decision.kind === "store") stores.push(decision);
    else deadLetters.push(decision.row);
  }
  return { stores, deadLetters };
}

function refusedRow(item: PendingMessage, err: unknown): DeadLetterRow {
  const d = item.decision;
  if (d.kind === "dead_letter") return d.row;
  const text = Buffer.from(d.raw.payloadText, "utf8");
  return {
    receivedAt: item.receivedAt,
    transport: "mqtt",
    topic: d.raw.topic,
    organisationId: d.device.organisationId,
    deviceId: d.device.id,
    reason: "storage_rejected",
    detail: err instanceof Error ? err.message.slice(0, 1_000) : String(err),
    payloadExcerpt: payloadExcerpt(text),
    payloadBytes: text.byteLength,
  };
}
