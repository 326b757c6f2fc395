/**
 * From a received message to a pending row: resolve the device (cached), run
 * the pure `decide`, hand the decision to the batch writer with the ack the
 * transport gave us.
 */
import { type ParsedTopic, parseDeviceTopic } from "@vakt/schemas";
import type { Logger } from "pino";
import type { IngestMetrics } from "../metrics";
import { type Decision, type DeviceLookup, decide, type Transport } from "./decide";
import type { DeviceDirectory } from "./device-directory";
import type { BatchWriter } from "./writer";

export interface PipelineOptions {
  directory: DeviceDirectory;
  writer: BatchWriter;
  metrics: IngestMetrics;
  logger: Logger;
  maxPayloadBytes: number;
  now: () => number;
}

/** Topics parsed so far (one per device and kind); emptied when it grows past this. */
const TOPIC_CACHE_SIZE = 200_000;

export class Pipeline {
  private stopping = false;
  private readonly resolving = new Set<Promise<void>>();
  private readonly topics = new Map<string, ParsedTopic>();
  private readonly counters = new Map<string, { inc(): void }>();

  constructor(private readonly o: PipelineOptions) {}

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
      if (this.topics.size >= TOPIC_CACHE_SIZE) this.topics.clear();
      this.topics.set(topic, parsed);
    }
    const kind = parsed.ok ? parsed.kind : "unknown";
    this.counter(transport, kind).inc();
    const parsedTopic = parsed;
    return this.acceptWith(
      parsed.ok ? parsed.serial : undefined,
      ack,
      (lookup, now) =>
        decide(topic, payload, now, lookup, {
          maxPayloadBytes: this.o.maxPayloadBytes,
          transport,
          parsedTopic,
        }),
      redelivered,
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
  ): boolean {
    if (this.stopping) return false;
    const receivedAt = this.o.now();
    if (serial === undefined || this.o.directory.peek(serial) !== undefined) {
      this.submit(make, receivedAt, ack, redelivered);
      return true;
    }
    const p = this.resolveWithRetry(serial).then((ok) => {
      if (ok) this.submit(make, receivedAt, ack, redelivered);
    });
    this.resolving.add(p);
    void p.finally(() => this.resolving.delete(p));
    return true;
  }

  /** Decides (the device look-up is synchronous now) and hands the decision to the writer. A method, not a closure: it runs per message. */
  private submit(
    make: (lookup: DeviceLookup, now: number) => Decision,
    receivedAt: number,
    ack: () => void,
    redelivered: boolean,
  ): void {
    this.o.writer.add({ decision: make(this.o.directory.lookup, receivedAt), receivedAt, ack, redelivered });
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
    await Promise.all([...this.resolving]);
  }
}
