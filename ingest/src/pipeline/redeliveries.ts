/**
 * Redelivered messages (the broker's DUP flag) and the one among them that kills ingest.
 *
 * Each redelivery is counted per topic and payload hash, committed before the message is handled.
 * Below `max` deliveries a message is handled as usual. From `max` on it is handled alone: its
 * attempt is recorded (committed), then it is decided and written while no other redelivered
 * message is, and the next waits for its commit. A message that comes back with an unfinished solo
 * attempt killed ingest while it was handled alone: that one, and only that one, is kept as a dead
 * letter `redelivery_limit`. Innocent messages that were in flight beside it each time (committed
 * but not yet acknowledged, or not yet reached) are stored, never blamed.
 */
import type pg from "pg";
import type { Logger } from "pino";
import type { IngestMetrics } from "../metrics";
import { sha256Hex } from "./decide";
import { storableText } from "./storable";

/** What the gate needs of a message: how to handle it, and its topic and payload for the count. */
export interface Redelivered {
  topic: string;
  payload: Uint8Array;
  ack: () => void;
  nack: (() => void) | undefined;
}

export interface RedeliveryGateOptions<M extends Redelivered> {
  pool: pg.Pool;
  /** Deliveries from which a message is handled alone; one that dies alone is then a dead letter. */
  max: number;
  logger: Logger;
  metrics: IngestMetrics;
  /** Handles a message as usual (device look-up, decide, writer); its ack runs after the commit. */
  handle: (m: M) => void;
  /** Handles it as a dead letter `redelivery_limit` instead. */
  refuse: (m: M, detail: string) => void;
  /** Health sees a statement under way that takes too long (the database away). */
  track: (p: Promise<void>) => void;
  stopping: () => boolean;
}

/** Redelivered messages counted per statement. */
const COUNT_BATCH = 2_000;

const storableTopic = (topic: string) => storableText(topic, 512);

export class RedeliveryGate<M extends Redelivered> {
  private readonly toCount: M[] = [];
  private readonly alarmsToCount: M[] = [];
  private counting = false;
  private readonly alone: { m: M; deliveries: number }[] = [];
  private handlingAlone = false;

  constructor(private readonly o: RedeliveryGateOptions<M>) {}

  push(m: M): void {
    // A resumed session redelivers thousands of positions at once: an alarm among them is counted in
    // the next statement, not after them.
    // In their order among themselves: a cancellation must come after the alarm it cancels.
    (m.topic.endsWith("/up/alarm") ? this.alarmsToCount : this.toCount).push(m);
    if (this.counting) return;
    this.counting = true;
    void this.countAll()
      .catch((err: unknown) => this.o.logger.error({ err }, "counting redeliveries failed"))
      .finally(() => {
        this.counting = false;
      });
  }

  /** A resumed session redelivers thousands at once: one statement per batch, one batch at a time. */
  private async countAll(): Promise<void> {
    while (this.alarmsToCount.length > 0 || this.toCount.length > 0) {
      const alarms = this.alarmsToCount.splice(0, COUNT_BATCH);
      const batch = [...alarms, ...this.toCount.splice(0, COUNT_BATCH - alarms.length)];
      const counted = this.countBatch(batch);
      this.o.track(counted.then(() => {}));
      const deliveries = await counted;
      batch.forEach((m, i) => {
        const n = deliveries[i] ?? 0;
        if (n < this.o.max) this.o.handle(m);
        else this.alone.push({ m, deliveries: n });
      });
      this.startAlone();
    }
  }

  private startAlone(): void {
    if (this.handlingAlone || this.alone.length === 0 || this.o.stopping()) return;
    this.handlingAlone = true;
    void this.handleAlone()
      .catch((err: unknown) => this.o.logger.error({ err }, "handling a redelivered message alone failed"))
      .finally(() => {
        this.handlingAlone = false;
        this.startAlone();
      });
  }

  /** Each message's deliveries so far (0 when the database could not count: handled as usual). */
  private async countBatch(batch: M[]): Promise<number[]> {
    // One row per topic and payload: the same message twice in a batch counts twice.
    const keyed = new Map<string, { topic: string; sha: string; n: number }>();
    const keys = batch.map((m) => {
      const topic = storableTopic(m.topic);
      const sha = sha256Hex(m.payload);
      const key = `${sha}\u0001${topic}`;
      const k = keyed.get(key);
      if (k) k.n++;
      else keyed.set(key, { topic, sha, n: 1 });
      return key;
    });
    const deliveries = new Map<string, number>();
    try {
      const rows = [...keyed.values()];
      const r = await this.o.pool.query<{ topic: string; sha: string; deliveries: number }>(
        `INSERT INTO ingest_redeliveries (topic, payload_sha256, deliveries)
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[])
         ON CONFLICT (topic, payload_sha256)
         DO UPDATE SET deliveries = ingest_redeliveries.deliveries + excluded.deliveries, last_at = now()
         RETURNING topic, payload_sha256 AS sha, deliveries`,
        [rows.map((x) => x.topic), rows.map((x) => x.sha), rows.map((x) => x.n)],
      );
      for (const row of r.rows) deliveries.set(`${row.sha}\u0001${row.topic}`, row.deliveries);
    } catch (err) {
      // The database is away: handle them as usual (the writer waits for the database).
      this.o.logger.warn({ err, messages: batch.length }, "redeliveries not counted");
    }
    return keys.map((k) => deliveries.get(k) ?? 0);
  }

  /** One at a time, each after the previous one's commit; stops taking the next when ingest stops. */
  private async handleAlone(): Promise<void> {
    for (;;) {
      const next = this.alone.shift();
      if (!next || this.o.stopping()) return;
      const { m, deliveries } = next;
      const topic = storableTopic(m.topic);
      const sha = sha256Hex(m.payload);
      let attempts: number;
      try {
        const marked = this.o.pool.query<{ attempts: number }>(
          `UPDATE ingest_redeliveries SET solo_attempts = solo_attempts + 1, last_at = now()
            WHERE topic = $1 AND payload_sha256 = $2 RETURNING solo_attempts AS attempts`,
          [topic, sha],
        );
        this.o.track(marked.then(() => {}));
        attempts = (await marked).rows[0]?.attempts ?? 1;
      } catch (err) {
        this.o.logger.warn({ err }, "redelivered message not marked; handled as usual");
        this.o.handle(m);
        continue;
      }
      const done = new Promise<void>((resolve) => {
        const settled = {
          ...m,
          ack: () => {
            m.ack();
            resolve();
          },
          nack: () => {
            m.nack?.();
            resolve();
          },
        };
        if (attempts > 1) {
          this.o.metrics.redeliveriesRefused.inc();
          this.o.logger.warn(
            { topic, deliveries },
            "a message killed ingest while handled alone: dead letter",
          );
          this.o.refuse(
            settled,
            `delivered ${deliveries} times without being stored (limit ${this.o.max}); ingest died handling it alone`,
          );
        } else {
          this.o.handle(settled);
        }
      });
      await done;
      // Stored (or kept): a later redelivery of it (an ack lost to a restart) starts a new count.
      if (attempts <= 1) {
        await this.o.pool
          .query("DELETE FROM ingest_redeliveries WHERE topic = $1 AND payload_sha256 = $2", [topic, sha])
          .catch((err: unknown) => this.o.logger.warn({ err }, "redelivery count not reset"));
      }
    }
  }
}
