/**
 * From a received message to a pending row: resolve the device (cached), run
 * the pure `decide`, hand the decision to the batch writer with the ack the
 * transport gave us. Whatever a message makes `decide` (or a tracker adapter)
 * throw, it becomes a dead letter `ingest_error`; a message the broker keeps
 * redelivering is handled alone after `maxRedeliveries`, and becomes a dead
 * letter `redelivery_limit` only if ingest died on it then (redeliveries.ts).
 */
import { type ParsedTopic, parseDeviceTopic } from "@vakt/schemas";
import type pg from "pg";
import type { Logger } from "pino";
import type { IngestMetrics } from "../metrics";
import {
  type Decision,
  type DeviceLookup,
  deadLetter,
  decide,
  serialOfDeviceTopic,
  type Transport,
} from "./decide";
import type { DeviceDirectory } from "./device-directory";
import { type Redelivered, RedeliveryGate } from "./redeliveries";
import type { BatchWriter } from "./writer";

export interface PipelineOptions {
  directory: DeviceDirectory;
  writer: BatchWriter;
  metrics: IngestMetrics;
  logger: Logger;
  maxPayloadBytes: number;
  now: () => number;
  /** Where redeliveries are counted (`ingest_redeliveries`); without it they are not. */
  pool?: pg.Pool;
  /** Deliveries of one message (topic and payload) from which it is handled alone (default 5; redeliveries.ts). */
  maxRedeliveries?: number;
}

/** What an MQTT message is, for counting its redeliveries and for a dead letter when it cannot be decided. */
export interface RawUplink {
  topic: string;
  payload: Uint8Array;
  transport: Transport;
}

interface Submission {
  serial: string | undefined;
  make: (lookup: DeviceLookup, now: number) => Decision;
  receivedAt: number;
  ack: () => void;
  redelivered: boolean;
  raw: RawUplink | undefined;
  nack: (() => void) | undefined;
}

/** A redelivered message at the gate: what it counts by, and the submission it came as. */
type GatedMessage = RawUplink & Redelivered & { submission: Submission };

/** Topics parsed so far (one per device and kind); emptied when it grows past this. */
const TOPIC_CACHE_SIZE = 200_000;

export class Pipeline {
  private stopping = false;
  /** Messages waiting for a device look-up (or a redelivery count), with when each arrived. */
  private readonly resolving = new Map<Promise<void>, number>();
  private readonly topics = new Map<string, ParsedTopic>();
  private readonly counters = new Map<string, { inc(): void }>();
  private readonly redeliveries: RedeliveryGate<GatedMessage> | undefined;

  constructor(private readonly o: PipelineOptions) {
    const pool = o.pool;
    if (!pool) return;
    this.redeliveries = new RedeliveryGate<GatedMessage>({
      pool,
      max: o.maxRedeliveries ?? 5,
      logger: o.logger,
      metrics: o.metrics,
      handle: (g) => this.resolveThenSubmit({ ...g.submission, ack: g.ack, nack: g.nack }),
      refuse: (g, detail) =>
        this.resolveThenSubmit({
          ...g.submission,
          ack: g.ack,
          nack: g.nack,
          make: (lookup, now) =>
            deadLetter({
              now,
              transport: g.transport,
              topic: g.topic,
              payload: g.payload,
              device: g.submission.serial !== undefined ? lookup(g.submission.serial) : undefined,
              reason: "redelivery_limit",
              detail,
            }),
        }),
      track: (p) => this.track(p, this.o.now()),
      stopping: () => this.stopping,
    });
  }

  /** Topics parsed and kept (contract topics only; see `accept`). */
  get cachedTopics(): number {
    return this.topics.size;
  }

  /** Messages waiting for their device look-up (the database being away). */
  get resolvingCount(): number {
    return this.resolving.size;
  }

  /** A device-contract message (vakt/v1/d/...). */
  accept(
    topic: string,
    payload: Buffer,
    transport: Transport,
    ack: () => void,
    redelivered = false,
  ): boolean {
    let parsed = this.topics.get(topic);
    if (parsed === undefined) {
      parsed = parseDeviceTopic(topic);
      // Only contract topics are kept: a device may publish under its prefix any number of distinct
      // topics up to 64 KiB long, and caching those would let it fill ingest's memory.
      if (parsed.ok) {
        if (this.topics.size >= TOPIC_CACHE_SIZE) this.topics.clear();
        this.topics.set(topic, parsed);
      }
    }
    const kind = parsed.ok ? parsed.kind : "unknown";
    this.counter(transport, kind).inc();
    const parsedTopic = parsed;
    return this.acceptWith(
      parsed.ok ? parsed.serial : serialOfDeviceTopic(topic),
      ack,
      (lookup, now) =>
        decide(topic, payload, now, lookup, {
          maxPayloadBytes: this.o.maxPayloadBytes,
          transport,
          parsedTopic,
        }),
      redelivered,
      { raw: { topic, payload, transport } },
    );
  }

  /** The messages-in counter of a transport and kind (labelled children cached: this runs per message). */
  private counter(transport: Transport, kind: string): { inc(): void } {
    const key = `${transport}/${kind}`;
    let c = this.counters.get(key);
    if (!c) {
      c = this.o.metrics.messagesIn.labels({ transport, kind });
      this.counters.set(key, c);
    }
    return c;
  }

  /**
   * Any transport: `serial` names the device to resolve first (if any), and
   * `make` builds the decision once the look-up is synchronous.
   */
  acceptWith(
    serial: string | undefined,
    ack: () => void,
    make: (lookup: DeviceLookup, now: number) => Decision,
    redelivered = false,
    extra: { raw?: RawUplink; nack?: () => void } = {},
  ): boolean {
    if (this.stopping) return false;
    const receivedAt = this.o.now();
    const m: Submission = { serial, make, receivedAt, ack, redelivered, raw: extra.raw, nack: extra.nack };
    if (redelivered && extra.raw && this.redeliveries) {
      this.redeliveries.push({ ...extra.raw, ack, nack: extra.nack, submission: m });
      return true;
    }
    this.resolveThenSubmit(m);
    return true;
  }

  private resolveThenSubmit(m: Submission): void {
    if (m.serial === undefined || this.o.directory.peek(m.serial) !== undefined) {
      this.submit(m);
      return;
    }
    this.track(
      this.resolveWithRetry(m.serial).then((ok) => {
        if (ok) this.submit(m);
        else m.nack?.();
      }),
      m.receivedAt,
    );
  }

  private track(p: Promise<void>, receivedAt: number): void {
    this.resolving.set(p, receivedAt);
    void p.finally(() => this.resolving.delete(p));
  }

  /** Seconds the oldest message has waited for its device look-up, when longer than `boundMs`. */
  lookupWaitS(boundMs: number): number | undefined {
    let oldest = Number.POSITIVE_INFINITY;
    for (const at of this.resolving.values()) oldest = Math.min(oldest, at);
    const waited = this.o.now() - oldest;
    return waited > boundMs ? Math.round(waited / 100) / 10 : undefined;
  }

  /** Decides (the device look-up is synchronous now) and hands the decision to the writer. A method, not a closure: it runs per message. */
  private submit(m: Submission): void {
    let decision: Decision;
    try {
      decision = m.make(this.o.directory.lookup, m.receivedAt);
    } catch (err) {
      this.o.logger.error(
        { err, topic: m.raw?.topic },
        "deciding a message threw; keeping it as a dead letter",
      );
      decision = deadLetter({
        now: m.receivedAt,
        transport: m.raw?.transport ?? "mqtt",
        topic: m.raw?.topic ?? "(unknown)",
        payload: m.raw?.payload ?? new Uint8Array(),
        device: m.serial !== undefined ? this.o.directory.lookup(m.serial) : undefined,
        reason: "ingest_error",
        detail: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      });
    }
    this.o.writer.add({
      decision,
      receivedAt: m.receivedAt,
      ack: m.ack,
      redelivered: m.redelivered,
      ...(m.nack ? { nack: m.nack } : {}),
    });
  }

  /** Resolves a serial, waiting out a database outage; false if stopping first. */
  private async resolveWithRetry(serial: string): Promise<boolean> {
    let delay = 100;
    for (;;) {
      try {
        await this.o.directory.resolve(serial);
        return true;
      } catch (err) {
        if (this.stopping) return false;
        this.o.logger.warn({ err, serial, retryInMs: delay }, "device look-up failed; will retry");
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(5_000, delay * 2);
      }
    }
  }

  /** Refuses new messages and waits for look-ups in progress (those that succeed still reach the writer). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.resolving.keys()]);
  }
}
