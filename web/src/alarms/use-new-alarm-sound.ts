/**
 * The new-alarm sound over time in the console (the rules are in ./new-alarm-sound.ts): alarms
 * pushed live or fetched are observed, and a clock looks every half second for cancel windows
 * that ended with the alarm still open. `sound` is called whenever one should sound now.
 */
import type { AlarmSummary } from "@vakt/schemas";
import { type RefObject, useCallback, useEffect, useRef } from "react";
import { NO_SOUND_YET, observe, retain, tick } from "./new-alarm-sound";

export function useNewAlarmSound(alarms: RefObject<readonly AlarmSummary[]>, sound: () => void) {
  const state = useRef(NO_SOUND_YET);
  useEffect(() => {
    const timer = window.setInterval(() => {
      const r = tick(state.current, Date.now());
      state.current = r.state;
      if (r.due.some((id) => alarms.current.some((a) => a.id === id && a.state === "open"))) sound();
    }, 500);
    return () => window.clearInterval(timer);
  }, [alarms, sound]);
  /** An alarm pushed live: sounds once when new and out of its window (or when its window ended). */
  const live = useCallback(
    (a: AlarmSummary) => {
      const r = observe(state.current, a, Date.now());
      state.current = r.state;
      if (r.sound) sound();
    },
    [sound],
  );
  /** The active alarms fetched (a reload is no news): quiet, unless a window ends while shown. */
  const fetched = useCallback((list: readonly AlarmSummary[]) => {
    let s = retain(state.current, list);
    for (const a of list) s = observe(s, a, Date.now(), true).state;
    state.current = s;
  }, []);
  return { live, fetched };
}
