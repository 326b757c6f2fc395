/**
 * Writes that follow a commit and must not hold up what comes after it (an alarm's newest position
 * and device row, see alarms.ts): started at once on the position pool, retried with a growing pause
 * while the database is away, given up with one log line after `attempts` (the device's next message
 * writes the same rows), and waited for by the writer's drain.
 */
import type pg from "pg";
import type { Logger } from "pino";

export class FollowUps {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly o: { pool: pg.Pool; logger: Logger; attempts?: number; pauseMs?: number }) {}

  run(what: string, work: (pool: pg.Pool) => Promise<void>): void {
    const p: Promise<void> = this.attempt(what, work).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  get size(): number {
    return this.running.size;
  }

  private async attempt(what: string, work: (pool: pg.Pool) => Promise<void>): Promise<void> {
    const attempts = this.o.attempts ?? 6;
    for (let i = 1; ; i++) {
      try {
        await work(this.o.pool);
        return;
      } catch (err) {
        if (i >= attempts) {
          this.o.logger.error({ err, what, attempts }, "follow-up write given up");
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(5_000, (this.o.pauseMs ?? 100) * 2 ** i)));
      }
    }
  }

  /** Resolves when every follow-up started so far has ended, or after `graceMs`. */
  async settled(graceMs: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.running]),
      ...(Number.isFinite(graceMs) ? [new Promise((r) => (timer = setTimeout(r, graceMs)))] : []),
    ]);
    clearTimeout(timer);
  }
}
