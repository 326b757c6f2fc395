/**
 * The batch writer's lanes (writer.ts): which lane a message goes to, a lane's state, and which lanes
 * have had work waiting without a commit for too long.
 */
import type { PendingMessage } from "./batch-items";
import { bytesOf, type Decision, rowsOf } from "./decide";

/** A lane that has had work waiting and no commit for longer than the bound. */
export interface StalledLane {
  lane: string;
  /** Seconds since the later of its oldest waiting message and its last commit. */
  waitingS: number;
  messages: number;
}

/** One lane: the batch being collected, and whether the lane's previous batch is committing. */
export interface Lane {
  name: string;
  pending: PendingMessage[];
  rows: number;
  /** bytesOf the pending messages. */
  bytes: number;
  /** performance.now() when the oldest pending message arrived. */
  openedAt: number;
  timer: NodeJS.Timeout | undefined;
  busy: boolean;
  /** The messages of the batch committing now. */
  committing: PendingMessage[];
  /** this.now() of the lane's last commit. */
  lastCommitAt: number;
  stalled: boolean;
}

export const newLane = (name: string, now: number): Lane => ({
  name,
  pending: [],
  rows: 0,
  bytes: 0,
  openedAt: 0,
  timer: undefined,
  busy: false,
  committing: [],
  lastCommitAt: now,
  stalled: false,
});

/** A lane's open batch is full: it holds `maxRows` rows or `maxBytes` of what arrived. */
export const batchFull = (lane: Lane, maxRows: number, maxBytes: number): boolean =>
  lane.rows >= maxRows || lane.bytes >= maxBytes;

/**
 * How many of the oldest pending messages the next batch takes, and their rows and bytes: always
 * one, then more while both bounds hold (so a batch passes a bound by one message at most).
 */
export function takeBatch(
  pending: readonly PendingMessage[],
  maxRows: number,
  maxBytes: number,
): { n: number; rows: number; bytes: number } {
  let rows = 0;
  let bytes = 0;
  let n = 0;
  while (n < pending.length && (n === 0 || (rows < maxRows && bytes < maxBytes))) {
    const d = (pending[n] as PendingMessage).decision;
    rows += rowsOf(d);
    bytes += bytesOf(d);
    n++;
  }
  return { n, rows, bytes };
}

/** Lanes with work and no commit for longer than `boundMs`, and for how long. */
export function stalledLanes(lanes: Lane[], now: number, boundMs: number): StalledLane[] {
  const out: StalledLane[] = [];
  for (const lane of lanes) {
    const waiting = [...lane.committing, ...lane.pending];
    if (waiting.length === 0) continue;
    const oldest = waiting.reduce((m, i) => Math.min(m, i.receivedAt), Number.POSITIVE_INFINITY);
    const since = Math.max(oldest, lane.lastCommitAt);
    if (now - since > boundMs) {
      out.push({ lane: lane.name, waitingS: Math.round((now - since) / 100) / 10, messages: waiting.length });
    }
  }
  return out;
}

/** The lane of a message: by device (or, for a dead letter of no known device, by topic). */
export function laneIndex(d: Decision, lanes: number): number {
  if (lanes === 1) return 0;
  const key = d.kind === "store" ? d.device.id : (d.row.deviceId ?? d.row.topic);
  let h = 0;
  for (let i = key.length - 8; i < key.length; i++) h = (h * 31 + key.charCodeAt(Math.max(0, i))) | 0;
  return (h >>> 0) % lanes;
}
