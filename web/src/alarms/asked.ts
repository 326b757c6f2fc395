/**
 * The alarms this user has been asked to take (alert routing's console
 * channel): pure, so the ringing rules are tested without a browser. An alarm
 * rings from the first alert that reaches this user until anyone takes,
 * resolves or cancels it; a later step or reminder only updates who is asked.
 */
import type { AlarmSummary, LiveAlarmAlert } from "@vakt/schemas";

export interface Asked {
  alarmId: string;
  /** Escalation step (1-based), null for a reminder. */
  step: number | null;
  /** The last step number seen, kept when a reminder (step null) follows. */
  lastStep: number | null;
  /** Everyone the latest alert asked, by name. */
  names: string[];
  /** When the latest alert reached this console (ms). */
  at: number;
}

export type AskedMap = ReadonlyMap<string, Asked>;

/** An alert for an alarm that is still open starts (or updates) its ringing. */
export function applyAlert(asked: AskedMap, alert: LiveAlarmAlert, now: number): AskedMap {
  const id = alert.alarm.id;
  if (alert.alarm.state !== "open") return dropAlarm(asked, id);
  const prev = asked.get(id);
  const next = new Map(asked);
  next.set(id, {
    alarmId: id,
    step: alert.step,
    lastStep: alert.step ?? prev?.lastStep ?? null,
    names: alert.asked.map((a) => a.name),
    at: now,
  });
  return next;
}

/** Any change that leaves an alarm not open (taken, resolved, cancelled) stops its ringing for everyone. */
export function applyAlarmChange(asked: AskedMap, alarm: Pick<AlarmSummary, "id" | "state">): AskedMap {
  return alarm.state === "open" ? asked : dropAlarm(asked, alarm.id);
}

/**
 * After a fetch of the active alarms: an alarm that is no longer open there
 * (or gone) stops ringing, one taken while this console was disconnected too.
 */
export function keepOpen(asked: AskedMap, active: readonly Pick<AlarmSummary, "id" | "state">[]): AskedMap {
  const open = new Set(active.filter((a) => a.state === "open").map((a) => a.id));
  let next: Map<string, Asked> | null = null;
  for (const id of asked.keys())
    if (!open.has(id)) {
      next ??= new Map(asked);
      next.delete(id);
    }
  return next ?? asked;
}

function dropAlarm(asked: AskedMap, id: string): AskedMap {
  if (!asked.has(id)) return asked;
  const next = new Map(asked);
  next.delete(id);
  return next;
}

/** How the asked state is kept across a reload of the tab (sessionStorage, per user). */
export function serialiseAsked(asked: AskedMap): string {
  return JSON.stringify([...asked.values()]);
}

export function parseAsked(text: string | null): AskedMap {
  const m = new Map<string, Asked>();
  if (!text) return m;
  try {
    const list: unknown = JSON.parse(text);
    if (!Array.isArray(list)) return m;
    for (const v of list) {
      if (typeof v !== "object" || v === null) continue;
      const a = v as Partial<Asked>;
      if (typeof a.alarmId !== "string" || typeof a.at !== "number" || !Array.isArray(a.names)) continue;
      m.set(a.alarmId, {
        alarmId: a.alarmId,
        step: typeof a.step === "number" ? a.step : null,
        lastStep: typeof a.lastStep === "number" ? a.lastStep : null,
        names: a.names.filter((n): n is string => typeof n === "string"),
        at: a.at,
      });
    }
  } catch {
    // A damaged entry is forgotten; the next alert or reminder brings the ringing back.
  }
  return m;
}

/** Sound settings, per user (kept in this browser's localStorage under the user's id). */
export const REPEAT_CHOICES = [5, 10, 15, 30, 60] as const;
export type RepeatS = (typeof REPEAT_CHOICES)[number];
export interface SoundPrefs {
  /** Beep on a new alarm in the queue. */
  newAlarms: boolean;
  /** Ring, repeating, while an alarm this user was asked to take is untaken. */
  asked: boolean;
  repeatS: RepeatS;
}
export const DEFAULT_SOUND: SoundPrefs = { newAlarms: true, asked: true, repeatS: 15 };

export function parseSoundPrefs(text: string | null, legacy: string | null): SoundPrefs {
  const base: SoundPrefs = { ...DEFAULT_SOUND, newAlarms: legacy !== "off" };
  if (!text) return base;
  try {
    const v = JSON.parse(text) as Partial<Record<keyof SoundPrefs, unknown>>;
    return {
      newAlarms: typeof v.newAlarms === "boolean" ? v.newAlarms : base.newAlarms,
      asked: typeof v.asked === "boolean" ? v.asked : base.asked,
      repeatS: REPEAT_CHOICES.includes(v.repeatS as RepeatS) ? (v.repeatS as RepeatS) : base.repeatS,
    };
  } catch {
    return base;
  }
}

export const soundKey = (userId: string) => `vakt.sound.${userId}`;
export const askedKey = (userId: string) => `vakt.asked.${userId}`;
/** The one setting kept before sound was per user: read once as the default. */
export const LEGACY_SOUND_KEY = "vakt.sound";
