import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation } from "@tanstack/react-query";
import { type LivePosition, LOCATOR_REASON_MIN_LENGTH, locateResult, positionHistory } from "@vakt/schemas";
import { useEffect, useId, useState } from "react";
import { useForm } from "react-hook-form";
import { ApiProblem } from "../api/client";
import { subscribeLive, watchPositions } from "../api/live";
import { api, data } from "../api/typed";
import { can, needsReason, useSession, useUi } from "../session/context";
import { type ReasonFormInput, type ReasonFormOutput, reasonError, reasonForm } from "./reason-form";

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
  const reasonOk = !locator || reasonForm.safeParse({ reason }).success;
  const live = can(session, "position:read");

  useFirstLiveFix(sentAt !== null && fix === null && live ? sentAt : null, props.recipientId, setFix);

  const lookUp = useLookUp(props, reason, setFix, setMessage);

  const request = useMutation({
    mutationFn: (why: string) =>
      requestFix(props.deviceId, props.recipientId, locator ? why.trim() : undefined),
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
          ? t("locate.reasonTooShort", { n: LOCATOR_REASON_MIN_LENGTH })
          : t("common.error", { message: e.message }),
      ),
  });
  const locate = (why: string) => request.mutate(why);

  return (
    <div className="locate" data-testid="locate">
      {locator && asking ? (
        <LocateReasonForm
          reason={reason}
          busy={request.isPending}
          onReason={(why) => {
            setReason(why);
            locate(why);
          }}
        />
      ) : (
        <button type="button" onClick={() => (locator && !reasonOk ? setAsking(true) : locate(reason))}>
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

/** A locator says why before the device is asked (logged with the request), refused in words under the field. */
function LocateReasonForm(props: { reason: string; busy: boolean; onReason(reason: string): void }) {
  const { t } = useUi();
  const id = useId();
  const form = useForm<ReasonFormInput, unknown, ReasonFormOutput>({
    resolver: zodResolver(reasonForm),
    defaultValues: { reason: props.reason },
  });
  const error = form.formState.errors.reason;
  return (
    <form className="locate__reason" noValidate onSubmit={form.handleSubmit((r) => props.onReason(r.reason))}>
      <label htmlFor={`${id}-reason`}>{t("locate.reason", { n: LOCATOR_REASON_MIN_LENGTH })}</label>
      <textarea
        id={`${id}-reason`}
        rows={2}
        {...form.register("reason")}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
      />
      {error && (
        <p id={`${id}-error`} className="error small" role="alert">
          {t(reasonError(form.getValues("reason")), { min: LOCATOR_REASON_MIN_LENGTH })}
        </p>
      )}
      <button type="submit" className="primary" disabled={props.busy}>
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
