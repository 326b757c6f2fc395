/**
 * Time as the simulator sees it. The system clock for real runs, a scaled clock
 * for fast demos, a manual clock for tests (time moves only when told to).
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` every `intervalMs` of this clock's time; returns a function that cancels it. */
  every(intervalMs: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(intervalMs, fn) {
    const handle = setInterval(fn, intervalMs);
    return () => clearInterval(handle);
  },
};

/** Simulated time runs `factor` times faster than real time, starting at `startMs`. */
export function scaledClock(factor: number, startMs = Date.now()): Clock {
  if (!(factor > 0)) throw new Error("clock factor must be positive");
  const realStart = performance.now();
  return {
    now: () => Math.floor(startMs + (performance.now() - realStart) * factor),
    every(intervalMs, fn) {
      const handle = setInterval(fn, Math.max(1, intervalMs / factor));
      return () => clearInterval(handle);
    },
  };
}

interface Timer {
  id: number;
  intervalMs: number;
  dueMs: number;
  fn: () => void;
}

/** A clock for tests: `advance(ms)` moves time and fires due timers in order, synchronously. */
export class ManualClock implements Clock {
  private nowMs: number;
  private timers: Timer[] = [];
  private nextId = 1;

  constructor(startMs = Date.UTC(2025, 0, 1, 8)) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  every(intervalMs: number, fn: () => void): () => void {
    if (!(intervalMs > 0)) throw new Error("interval must be positive");
    const timer: Timer = { id: this.nextId++, intervalMs, dueMs: this.nowMs + intervalMs, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t.id !== timer.id);
    };
  }

  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.timers) if (t.dueMs <= target && (!next || t.dueMs < next.dueMs)) next = t;
      if (!next) break;
      this.nowMs = next.dueMs;
      next.dueMs += next.intervalMs;
      next.fn();
    }
    this.nowMs = target;
  }
}
