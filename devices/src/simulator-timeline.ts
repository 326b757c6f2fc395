/** A scenario's timeline for the simulator: which events are due, and when the run is over. */
import type { TimelineEvent } from "./scenario";

export class Timeline {
  readonly finished: Promise<void>;
  private readonly events: TimelineEvent[];
  private readonly endMs: number;
  private readonly hasEnd: boolean;
  private next = 0;
  private resolveFinished: () => void = () => {};

  constructor(events: TimelineEvent[], durationMs: number | undefined) {
    this.events = [...events].sort((a, b) => a.atMs - b.atMs);
    this.endMs = Math.max(durationMs ?? 0, this.events.at(-1)?.atMs ?? 0);
    this.hasEnd = durationMs !== undefined || this.events.length > 0;
    this.finished = new Promise<void>((resolve) => {
      this.resolveFinished = resolve;
    });
  }

  devices(): string[] {
    return this.events.map((e) => e.device);
  }

  /** The events due by `nowMs` and not yet taken, in order; the timeline started at `startMs`. */
  takeDue(startMs: number, nowMs: number): TimelineEvent[] {
    const due: TimelineEvent[] = [];
    while (this.next < this.events.length) {
      const e = this.events[this.next];
      if (!e || startMs + e.atMs > nowMs) break;
      this.next++;
      due.push(e);
    }
    return due;
  }

  /** Resolves `finished` once every event is taken and the duration has passed. */
  endIfDone(startMs: number, nowMs: number) {
    if (this.hasEnd && this.next >= this.events.length && nowMs >= startMs + this.endMs)
      this.resolveFinished();
  }
}
