/**
 * The pipeline under a device that publishes any topic under its own prefix: every message is
 * handed to the writer (a dead letter for a topic outside the contract), and only contract topics
 * are kept in the parsed-topic cache, so distinct long topics cannot fill ingest's memory.
 */
import fc from "fast-check";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createMetrics } from "../metrics";
import type { PendingMessage } from "./batch-items";
import type { DeviceDirectory } from "./device-directory";
import { Pipeline } from "./pipeline";
import type { BatchWriter } from "./writer";

const device = { id: "d1", serial: "DEV-1", organisationId: "o1", departmentId: "dep1", recipientId: null };

function pipelineWith(added: PendingMessage[]) {
  const directory = {
    peek: () => device,
    lookup: () => device,
    resolve: async () => device,
  } as unknown as DeviceDirectory;
  const writer = { add: (m: PendingMessage) => added.push(m) } as unknown as BatchWriter;
  return new Pipeline({
    directory,
    writer,
    metrics: createMetrics({ defaultMetrics: false }),
    logger: pino({ level: "silent" }),
    maxPayloadBytes: 65_536,
    now: () => Date.now(),
  });
}

describe("the pipeline's topic cache", () => {
  it("keeps contract topics only, whatever a device publishes under its prefix", () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 0, maxLength: 3_000, unit: "binary" }), {
          minLength: 1,
          maxLength: 60,
        }),
        (suffixes) => {
          const added: PendingMessage[] = [];
          const pipeline = pipelineWith(added);
          const payload = Buffer.from('{"v":1,"id":"x","fix":{"t":1,"lat":0,"lon":0}}');
          for (const suffix of suffixes) {
            pipeline.accept(`vakt/v1/d/DEV-1/up/x${suffix}`, payload, "mqtt", () => {});
          }
          pipeline.accept("vakt/v1/d/DEV-1/up/position", payload, "mqtt", () => {});
          // Every message reached the writer; the cache holds the one contract topic.
          expect(added).toHaveLength(suffixes.length + 1);
          expect(pipeline.cachedTopics).toBe(1);
        },
      ),
      { numRuns: 50 },
    );
  });
});
