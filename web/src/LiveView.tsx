import { useEffect, useMemo, useState } from "react";
import { AlarmQueue } from "./alarms/AlarmQueue";
import { stopBlinking, unlockAudioOnGesture } from "./alarms/attention";
import { openAlarmsByRecipient } from "./alarms/queue";
import { LiveMapContent, type MapFocus } from "./live/LiveMapContent";
import { useAlarmAttention, useAskedRinging } from "./live/use-alarm-attention";
import { useLiveEvents } from "./live/use-live-events";
import { useFocusQueries, useLiveQueries } from "./live/use-live-queries";
import { type RecipientMarker, recipientMarkers } from "./map/markers";
import { ReasonForm } from "./map/ReasonForm";
import { can, needsReason, useSession, useUi } from "./session/context";

/** The night shift's screen: the live map with the alarm queue beside it. */
export function LiveView() {
  const { t } = useUi();
  const session = useSession();
  const locator = needsReason(session);
  const readsAlarms = can(session, "alarm:read");
  const readsDevices = can(session, "device:read");
  const [reason, setReason] = useState<string | null>(null);
  const [selectedAlarm, setSelectedAlarm] = useState<string | null>(null);
  const view = useMapFocus();
  const now = useClock();
  const userId = session.me.user.id;
  const attention = useAlarmAttention(userId);
  const showPositions = !locator || reason !== null;
  const live = useLiveQueries({ readsAlarms, readsDevices, locator, showPositions }, attention);
  const { alarms, positions, devices, failed, positionsKey } = live;
  attention.alarmsRef.current = alarms;
  const focusId = view.followId ?? view.selectedRecipient;
  const { trailKey, trail, geofences } = useFocusQueries(focusId, view.trailHours, reason, showPositions);
  useLiveEvents({ queue: live.queue, showPositions, positionsKey, focusId, trailKey }, attention);
  useAskedRinging(userId, alarms, attention);

  const openAlarms = useMemo(() => openAlarmsByRecipient(alarms), [alarms]);
  const markers: RecipientMarker[] = useMemo(
    () => recipientMarkers(positions?.values() ?? [], devices, openAlarms, now),
    [positions, devices, openAlarms, now],
  );

  return (
    <div className={readsAlarms ? "live" : "live live--map-only"}>
      <div className="live__map">
        {showPositions ? (
          <LiveMapContent
            markers={markers}
            trail={trail}
            geofences={geofences}
            lookupReason={locator ? reason : null}
            positionsKey={positionsKey}
            view={view}
          />
        ) : (
          <ReasonForm onReason={setReason} />
        )}
        {failed && (
          <p className="error floating" role="alert">
            {t("common.error", { message: failed.message })}
          </p>
        )}
      </div>
      {readsAlarms && (
        <AlarmQueue
          alarms={alarms}
          selectedId={selectedAlarm}
          onSelect={setSelectedAlarm}
          onShowOnMap={(lat, lon, recipientId) => {
            view.setFocus({ lat, lon });
            if (recipientId) view.setSelectedRecipient(recipientId);
          }}
          asked={attention.asked}
          sound={attention.sound}
          onSoundChange={attention.changeSound}
          reason={reason}
        />
      )}
    </div>
  );
}

/** Which recipient the map shows, follows, and where it is centred. */
function useMapFocus(): MapFocus {
  const [selectedRecipient, setSelectedRecipient] = useState<string | null>(null);
  const [followId, setFollowId] = useState<string | null>(null);
  const [trailHours, setTrailHours] = useState(0);
  const [focus, setFocus] = useState<{ lat: number; lon: number } | null>(null);
  return {
    selectedRecipient,
    setSelectedRecipient,
    followId,
    setFollowId,
    trailHours,
    setTrailHours,
    focus,
    setFocus,
  };
}

/** The time markers are aged by, every 30 s; the audio unlocks on the first gesture, the title stops blinking on leaving. */
function useClock(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    unlockAudioOnGesture();
    const timer = window.setInterval(() => setNow(Date.now()), 30_000);
    return () => {
      window.clearInterval(timer);
      stopBlinking();
    };
  }, []);
  return now;
}
