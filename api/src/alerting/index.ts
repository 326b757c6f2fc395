/**
 * What happens to a new alarm besides the live push: the first API process to claim it turns
 * tracking on for the device and starts alert routing (claim.ts), by the rule that matches it
 * (rules.ts), whose steps and reminders run as graphile-worker jobs (escalation.ts, worker.ts).
 * Jobs live in PostgreSQL, so escalation survives a restart of every process; a step that finds
 * the alarm taken does nothing, so taking the alarm stops the escalation. Deliveries (e-mail,
 * webhook, SMS: channels.ts) are jobs of their own, retried with graphile-worker's exponential
 * backoff, and every attempt is an alarm_deliveries row (delivery.ts).
 *
 * This file wires them: ingest's `alarm.raised` NOTIFY and a sweep claim new alarms, the bus's
 * `reopened` claims a reopened one again.
 */
import { EVENTS_CHANNEL, type PlatformEvent, platformEvent } from "@vakt/schemas";
import type pg from "pg";
import type { AlarmRow } from "../alarms/service";
import type { Bus } from "../bus";
import type { ApiDeps } from "../deps";
import type { DeliverPayload } from "./channels";
import { type ClaimContext, claimAlarm } from "./claim";
import { deliver } from "./delivery";
import { runEscalationStep } from "./escalation";
import { startWorker } from "./worker";

export { httpSmsGateway, webhookSignature } from "./channels";
export { pingEndpoint } from "./delivery";
export { localTime, scheduleActive } from "./rules";
export { runGraphileMigrations } from "./worker";

export interface AlertingOptions {
  /** graphile-worker concurrency in this process; 0: claim alarms, but run no jobs here. */
  concurrency?: number;
  /** How often the worker looks for due jobs (default 500 ms). */
  pollIntervalMs?: number;
  /** Timeout of one webhook or SMS request (default 10 s). */
  httpTimeoutMs?: number;
  /** Where claims run (the alarm path's own pool); default: deps.pool. */
  claimDb?: pg.Pool;
  /**
   * The platform events this process already hears (live's LISTEN connection): new alarms are
   * claimed from them, without a LISTEN connection of alerting's own. Returns the unsubscribe.
   */
  events?: (listener: (e: PlatformEvent) => void) => () => void;
}

export interface Alerting {
  /** Claims an alarm (idempotent across processes): tracking on, routing started. */
  claim(alarmId: string): Promise<boolean>;
  /**
   * The alarm as it is once its routing row is committed, by this process or another (the claim's
   * INSERT waits for a concurrent one), read in the claim's own statement: a new alarm is pushed
   * from it, with its cancel window known. Undefined when the claim failed or there is no such
   * alarm. The rest of the claim (the track command) goes on after it.
   */
  routed(alarmId: string): Promise<AlarmRow | undefined>;
  close(): Promise<void>;
}

/** New alarms from ingest: claimed as their NOTIFY arrives (on live's connection when there is one). */
async function listenForRaisedAlarms(
  deps: ApiDeps,
  log: ApiDeps["logger"],
  claim: (alarmId: string) => Promise<boolean>,
  events: AlertingOptions["events"],
): Promise<{ close(): Promise<void> }> {
  if (events) {
    const off = events((e) => {
      if (e.kind === "alarm.raised")
        void claim(e.alarmId).catch((err) => log.error({ err }, "claiming alarm failed"));
    });
    return { close: async () => off() };
  }
  const listener: pg.PoolClient = await deps.pool.connect();
  let closed = false;
  listener.on("notification", (msg) => {
    if (closed || !msg.payload) return;
    try {
      const e = platformEvent.safeParse(JSON.parse(msg.payload));
      if (e.success && e.data.kind === "alarm.raised")
        void claim(e.data.alarmId).catch((err) => log.error({ err }, "claiming alarm failed"));
    } catch {}
  });
  listener.on("error", (err) => log.error({ err }, "alerting listener failed"));
  await listener.query(`LISTEN ${EVENTS_CHANNEL}`);
  return {
    async close() {
      closed = true;
      await listener.query("UNLISTEN *").catch(() => {});
      listener.release();
    },
  };
}

/** Open alarms of the last day that nobody claimed (raised while no API process ran). */
async function sweepUnclaimed(
  deps: ApiDeps,
  log: ApiDeps["logger"],
  claim: (alarmId: string) => Promise<boolean>,
) {
  const { rows } = await deps.pool.query<{ id: string }>(
    `SELECT a.id FROM alarms a WHERE a.state = 'open' AND a.received_at > now() - interval '1 day'
        AND NOT EXISTS (SELECT 1 FROM alarm_routing r WHERE r.alarm_id = a.id) LIMIT 500`,
  );
  for (const r of rows) await claim(r.id).catch((err) => log.error({ err }, "claiming alarm failed"));
}

export async function startAlerting(
  deps: ApiDeps & { bus: Bus },
  options: AlertingOptions = {},
): Promise<Alerting> {
  const log = deps.logger.child({ component: "alerting" });
  const context: ClaimContext = {
    deps,
    db: options.claimDb ?? deps.pool,
    log,
    trackingMs: (deps.config.ALARM_TRACKING_MINUTES ?? 60) * 60_000,
  };
  // The alerting listener and the live fan-out hear the same NOTIFY: one claim per alarm at a time
  // in this process, which the other joins, instead of a second claim waiting on the first's row.
  const inFlight = new Map<string, { done: Promise<boolean>; routed: Promise<AlarmRow | undefined> }>();
  const claim = (alarmId: string, onRouted?: (row: AlarmRow | undefined) => void) => {
    let current = inFlight.get(alarmId);
    if (!current) {
      let routedNow: (row: AlarmRow | undefined) => void = () => {};
      const routed = new Promise<AlarmRow | undefined>((resolve) => {
        routedNow = resolve;
      });
      const done = claimAlarm(context, alarmId, routedNow).finally(() => inFlight.delete(alarmId));
      current = { done, routed };
      inFlight.set(alarmId, current);
    }
    if (onRouted) void current.routed.then(onRouted);
    return current.done;
  };
  const runner = await startWorker(
    deps,
    log,
    {
      alarm_step: (payload) => runEscalationStep(deps, payload),
      deliver: (payload, helpers) =>
        deliver(deps, payload as DeliverPayload, helpers, options.httpTimeoutMs ?? 10_000),
    },
    { concurrency: options.concurrency ?? 4, pollIntervalMs: options.pollIntervalMs },
  );
  const listener = await listenForRaisedAlarms(deps, log, claim, options.events);
  await sweepUnclaimed(deps, log, claim);
  const stopClaimingReopened = deps.bus.on(
    "reopened",
    (e) => void claim(e.alarmId).catch((err) => log.error({ err }, "claiming reopened alarm failed")),
  );
  const sweepTimer = setInterval(
    () => void sweepUnclaimed(deps, log, claim).catch((err) => log.error({ err }, "sweep failed")),
    15_000,
  );

  return {
    claim: (alarmId) => claim(alarmId),
    routed: (alarmId) =>
      new Promise<AlarmRow | undefined>((resolve) => {
        void claim(alarmId, resolve).catch((err) => log.error({ err, alarmId }, "claiming alarm failed"));
      }),
    async close() {
      clearInterval(sweepTimer);
      stopClaimingReopened();
      await listener.close();
      await runner?.stop();
    },
  };
}
