/**
 * The payload bytes of the messages a session has handed to ingest and ingest has not yet
 * acknowledged, and a way to wait for room. The main session takes no further message while the
 * count is at its bound (consumer.ts), so memory in flight is bounded by bytes, not by the receive
 * window (40,000 messages) times the largest message the broker passes (1 MiB).
 */

/** 64 MiB: eight full batches by bytes (BATCH_MAX_BYTES in pipeline/writer.ts); a window of small messages is ~6 MB. */
export const HELD_MAX_BYTES = 64 * 1024 * 1024;

export class HeldBytes {
  private bytes = 0;
  private most = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly limit = HELD_MAX_BYTES) {}

  get value(): number {
    return this.bytes;
  }

  /** The most ever held at once. */
  get peak(): number {
    return this.most;
  }

  over(): boolean {
    return this.bytes >= this.limit;
  }

  add(n: number): void {
    this.bytes += n;
    if (this.bytes > this.most) this.most = this.bytes;
  }

  remove(n: number): void {
    this.bytes = Math.max(0, this.bytes - n);
    if (!this.over()) this.wake();
  }

  /** The connection ended: what it held will come again, counted anew. */
  reset(): void {
    this.bytes = 0;
    this.wake();
  }

  /** Resolves once under the bound, or after `maxMs`, whichever comes first. */
  room(maxMs: number): Promise<void> {
    if (!this.over()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiters = this.waiters;
      const timer = setTimeout(done, maxMs);
      function done() {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
