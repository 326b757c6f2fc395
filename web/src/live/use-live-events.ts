/** The live stream into the night shift's caches: alarms, alerts, positions and devices as they happen. */
import { useQueryClient } from "@tanstack/react-query";
import type { AlarmSummary, device as deviceSchema } from "@vakt/schemas";
import { useEffect } from "react";
import type { z } from "zod";
import { applyAlarmChange, applyAlert } from "../alarms/asked";
import { beep, blinkTitle, closeDesktop, notifyDesktop } from "../alarms/attention";
import type { AlarmQueueCache } from "../alarms/queue-cache";
import { activeAlarmsKey } from "../alarms/queue-cache";
import { subscribeLive, watchPositions } from "../api/live";
import {
  liveKeys,
  type Positions,
  withAlarmPosition,
  withDeviceChange,
  withLivePosition,
} from "../live-data";
import type { TrailPoint } from "../map/LiveMap";
import { useUi } from "../session/context";
import type { AlarmAttention } from "./use-alarm-attention";

const alarmTag = (id: string) => `vakt-alarm-${id}`;

interface LiveTargets {
  queue: AlarmQueueCache;
  showPositions: boolean;
  positionsKey: readonly unknown[];
  focusId: string | null;
  trailKey: readonly unknown[];
}

export function useLiveEvents(
  { queue, showPositions, positionsKey, focusId, trailKey }: LiveTargets,
  { setAsked, soundRef, newAlarmSound }: AlarmAttention,
) {
  const { t } = useUi();
  const client = useQueryClient();
  useEffect(
    () =>
      subscribeLive({
        // A (re)connection or a watch resumed after a hidden tab: what came meanwhile was missed.
        connected: () => {
          void client.invalidateQueries({ queryKey: activeAlarmsKey });
          void client.invalidateQueries({ queryKey: positionsKey });
          void client.invalidateQueries({ queryKey: liveKeys.devices });
        },
        watchResumed: () => void client.invalidateQueries({ queryKey: positionsKey }),
        alert: (alert) => {
          const a = alert.alarm;
          if (a.state !== "open") return;
          setAsked((m) => applyAlert(m, alert, Date.now()));
          if (soundRef.current.asked) beep();
          const title =
            alert.step === null ? t("asked.reminderTitle") : t("asked.stepTitle", { step: alert.step });
          blinkTitle(title);
          if (document.visibilityState === "hidden" || !document.hasFocus())
            notifyDesktop(alarmTag(a.id), title, alarmLine(a, t));
        },
        alarm: (a, _isNew, change) => {
          // Sounds once, when new and out of its cancel window (or when the window ended).
          newAlarmSound.live(a);
          // Its open panel reloads on the same event (Shell's LiveCacheEvents), an escalation's too.
          if (!queue.live(a, change)) return;
          if (a.state !== "open") {
            setAsked((m) => applyAlarmChange(m, a));
            closeDesktop(alarmTag(a.id));
          }
          if (showPositions) client.setQueryData<Positions>(positionsKey, (m) => withAlarmPosition(m, a));
        },
        position: (p) => {
          if (!showPositions) return;
          client.setQueryData<Positions>(positionsKey, (m) => withLivePosition(m, p));
          if (p.recipientId === focusId)
            client.setQueryData<TrailPoint[]>(trailKey, (tr) =>
              tr && tr.length > 0 ? [...tr, { lat: p.lat, lon: p.lon, time: p.time }] : tr,
            );
        },
        device: (d) => {
          if (!d.recipientId) return;
          const list = client.getQueryData<z.infer<typeof deviceSchema>[]>(liveKeys.devices);
          const next = list && withDeviceChange(list, d);
          if (next) client.setQueryData(liveKeys.devices, next);
          // A device given to someone since the list was read.
          else if (list) void client.invalidateQueries({ queryKey: liveKeys.devices });
        },
      }),
    [
      client,
      queue,
      t,
      showPositions,
      positionsKey,
      focusId,
      trailKey,
      newAlarmSound.live,
      setAsked,
      soundRef,
    ],
  );

  // Positions are watched (and logged as watched) only while the map shows them and the tab is visible.
  useEffect(() => (showPositions ? watchPositions("all") : undefined), [showPositions]);
}

/** "SOS · Kari Berg · Sone 1": the line a desktop notification carries. */
function alarmLine(a: AlarmSummary, t: ReturnType<typeof useUi>["t"]): string {
  const who = a.recipient ? `${a.recipient.firstName ?? ""} ${a.recipient.lastName ?? ""}`.trim() : "";
  return [t(`alarm.type.${a.type}`), who, a.department.name].filter(Boolean).join(" · ");
}
