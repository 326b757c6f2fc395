/**
 * PUBACKs in the order the broker delivered the messages (consumer.ts). Mosquitto (2.0) finds the
 * message a PUBACK names by walking the session's in-flight list from its oldest entry, so a PUBACK
 * for a message behind thousands of unacknowledged older ones costs a walk past all of them. The
 * writer's lanes commit by device, each lane's batch spread over everything in flight: acked as
 * each lane commits, most PUBACKs named messages deep in that list (bench/broker-cost.bench.ts
 * measured Mosquitto's CPU per message 1.1-1.4 times a plain subscriber's; in delivery order, the
 * same). So a committed message's PUBACK waits until every message delivered before it is
 * committed too, and then goes out at the head of the list. A message never waits more than
 * `holdMaxMs` for an earlier one (a lane isolating a poison message, one left unacknowledged on
 * purpose): then its PUBACK is written anyway. Nothing is acknowledged before its commit; only
 * the order and the moment change.
 */

const WAITING = 0;
const HELD = 1;
const WRITTEN = 2;

/** One delivered message on the current connection. */
export interface Delivery {
  readonly id: number;
  state: typeof WAITING | typeof HELD | typeof WRITTEN;
  /** When it was committed (HELD). */
  since: number;
}

export interface AckOrderOptions {
  /** Writes these packet ids' PUBACKs now (one buffer). */
  write: (ids: number[]) => void;
  /** How long a committed message waits for an earlier one before its PUBACK is written anyway. */
  holdMaxMs: number;
  now?: () => number;
}

/** Past this many written entries at the front, the queue is cut (amortised O(1) per message). */
const COMPACT_AFTER = 4_096;

export class AckOrder {
  private queue: Delivery[] = [];
  private head = 0;
  private held = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly o: AckOrderOptions) {
    this.now = o.now ?? (() => performance.now());
  }

  /** Messages delivered and not yet acknowledged (waiting for their commit or for an earlier one). */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** A QoS 1 message arrived; `committed(delivery)` once it may be acknowledged. */
  delivered(id: number): Delivery {
    const d: Delivery = { id, state: WAITING, since: 0 };
    this.queue.push(d);
    return d;
  }

  /** Its commit is done; the PUBACK goes out at the next `flush` once everything before it is done too. */
  committed(d: Delivery): void {
    if (d.state !== WAITING) return;
    d.state = HELD;
    d.since = this.now();
    this.held++;
  }

  /** Writes the PUBACKs now due: the committed run at the front (and any held too long). */
  flush(): void {
    const ids: number[] = [];
    this.takeFront(ids);
    if (ids.length > 0) this.o.write(ids);
    this.arm();
  }

  /** A new connection: what was delivered on the old one is the broker's to send again. */
  reset(): void {
    this.queue = [];
    this.head = 0;
    this.held = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private takeFront(ids: number[]): void {
    const q = this.queue;
    let h = this.head;
    while (h < q.length) {
      const d = q[h] as Delivery;
      if (d.state === WAITING) break;
      if (d.state === HELD) {
        ids.push(d.id);
        d.state = WRITTEN;
        this.held--;
      }
      h++;
    }
    this.head = h;
    if (h >= COMPACT_AFTER && h * 2 >= q.length) {
      this.queue = q.slice(h);
      this.head = 0;
    }
  }

  /** While anything committed waits behind an uncommitted message, look again after `holdMaxMs`. */
  private arm(): void {
    if (this.held === 0 || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.expire();
    }, this.o.holdMaxMs);
    this.timer.unref?.();
  }

  /** Writes what has waited `holdMaxMs` or longer, out of order. */
  private expire(): void {
    const ids: number[] = [];
    const cutoff = this.now() - this.o.holdMaxMs;
    const q = this.queue;
    for (let i = this.head; i < q.length && this.held > 0; i++) {
      const d = q[i] as Delivery;
      if (d.state === HELD && d.since <= cutoff) {
        ids.push(d.id);
        d.state = WRITTEN;
        this.held--;
      }
    }
    this.takeFront(ids);
    if (ids.length > 0) this.o.write(ids);
    // Behind a message that stays unacknowledged, written entries are not cut at the front: drop
    // them here (what remains is bounded by the receive window).
    if (this.queue.length - this.head >= COMPACT_AFTER) {
      this.queue = this.queue.slice(this.head).filter((d) => d.state !== WRITTEN);
      this.head = 0;
    }
    this.arm();
  }
}
