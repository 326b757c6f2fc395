/**
 * Messages between ingest's main thread (host.ts) and the alarm lane's worker thread (worker.ts),
 * parsed with zod on both sides: a thread may be of another build, or broken, and a message either
 * thread cannot read is logged and dropped, never acted on half-read.
 */
import { z } from "zod";

const labels = z.record(z.string(), z.union([z.string(), z.number()]));

/** Everything the worker needs to run the alarm session and its decide -> commit path. */
export const startConfig = z.object({
  type: z.literal("start"),
  databaseUrl: z.string().min(1),
  /** LISTEN for device changes (the device directory), as the main thread does unless told not to. */
  listen: z.boolean(),
  mqtt: z.object({
    url: z.string().min(1),
    /** INGEST_CLIENT_ID: the session is `<clientId>-alarms`. */
    clientId: z.string().min(1),
    username: z.string().optional(),
    password: z.string().optional(),
    subscriptions: z.array(z.string().min(1)).min(1),
    protocolVersion: z.union([z.literal(4), z.literal(5)]),
  }),
  maxPayloadBytes: z.number().int().positive(),
  batchMaxRows: z.number().int().positive(),
  batchMaxWaitMs: z.number().int().positive(),
  maxRedeliveries: z.number().int().positive().optional(),
  stallAfterMs: z.number().int().positive(),
  useCopy: z.boolean().optional(),
  logLevel: z.string().min(1),
  heartbeatMs: z.number().int().positive(),
});
export type StartConfig = z.infer<typeof startConfig>;

export const toWorker = z.discriminatedUnion("type", [
  startConfig,
  /** Stop taking alarms, commit and PUBACK what was accepted (up to graceMs), disconnect, say drained. */
  z.object({ type: z.literal("drain"), graceMs: z.number().nonnegative() }),
  /** Test hook: the worker's event loop stops turning (a hang the heartbeat must catch). */
  z.object({ type: z.literal("hang") }),
]);
export type ToWorker = z.infer<typeof toWorker>;

const stalledLane = z.object({
  lane: z.string(),
  waitingS: z.number(),
  messages: z.number().int().nonnegative(),
});

export const fromWorker = z.discriminatedUnion("type", [
  /** The alarm session is connected (and subscribing). */
  z.object({ type: z.literal("ready") }),
  z.object({
    type: z.literal("heartbeat"),
    /** The alarm session's connection to the broker. */
    connected: z.boolean(),
    /** Alarms received and not yet acknowledged. */
    backlog: z.number().int().nonnegative(),
    stalled: z.array(stalledLane),
  }),
  /**
   * What changed in the worker's metrics since its last report: counters as increments, histogram
   * observations as values, the worker's lane gauges as values (its lanes are named apart).
   */
  z.object({
    type: z.literal("metrics"),
    counters: z.array(z.object({ name: z.string(), labels, inc: z.number().positive() })),
    observations: z.array(z.object({ name: z.string(), labels, values: z.array(z.number()) })),
    gauges: z.array(z.object({ name: z.string(), labels, value: z.number() })),
  }),
  z.object({ type: z.literal("drained"), abandoned: z.number().int().nonnegative() }),
  /** `fatal`: the worker cannot run (e.g. the broker refused its credentials) and exits. */
  z.object({
    type: z.literal("error"),
    fatal: z.boolean(),
    message: z.string(),
    code: z.string().optional(),
  }),
]);
export type FromWorker = z.infer<typeof fromWorker>;
export type MetricsReport = Extract<FromWorker, { type: "metrics" }>;
