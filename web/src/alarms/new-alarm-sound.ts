/**
 * When the console sounds for a new alarm: pure, so it is tested without a
 * browser. An alarm sounds once, when this console first learns of it open and
 * outside a cancel window. One in its window is quiet (nobody is alerted yet:
 * the wearer may cancel) and sounds when the window ends with the alarm still
 * open; cancelled, taken or closed in the window, it never sounds. Alarms read
 * by a fetch (a reload, a reconnect) do not sound, unless their window ends
 * while this console watches.
 */
import type { AlarmSummary } from "@vakt/schemas";

export interface NewAlarmSound {
  /** Open alarms in their window: the instant (ms) it ends. */
  readonly waiting: ReadonlyMap<string, number>;
  /** Active alarms that have sounded, or never will (taken, or read by a fetch). */
  readonly heard: ReadonlySet<string>;
}

export const NO_SOUND_YET: NewAlarmSound = { waiting: new Map(), heard: new Set() };

type Seen = Pick<AlarmSummary, "id" | "state" | "cancelWindowUntil">;

/** The window's end in ms, when it is still ahead at `nowMs`. */
function windowEnd(a: Seen, nowMs: number): number | null {
  if (!a.cancelWindowUntil) return null;
  const end = Date.parse(a.cancelWindowUntil);
  return Number.isFinite(end) && end > nowMs ? end : null;
}

function forget(s: NewAlarmSound, id: string): NewAlarmSound {
  if (!s.waiting.has(id) && !s.heard.has(id)) return s;
  const waiting = new Map(s.waiting);
  const heard = new Set(s.heard);
  waiting.delete(id);
  heard.delete(id);
  return { waiting, heard };
}

function hear(s: NewAlarmSound, id: string): NewAlarmSound {
  const waiting = new Map(s.waiting);
  waiting.delete(id);
  return { waiting, heard: new Set(s.heard).add(id) };
}

/**
 * A state of an alarm as this console got it (a live event, or a fetch). Answers whether to sound now.
 * A closed alarm is forgotten, so a reopened one sounds again like a new one.
 */
export function observe(
  s: NewAlarmSound,
  a: Seen,
  nowMs: number,
  fromFetch = false,
): { state: NewAlarmSound; sound: boolean } {
  if (a.state === "resolved" || a.state === "cancelled") return { state: forget(s, a.id), sound: false };
  if (a.state !== "open") return { state: s.heard.has(a.id) ? s : hear(s, a.id), sound: false };
  if (s.heard.has(a.id)) return { state: s, sound: false };
  const end = windowEnd(a, nowMs);
  if (end !== null) {
    if (s.waiting.get(a.id) === end) return { state: s, sound: false };
    return { state: { ...s, waiting: new Map(s.waiting).set(a.id, end) }, sound: false };
  }
  // Out of its window: sounds if this console waited for it, or hears of it live for the first time.
  return { state: hear(s, a.id), sound: s.waiting.has(a.id) || !fromFetch };
}

/** The clock moved on: the alarms whose window has ended (still open as far as this console knows) sound. */
export function tick(s: NewAlarmSound, nowMs: number): { state: NewAlarmSound; due: string[] } {
  const due = [...s.waiting].filter(([, end]) => end <= nowMs).map(([id]) => id);
  let state = s;
  for (const id of due) state = hear(state, id);
  return { state, due };
}

/** After a fetch of the active alarms: ones no longer listed (closed meanwhile) are forgotten. */
export function retain(s: NewAlarmSound, active: readonly Pick<AlarmSummary, "id">[]): NewAlarmSound {
  const ids = new Set(active.map((a) => a.id));
  let state = s;
  for (const id of [...s.waiting.keys(), ...s.heard]) if (!ids.has(id)) state = forget(state, id);
  return state;
}
