import { useMutation } from "@tanstack/react-query";
import { type LivePosition, locateResult, positionHistory } from "@vakt/schemas";
import { useEffect, useId, useState } from "react";
import { ApiProblem } from "../api/client";
import { subscribeLive, watchPositions } from "../api/live";
import { api, data } from "../api/typed";
import { can, needsReason, useSession, useUi } from "../session/context";

/** The API's rule for a locator's reason (api/src/positions/service.ts LOCATOR_REASON_MIN_LENGTH). */
export const LOCATE_REASON_MIN = 15;

/**
 * "Fetch position": asks the device for a fix now (POST /devices/{id}/locate,
 * or /recipients/{id}/locate where the user may not list devices). A locator
 * says why first (logged with the request). With position:read the first live
 * fix after the request is shown when it arrives; a locator may not watch
 * live, so they look it up once on purpose ("Show the new position", one
 * logged look-up with the same reason).
 */
export function LocateButton(props: {
  /** null: locate through the recipient (the API picks their device). */
  deviceId: string | null;
  recipientId: string;
  /** A reason the locator already gave on this screen, used when long enough. */
  reason: string | null;
  onShowOnMap?(lat: number, lon: number): void;
}) {
  const { t, when } = useUi();
  const session = useSession();
  const locator = needsReason(session);
  const [reason, setReason] = useState(props.reason ?? "");
  const [asking, setAsking] = useState(false);
  const [sentAt, setSentAt] = useState<string | null>(null);
  const [fix, setFix] = useState<LivePosition | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const reasonOk = !locator || reason.trim().length >= LOCATE_REASON_MIN;
  const live = can(session, "position:read");

  useFirstLiveFix(sentAt !== null && fix === null && live ? sentAt : null, props.recipientId, setFix);

  const lookUp = useLookUp(props, reason, setFix, setMessage);

  const request = useMutation({
    mutationFn: () => requestFix(props.deviceId, props.recipientId, locator ? reason.trim() : undefined),
    onMutate: () => {
      setMessage(null);
      setFix(null);
    },
    onSuccess: (r) => {
      setSentAt(r.sentAt);
      setAsking(false);
    },
    onError: (e) =>
      setMessage(
        e instanceof ApiProblem && e.code === "reason-required"
          ? t("locate.reasonTooShort", { n: LOCATE_REASON_MIN })
          : t("common.error", { message: e.message }),
      ),
  });
  const locate = () => request.mutate();

  return (
    <div className="locate" data-testid="locate">
      {locator && asking ? (
        <LocateReasonForm
          reason={reason}
          setReason={setReason}
          reasonOk={reasonOk}
          onSubmit={() => {
            if (reasonOk) locate();
          }}
        />
      ) : (
        <button type="button" onClick={() => (locator && !reasonOk ? setAsking(true) : locate())}>
          {t("locate.button")}
        </button>
      )}
      <p role="status" className="small" data-testid="locate-status">
        {statusText(t, when, fix, sentAt)}
      </p>
      {sentAt && !fix && !live && (
        <button type="button" disabled={lookUp.isPending} onClick={() => lookUp.mutate(sentAt)}>
          {t("locate.lookUp")}
        </button>
      )}
      {fix && props.onShowOnMap && (
        <button type="button" className="link" onClick={() => props.onShowOnMap?.(fix.lat, fix.lon)}>
          {t("alarm.showOnMap")}
        </button>
      )}
      {message && (
        <p className="error" role="alert">
          {message}
        </p>
      )}
    </div>
  );
}

/**
 * While waiting for the answer (`since`, the request's time, not null), the recipient's live positions are
 * watched (and that watch is logged); the first fix after the request answers it.
 */
function useFirstLiveFix(since: string | null, recipientId: string, onFix: (p: LivePosition) => void) {
  useEffect(() => {
    if (since === null) return;
    const sinceMs = Date.parse(since);
    const unwatch = watchPositions([recipientId]);
    const off = subscribeLive({
      position: (p) => {
        // Only a fix taken after the request answers it: the alarm's own fix, sent a moment before, does
        // not (devices report GPS time, so a clock behind the server's is rare; the answer then shows
        // once the look-up below is asked for).
        if (p.recipientId === recipientId && Date.parse(p.time) >= sinceMs) onFix(p);
      },
    });
    return () => {
      off();
      unwatch();
    };
  }, [since, recipientId, onFix]);
}

/** A locator says why before the device is asked (logged with the request). */
function LocateReasonForm(props: {
  reason: string;
  setReason(reason: string): void;
  reasonOk: boolean;
  onSubmit(): void;
}) {
  const { t } = useUi();
  const reasonId = useId();
  return (
    <form
      className="locate__reason"
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      <label htmlFor={reasonId}>{t("locate.reason", { n: LOCATE_REASON_MIN })}</label>
      <textarea
        id={reasonId}
        name="locate-reason"
        rows={2}
        minLength={LOCATE_REASON_MIN}
        maxLength={500}
        required
        value={props.reason}
        onChange={(e) => props.setReason(e.target.value)}
      />
      <button type="submit" className="primary" disabled={!props.reasonOk}>
        {t("locate.button")}
      </button>
    </form>
  );
}

/** Where the fix came, or since when it is awaited. */
function statusText(
  t: ReturnType<typeof useUi>["t"],
  when: ReturnType<typeof useUi>["when"],
  fix: LivePosition | null,
  sentAt: string | null,
): string {
  if (fix)
    return t("locate.arrived", {
      time: when(fix.time),
      where: `${fix.lat.toFixed(5)}, ${fix.lon.toFixed(5)}${fix.accuracyM === null ? "" : ` ± ${Math.round(fix.accuracyM)} m`}`,
    });
  return sentAt ? t("locate.waiting", { time: when(sentAt) }) : "";
}

/** One logged look-up of the newest fix since the request, for those who may not watch live. */
function useLookUp(
  props: { recipientId: string; deviceId: string | null },
  reason: string,
  setFix: (p: LivePosition) => void,
  setMessage: (m: string | null) => void,
) {
  const { t } = useUi();
  return useMutation({
    mutationFn: (since: string) => newestSince(props.recipientId, since, reason.trim() || undefined),
    onMutate: () => setMessage(null),
    onSuccess: (p) => {
      if (p) setFix(asLive(p, props.recipientId, props.deviceId));
      else setMessage(t("locate.notYet"));
    },
    onError: (e) => setMessage(t("common.error", { message: e.message })),
  });
}

/** The newest fix since the request: one logged look-up (with the locator's reason). */
async function newestSince(recipientId: string, since: string, reason: string | undefined) {
  const h = await data(
    api.GET("/api/v1/positions/recipients/{id}/history", {
      params: {
        path: { id: recipientId },
        query: { from: since, to: new Date().toISOString(), maxPoints: 10, reason },
      },
    }),
    positionHistory,
  );
  return h.points.at(-1) ?? null;
}

/** Asks the device for a fix now, by the device or (without device:read) through the recipient. */
function requestFix(deviceId: string | null, recipientId: string, reason: string | undefined) {
  const body = reason === undefined ? {} : { reason };
  return data(
    deviceId
      ? api.POST("/api/v1/devices/{id}/locate", { params: { path: { id: deviceId } }, body })
      : api.POST("/api/v1/recipients/{id}/locate", { params: { path: { id: recipientId } }, body }),
    locateResult,
  );
}

function asLive(
  p: { time: string; lat: number; lon: number; accuracyM: number | null },
  recipientId: string,
  deviceId: string | null,
): LivePosition {
  return {
    recipientId,
    deviceId: deviceId ?? "",
    departmentId: "",
    time: p.time,
    lat: p.lat,
    lon: p.lon,
    accuracyM: p.accuracyM,
    speedMps: null,
    headingDeg: null,
    source: "",
    batteryPercent: null,
  };
}
