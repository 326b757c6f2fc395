/**
 * serial -> device (organisation, department, recipient), cached. Look-ups
 * that miss within the same tick are loaded with one query. Entries live for
 * `ttlMs`; a trigger on `devices` (migration 0010) NOTIFYs
 * `vakt_device_directory` with the serial whenever an assignment, retirement
 * or credential changes, and `listen()` forgets that serial at once, so a
 * reassigned device's next message lands under its new recipient.
 *
 * `warm()` loads every active device at once: the alarm lane keeps its directory warm that way,
 * because a wearer's alarm most often comes from a device that has not been heard from within the
 * TTL (reporting every few minutes), and a look-up is one more database round trip between the
 * alarm and its commit: the largest share of publish -> commit under a busy machine in the alarm
 * bench. A serial invalidated while a load was in flight is not cached from that load (it read
 * the row as it was before the change).
 */

import type pg from "pg";
import type { Logger } from "pino";
import type { DeviceRef } from "./decide";

export const DEVICE_DIRECTORY_CHANNEL = "vakt_device_directory";

/** Entries past which expired ones are dropped (see `sweep`). */
const SWEEP_ABOVE = 50_000;

interface DeviceRow {
  id: string;
  serial: string;
  organisation_id: string;
  department_id: string;
  recipient_id: string | null;
}

const toDevice = (r: DeviceRow): DeviceRef => ({
  id: r.id,
  serial: r.serial,
  organisationId: r.organisation_id,
  departmentId: r.department_id,
  recipientId: r.recipient_id,
});

interface Entry {
  device: DeviceRef | undefined;
  expiresAt: number;
}

export interface DeviceDirectoryOptions {
  ttlMs?: number;
  /** Unknown serials are remembered for a shorter time, so a newly provisioned device is found soon. */
  negativeTtlMs?: number;
  now?: () => number;
  /** Rows per query of `warm()` (default 10,000). */
  warmPage?: number;
}

export class DeviceDirectory {
  private readonly entries = new Map<string, Entry>();
  private pending = new Map<string, Promise<DeviceRef | undefined>>();
  private queued: {
    serial: string;
    resolve: (d: DeviceRef | undefined) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly now: () => number;
  private readonly warmPage: number;
  private listener: pg.Client | undefined;
  private stopped = false;
  private sweepAbove = SWEEP_ABOVE;
  /** Invalidations so far; a load keeps nothing invalidated after it began (see `changedSince`). */
  private invalidations = 0;
  private readonly invalidatedAt = new Map<string, number>();
  private clearedAt = 0;
  private loadsInFlight = 0;
  private warming: { logger: Logger; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly pool: pg.Pool,
    options: DeviceDirectoryOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 5_000;
    this.now = options.now ?? Date.now;
    this.warmPage = options.warmPage ?? 10_000;
  }

  /** The cached device, if fresh; `null` when known to be unknown; undefined when it must be loaded. */
  peek(serial: string): DeviceRef | null | undefined {
    const e = this.entries.get(serial);
    if (!e || e.expiresAt <= this.now()) return undefined;
    return e.device ?? null;
  }

  /**
   * The synchronous look-up `decide` takes: only after `resolve` (or a fresh `peek`) has run for the
   * serial. It does not look at the entry's age: the caller checked it an instant ago, and a device
   * whose entry expired in between (reporting every minute against a one-minute TTL, 5 of 15,840
   * messages in the fleet bench) would otherwise be an unknown device and its message a dead letter.
   */
  readonly lookup = (serial: string): DeviceRef | undefined => this.entries.get(serial)?.device;

  async resolve(serial: string): Promise<DeviceRef | undefined> {
    const cached = this.peek(serial);
    if (cached !== undefined) return cached ?? undefined;
    const inFlight = this.pending.get(serial);
    if (inFlight) return inFlight;
    const p = new Promise<DeviceRef | undefined>((resolve, reject) => {
      this.queued.push({ serial, resolve, reject });
      if (this.queued.length === 1) setImmediate(() => void this.loadQueued());
    });
    this.pending.set(serial, p);
    return p;
  }

  invalidate(serial?: string): void {
    this.invalidations++;
    if (serial === undefined) {
      this.entries.clear();
      this.clearedAt = this.invalidations;
      this.invalidatedAt.clear();
    } else {
      this.entries.delete(serial);
      if (this.loadsInFlight > 0) this.invalidatedAt.set(serial, this.invalidations);
    }
  }

  /** Every active device into the cache (pages of `warmPage` rows); resolves to how many. */
  async warm(): Promise<number> {
    const began = this.beginLoad();
    let loaded = 0;
    try {
      let after = "";
      for (;;) {
        const { rows } = await this.pool.query<DeviceRow>(
          `SELECT id, serial, organisation_id, department_id, recipient_id
             FROM devices WHERE retired_at IS NULL AND serial > $1 ORDER BY serial LIMIT $2`,
          [after, this.warmPage],
        );
        const expiresAt = this.now() + this.ttlMs;
        for (const r of rows) {
          if (this.changedSince(r.serial, began)) continue;
          this.entries.set(r.serial, { device: toDevice(r), expiresAt });
          loaded++;
        }
        // Closed meanwhile: the pool is ending, and no one reads the cache any more.
        if (rows.length < this.warmPage || this.stopped) break;
        after = (rows.at(-1) as DeviceRow).serial;
      }
    } finally {
      this.endLoad();
    }
    return loaded;
  }

  /**
   * Keeps every active device cached: warms now, again every `everyMs` (below the TTL, so entries
   * never lapse), and whenever the listener reconnects (which clears the cache). A failed warm-up
   * is logged and leaves look-ups on demand, as without it.
   */
  async keepWarm(logger: Logger, everyMs: number): Promise<void> {
    if (this.warming || this.stopped) return;
    this.warming = { logger, timer: setInterval(() => void this.rewarm(), everyMs).unref() };
    await this.rewarm();
  }

  private async rewarm(): Promise<void> {
    const w = this.warming;
    if (!w || this.stopped) return;
    try {
      const n = await this.warm();
      w.logger.debug({ devices: n }, "device directory warmed");
    } catch (err) {
      w.logger.warn({ err }, "device directory could not be warmed; looking devices up as they come");
    }
  }

  private beginLoad(): number {
    this.loadsInFlight++;
    return this.invalidations;
  }

  private endLoad(): void {
    if (--this.loadsInFlight === 0) this.invalidatedAt.clear();
  }

  /** Whether the serial was invalidated after a load that began at `began` (its row may be stale). */
  private changedSince(serial: string, began: number): boolean {
    return this.clearedAt > began || (this.invalidatedAt.get(serial) ?? 0) > began;
  }

  /**
   * Expired entries are replaced when their serial comes again, never otherwise: serials nobody has
   * (OsmAnd takes any id from anyone) would pile up. Past a size, expired ones are dropped; the
   * next sweep waits until the map has doubled, so a large fleet does not sweep on every load.
   */
  private sweep(now: number): void {
    for (const [serial, e] of this.entries) if (e.expiresAt <= now) this.entries.delete(serial);
    this.sweepAbove = Math.max(SWEEP_ABOVE, this.entries.size * 2);
  }

  get size(): number {
    return this.entries.size;
  }

  private async loadQueued(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    const serials = [...new Set(batch.map((q) => q.serial))];
    const began = this.beginLoad();
    try {
      const { rows } = await this.pool.query<DeviceRow>(
        `SELECT id, serial, organisation_id, department_id, recipient_id
         FROM devices WHERE serial = ANY($1::text[]) AND retired_at IS NULL`,
        [serials],
      );
      const found = new Map(rows.map((r) => [r.serial, toDevice(r)]));
      const now = this.now();
      for (const serial of serials) {
        const device = found.get(serial);
        // Changed while this load read it: answered as read (`lookup` must find what `resolve`
        // answered), but expired at once, so the next message of the serial loads it again.
        const ttl = this.changedSince(serial, began) ? 0 : device ? this.ttlMs : this.negativeTtlMs;
        this.entries.set(serial, { device, expiresAt: now + ttl });
      }
      if (this.entries.size > this.sweepAbove) this.sweep(now);
      for (const q of batch) {
        this.pending.delete(q.serial);
        q.resolve(found.get(q.serial));
      }
    } catch (err) {
      for (const q of batch) {
        this.pending.delete(q.serial);
        q.reject(err);
      }
    }
  }

  /** Keeps a LISTEN connection open (reconnecting) that evicts changed serials. */
  async listen(logger: Logger, connectionString: string): Promise<void> {
    const { default: pgModule } = await import("pg");
    const connect = async (): Promise<void> => {
      if (this.stopped) return;
      const client = new pgModule.Client({ connectionString, application_name: "vakt-ingest-directory" });
      client.on("notification", (n) => {
        if (n.channel === DEVICE_DIRECTORY_CHANNEL && n.payload) this.invalidate(n.payload);
      });
      let retried = false;
      const retry = () => {
        if (retried || this.stopped) return;
        retried = true;
        // Changes made while disconnected were not heard: the cache is cleared once listening again.
        setTimeout(() => void connect().catch(() => {}), 1_000).unref();
      };
      client.on("error", () => {});
      client.on("end", retry);
      try {
        await client.connect();
        await client.query(`LISTEN ${DEVICE_DIRECTORY_CHANNEL}`);
        this.listener = client;
        this.invalidate();
        void this.rewarm();
      } catch (err) {
        logger.warn({ err }, "device directory listener could not connect; retrying");
        await client.end().catch(() => {});
        retry();
      }
    };
    await connect();
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.warming) clearInterval(this.warming.timer);
    await this.listener?.end().catch(() => {});
  }
}
