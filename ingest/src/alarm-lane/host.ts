/**
 * Runs the alarm lane's worker thread (worker.ts) for the main thread: starts it, starts it again
 * with a growing pause (250 ms .. 10 s) when it exits or goes silent (no heartbeat for
 * `silentAfterMs`), tells health while it is not up (/healthz 503 naming "alarm-lane"; one log line
 * per change of state; `vakt_ingest_alarm_lane_up`, `vakt_ingest_alarm_lane_restarts_total`), puts
 * its metrics into this thread's registry, and at stop() has it drain: commit and PUBACK what it
 * accepted, then disconnect.
 *
 * What a worker accepted and had not committed when it died was not PUBACKed either: the broker
 * sends it again to the next worker (a persistent session), and storage is idempotent.
 */
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import { Counter, Gauge, Histogram } from "prom-client";
import type { IngestMetrics } from "../metrics";
import type { StalledLane } from "../pipeline/lanes";
import { type FromWorker, fromWorker, type MetricsReport, type StartConfig, type ToWorker } from "./protocol";

export type AlarmLaneState = "starting" | "up" | "exited" | "silent" | "draining" | "stopped";

export interface AlarmLaneOptions {
  config: Omit<StartConfig, "type">;
  logger: Logger;
  metrics: IngestMetrics;
  /** Pause before a restart: from minMs, doubled per failure, at most maxMs (default 250 ms .. 10 s). */
  backoff?: { minMs: number; maxMs: number };
  /** No message from the worker for this long is a hung worker: it is ended and started again (default 10 s). */
  silentAfterMs?: number;
}

/** What health shows of the lane while it is not up. */
export interface DownPart {
  part: "alarm-lane";
  state: Exclude<AlarmLaneState, "up">;
  /** Seconds since it was last up (or since it was first started). */
  forS: number;
}

/** How long a new worker may take to say anything at all (loading its modules, through tsx from sources). */
const BOOT_GRACE_MS = 60_000;

/** A worker that stayed up this long starts the backoff from the beginning when it next fails. */
const STABLE_AFTER_MS = 30_000;

type Heartbeat = Extract<FromWorker, { type: "heartbeat" }>;

/** The worker's module: worker.ts through tsx from the sources, the bundle's own file from dist/. */
function workerEntry(): URL {
  return import.meta.url.endsWith(".ts")
    ? new URL("./tsx-boot.mjs", import.meta.url)
    : new URL("./alarm-lane-worker.js", import.meta.url);
}

export class AlarmLaneHost {
  private worker: Worker | undefined;
  private state: AlarmLaneState = "starting";
  /** performance.now() when the lane was last up (or first started): how long health says it is down. */
  private since = performance.now();
  private upAt = 0;
  private lastHeard = 0;
  /** Whether the current worker has sent anything yet (until then it is booting, not hung). */
  private heard = false;
  private lastCheck = 0;
  private beat: Heartbeat | undefined;
  private delayMs: number;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly checkTimer: NodeJS.Timeout;
  /** Test hook: a restart also waits for this. */
  private hold: Promise<unknown> = Promise.resolve();
  private firstStart:
    | { resolve: () => void; reject: (err: Error) => void; lastError: string | undefined }
    | undefined;
  private onDrained: ((abandoned: number) => void) | undefined;
  /** Gauge series the worker set here, zeroed when it goes (a new worker sets them only on change). */
  private readonly gauges = new Map<string, { gauge: Gauge; labels: Record<string, string | number> }>();
  private readonly unknownMetrics = new Set<string>();

  constructor(private readonly o: AlarmLaneOptions) {
    this.delayMs = this.backoff.minMs;
    this.checkTimer = setInterval(() => this.checkSilence(), o.config.heartbeatMs);
    this.checkTimer.unref();
  }

  private get backoff() {
    return this.o.backoff ?? { minMs: 250, maxMs: 10_000 };
  }

  /** Resolves when the first worker's alarm session is connected; rejects if it cannot start. */
  start(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.firstStart = { resolve, reject, lastError: undefined };
      this.spawn();
    });
  }

  get current(): AlarmLaneState {
    return this.state;
  }

  health(): { connected: boolean; backlog: number; stalled: StalledLane[]; down: DownPart | undefined } {
    if (this.state === "up") {
      return {
        connected: this.beat?.connected ?? false,
        backlog: this.beat?.backlog ?? 0,
        stalled: this.beat?.stalled ?? [],
        down: undefined,
      };
    }
    const forS = Math.round((performance.now() - this.since) / 100) / 10;
    return {
      connected: false,
      backlog: 0,
      stalled: [],
      down: { part: "alarm-lane", state: this.state, forS },
    };
  }

  /**
   * Has the worker commit and PUBACK what it accepted (up to `graceMs`), disconnect and end; a worker
   * that does not answer by then is ended as it is (what it did not PUBACK the broker keeps).
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearInterval(this.checkTimer);
    clearTimeout(this.restartTimer);
    const w = this.worker;
    if (w && this.state === "up") {
      const drained = new Promise<number>((resolve) => {
        this.onDrained = resolve;
      });
      const exited = new Promise<"exited">((resolve) => w.once("exit", () => resolve("exited")));
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => {
        timer = setTimeout(() => resolve("late"), graceMs + 5_000);
      });
      this.setState("draining");
      this.send(w, { type: "drain", graceMs });
      const outcome = await Promise.race([drained, exited, late]);
      clearTimeout(timer);
      if (typeof outcome === "number" && outcome > 0)
        this.o.logger.warn(
          { messages: outcome },
          "alarm lane drained with alarms not committed (the broker keeps them)",
        );
      else if (typeof outcome !== "number") this.o.logger.warn({ outcome }, "alarm lane did not drain");
    }
    this.worker = undefined;
    await w?.terminate();
    this.setState("stopped");
  }

  /** Test hook: ends the worker as a crash would; the restart also waits for `hold`. */
  async terminateForTest(hold: Promise<unknown> = Promise.resolve()): Promise<void> {
    this.hold = hold;
    await this.worker?.terminate();
  }

  /** Test hook: the worker's event loop stops turning; the heartbeat check must end and replace it. */
  hangForTest(): void {
    if (this.worker) this.send(this.worker, { type: "hang" });
  }

  private spawn(): void {
    const w = new Worker(workerEntry(), { name: "vakt-alarm-lane" });
    this.worker = w;
    this.lastHeard = performance.now();
    this.heard = false;
    w.on("message", (raw: unknown) => this.onMessage(w, raw));
    w.on("error", (err) => {
      if (this.firstStart) this.firstStart.lastError = err.message;
      this.o.logger.debug({ err }, "alarm lane worker threw");
    });
    w.on("exit", (code) => this.onExit(w, code));
    this.send(w, { type: "start", ...this.o.config });
  }

  private send(w: Worker, m: ToWorker): void {
    w.postMessage(m);
  }

  private onMessage(w: Worker, raw: unknown): void {
    if (w !== this.worker) return;
    this.lastHeard = performance.now();
    this.heard = true;
    const parsed = fromWorker.safeParse(raw);
    if (!parsed.success) {
      this.o.logger.warn(
        { issues: parsed.error.issues.slice(0, 3) },
        "unreadable message from the alarm lane",
      );
      return;
    }
    const m = parsed.data;
    switch (m.type) {
      case "ready":
        this.beat = { type: "heartbeat", connected: true, backlog: 0, stalled: [] };
        this.upAt = performance.now();
        this.setState("up");
        this.firstStart?.resolve();
        this.firstStart = undefined;
        break;
      case "heartbeat":
        if (this.state === "up") this.beat = m;
        break;
      case "metrics":
        this.applyMetrics(m);
        break;
      case "drained":
        this.onDrained?.(m.abandoned);
        break;
      case "error":
        if (this.firstStart) this.firstStart.lastError = m.message;
        this.o.logger.error({ err: m.message, code: m.code, fatal: m.fatal }, "alarm lane error");
        if (m.fatal) void w.terminate();
        break;
    }
  }

  private onExit(w: Worker, code: number): void {
    if (w !== this.worker) return;
    this.worker = undefined;
    this.beat = undefined;
    this.zeroGauges();
    if (this.stopping) return;
    if (this.firstStart) {
      // The first start failing fails ingest's start, as a refused MQTT login did before the worker.
      const { reject, lastError } = this.firstStart;
      this.firstStart = undefined;
      this.setState("exited", { code });
      reject(new Error(`alarm lane could not start${lastError ? `: ${lastError}` : ` (exit code ${code})`}`));
      return;
    }
    if (this.upAt > 0 && performance.now() - this.upAt > STABLE_AFTER_MS) this.delayMs = this.backoff.minMs;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.backoff.maxMs, this.delayMs * 2);
    const reason = this.state === "silent" ? "silent" : "exited";
    this.o.metrics.alarmLaneRestarts.inc({ reason });
    this.setState(reason, { code, restartInMs: delay });
    const hold = this.hold;
    this.hold = Promise.resolve();
    this.restartTimer = setTimeout(() => {
      void hold.then(() => {
        if (!this.stopping) this.spawn();
      });
    }, delay);
  }

  /** A worker that has said nothing for silentAfterMs is hung: end it (onExit starts the next one). */
  private checkSilence(): void {
    const now = performance.now();
    const late = now - this.lastCheck > 2 * this.o.config.heartbeatMs + 1_000;
    this.lastCheck = now;
    // This thread's own loop was held up: the worker's messages are queued behind this timer, not missing.
    if (late || !this.worker || this.stopping) return;
    if (now - this.lastHeard <= (this.heard ? (this.o.silentAfterMs ?? 10_000) : BOOT_GRACE_MS)) return;
    this.setState("silent", { silentForS: Math.round((now - this.lastHeard) / 100) / 10 });
    void this.worker.terminate();
  }

  /** One log line per change of state, and the up metric. */
  private setState(next: AlarmLaneState, detail: Record<string, unknown> = {}): void {
    const previous = this.state;
    if (next === previous) return;
    this.state = next;
    this.o.metrics.alarmLaneUp.set(next === "up" ? 1 : 0);
    const now = performance.now();
    if (next === "up") {
      if (previous === "starting") this.o.logger.info("alarm lane started");
      else this.o.logger.info({ downForS: Math.round((now - this.since) / 100) / 10 }, "alarm lane up again");
      return;
    }
    if (previous === "up") this.since = now;
    // exited -> silent (or back) while restarting is no news; leaving "up" (or failing to start) is.
    if (next !== "stopped" && next !== "draining" && (previous === "up" || previous === "starting"))
      this.o.logger.error({ state: next, ...detail }, "alarm lane down: restarting its worker thread");
  }

  /** The worker's metric changes into this thread's registry, where /metrics serves them. */
  private applyMetrics(r: MetricsReport): void {
    const registry = this.o.metrics.registry;
    const unknown = (name: string, err?: unknown) => {
      if (this.unknownMetrics.has(name)) return;
      this.unknownMetrics.add(name);
      this.o.logger.warn({ name, err }, "alarm lane reported a metric this thread cannot apply");
    };
    for (const c of r.counters) {
      const m = registry.getSingleMetric(c.name);
      if (!(m instanceof Counter)) unknown(c.name);
      else
        try {
          m.inc(c.labels, c.inc);
        } catch (err) {
          unknown(c.name, err);
        }
    }
    for (const o of r.observations) {
      const m = registry.getSingleMetric(o.name);
      if (!(m instanceof Histogram)) unknown(o.name);
      else
        try {
          for (const v of o.values) m.observe(o.labels, v);
        } catch (err) {
          unknown(o.name, err);
        }
    }
    for (const g of r.gauges) {
      const m = registry.getSingleMetric(g.name);
      if (!(m instanceof Gauge)) unknown(g.name);
      else
        try {
          m.set(g.labels, g.value);
          this.gauges.set(`${g.name}${JSON.stringify(g.labels)}`, { gauge: m, labels: g.labels });
        } catch (err) {
          unknown(g.name, err);
        }
    }
  }

  private zeroGauges(): void {
    for (const { gauge, labels } of this.gauges.values()) gauge.set(labels, 0);
  }
}
