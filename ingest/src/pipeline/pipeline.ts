/**
 * From a received message to a pending row: resolve the device (cached), run
 * the pure `decide`, hand the decision to the batch writer with the ack the
 * transport gave us.
 */
import { parseDeviceTopic } from "@vakt/schemas";
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

export class Pipeline {
  private stopping = false;
  private readonly resolving = new Set<Promise<void>>();

  constructor(private readonly o: PipelineOptions) {}

  /** Messages waiting for their device look-up (the database being away). */
  get resolvingCount(): number {
    return this.resolving.size;
  }

  /** A device-contract message (vakt/v1/d/...). */
  accept(topic: string, payload: Buffer, transport: Transport, ack: () => void): boolean {
    const parsed = parseDeviceTopic(topic);
    const kind = parsed.ok ? parsed.kind : "unknown";
    this.o.metrics.messagesIn.inc({ transport, kind });
    return this.acceptWith(parsed.ok ? parsed.serial : undefined, ack, (lookup, now) =>
      decide(topic, payload, now, lookup, { maxPayloadBytes: this.o.maxPayloadBytes, transport }),
    );
  }

  /**
   * Any transport: `serial` names the device to resolve first (if any), and
   * `make` builds the decision once the look-up is synchronous.
   */
  acceptWith(
    serial: string | undefined,
    ack: () => void,
    make: (lookup: DeviceLookup, now: number) => Decision,
  ): boolean {
    if (this.stopping) return false;
    const receivedAt = this.o.now();
    const run = () => {
      const decision = make(this.o.directory.lookup, receivedAt);
      this.o.writer.add({ decision, receivedAt, ack });
    };
    if (serial === undefined || this.o.directory.peek(serial) !== undefined) {
      run();
      return true;
    }
    const p = this.resolveWithRetry(serial).then((ok) => {
      if (ok) run();
    });
    this.resolving.add(p);
    void p.finally(() => this.resolving.delete(p));
    return true;
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
