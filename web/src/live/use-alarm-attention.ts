/** The console's sounds and titles for alarms: new ones, and those alert routing asked this user to take. */
import type { AlarmSummary } from "@vakt/schemas";
import { useCallback, useEffect, useRef, useState } from "react";
import { type AskedMap, askedKey, parseAsked, serialiseAsked } from "../alarms/asked";
import { beep, blinkTitle, stopBlinking } from "../alarms/attention";
import { useNewAlarmSound } from "../alarms/use-new-alarm-sound";
import { useSoundPrefs } from "../alarms/use-sound-prefs";
import { useUi } from "../session/context";

const NO_ALARMS: AlarmSummary[] = [];

export function useAlarmAttention(userId: string) {
  const { t } = useUi();
  const [sound, changeSound] = useSoundPrefs(userId);
  /** Alarms alert routing asked this user to take: they ring until someone takes them. */
  const [asked, setAsked] = useState<AskedMap>(() => parseAsked(sessionStorage.getItem(askedKey(userId))));
  const soundRef = useRef(sound);
  soundRef.current = sound;
  /** Sounds for an alarm that is new to this console (or whose window just ended): the user's setting, and the title. */
  const soundNew = useCallback(() => {
    if (soundRef.current.newAlarms) beep();
    blinkTitle(t("queue.newAlarm"));
  }, [t]);
  /** The alarms the console lists, set by the caller each render. */
  const alarmsRef = useRef<readonly AlarmSummary[]>(NO_ALARMS);
  // A fall in its cancel window is quiet; when the window ends with the alarm still open, it sounds.
  const newAlarmSound = useNewAlarmSound(alarmsRef, soundNew);
  return { sound, changeSound, asked, setAsked, soundRef, alarmsRef, newAlarmSound };
}

export type AlarmAttention = ReturnType<typeof useAlarmAttention>;

/** Keeps the asked alarms over a reload, and re-sounds them until someone takes them. */
export function useAskedRinging(userId: string, alarms: readonly AlarmSummary[], attention: AlarmAttention) {
  const { asked, sound } = attention;
  useEffect(() => {
    sessionStorage.setItem(askedKey(userId), serialiseAsked(asked));
  }, [asked, userId]);

  // Re-sound until someone takes it: one beep every repeatS while any alarm this user was asked to take is open.
  // Only alarms this console lists ring: an alert for one it may not see (or has not loaded yet) stays silent.
  const ringing = alarms.some((a) => a.state === "open" && asked.has(a.id));
  useEffect(() => {
    if (!ringing || !sound.asked) return;
    const timer = window.setInterval(() => beep(), sound.repeatS * 1000);
    return () => window.clearInterval(timer);
  }, [ringing, sound.asked, sound.repeatS]);
  useEffect(() => {
    if (!ringing) stopBlinking();
  }, [ringing]);
}
