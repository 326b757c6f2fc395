import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  type AlarmOutcome,
  type AlarmSummary,
  alarmConflict,
  alarmDetail,
  alarmOutcome,
  alarmSummary,
  positionHistory,
} from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { ApiProblem } from "../api/client";
import { api, data } from "../api/typed";
import { formatAge } from "../format/time";
import { liveKeys, queueCacheOf } from "../live-data";
import { LocateButton } from "../map/LocateButton";
import { can, useSession, useUi } from "../session/context";
import { CallList, calledText } from "./CallList";
import { CancelCountdown } from "./CancelCountdown";

const outcomes = alarmOutcome.options.filter(
  (o): o is Exclude<AlarmOutcome, "false_alarm"> => o !== "false_alarm",
);
type Action = "take" | "comment" | "resolve" | "cancel";

/** One action on the alarm, each by its own path (the note is optional where the API says so). */
function post(id: string, action: Action, note: string, outcome: (typeof outcomes)[number]) {
  const params = { path: { id } };
  const optional = note.trim() ? { note } : {};
  switch (action) {
    case "take":
      return api.POST("/api/v1/alarms/{id}/take", { params, body: optional });
    case "comment":
      return api.POST("/api/v1/alarms/{id}/comments", { params, body: { note } });
    case "resolve":
      return api.POST("/api/v1/alarms/{id}/resolve", { params, body: { outcome, note } });
    case "cancel":
      return api.POST("/api/v1/alarms/{id}/cancel", { params, body: optional });
  }
}

/** The opened alarm: notes for responders, device state, positions, who has it, and what to do. */
export function AlarmDetailPanel(props: {
  summary: AlarmSummary;
  reason: string | null;
  onShowOnMap(lat: number, lon: number, recipientId: string | null): void;
}) {
  const { t, lang, when, dateTime } = useUi();
  const session = useSession();
  const client = useQueryClient();
  const a = props.summary;
  const [note, setNote] = useState("");
  const [outcome, setOutcome] = useState<(typeof outcomes)[number]>("helped_on_site");

  // Every live event about the alarm invalidates this (who was asked, comments, calls).
  const detailQuery = useQuery({
    queryKey: liveKeys.alarm(a.id),
    queryFn: () => data(api.GET("/api/v1/alarms/{id}", { params: { path: { id: a.id } } }), alarmDetail),
  });
  const detail = detailQuery.data ?? null;
  const reload = () => client.invalidateQueries({ queryKey: liveKeys.alarm(a.id) });

  const recipientId = a.recipient?.id ?? null;
  const lastQuery = useQuery({
    queryKey: ["positions", "around-alarm", a.id, recipientId, props.reason],
    enabled: recipientId !== null,
    queryFn: async () => {
      const to = new Date();
      const from = new Date(Math.min(Date.parse(a.raisedAt), to.getTime()) - 2 * 3_600_000);
      const h = await data(
        api.GET("/api/v1/positions/recipients/{id}/history", {
          params: {
            path: { id: recipientId ?? "" },
            query: {
              from: from.toISOString(),
              to: to.toISOString(),
              maxPoints: 20_000,
              reason: props.reason ?? undefined,
            },
          },
        }),
        positionHistory,
      );
      return h.points.slice(-10).reverse();
    },
  });
  const last = lastQuery.data ?? [];

  const act = useMutation({
    mutationFn: (action: Action) =>
      data(post(a.id, action, note, outcome), z.union([alarmSummary, z.unknown()])),
    onSuccess: (updated) => {
      const parsed = alarmSummary.safeParse(updated);
      // The answer is an event like any other for the queue (the socket's may come before or after).
      if (parsed.success) queueCacheOf(client).live(parsed.data, null);
      setNote("");
      return reload();
    },
  });
  const busy = act.isPending;
  const failure = act.error ?? detailQuery.error;
  const message =
    failure instanceof ApiProblem && failure.status === 409 && failure === act.error
      ? conflictText(t, failure.body)
      : failure
        ? t("common.error", { message: failure.message })
        : null;

  const mine = a.assignee?.id === session.me.user.id;
  const canAct = session.me.permissions.includes("alarm:acknowledge");
  const people = new Map<string, string>();
  for (const tr of detail?.transitions ?? [])
    if (tr.actor.type === "user" && tr.actor.id && tr.actor.name && tr.actor.id !== session.me.user.id)
      people.set(tr.actor.id, tr.actor.name);

  return (
    <div id={`alarm-${a.id}`} className="alarm-detail" data-testid="alarm-detail">
      {a.recipient && (can(session, "alarm:acknowledge") || can(session, "recipient:manage")) && (
        // First: on a night shift the question is who to phone.
        <CallList alarmId={a.id} recipientId={a.recipient.id} onLogged={() => void reload()} />
      )}
      {detail?.responderNotes && (
        <p className="responder-notes">
          <strong>{t("alarm.responderNotes")}:</strong> {detail.responderNotes}
        </p>
      )}
      {a.state === "open" && <CancelCountdown until={a.cancelWindowUntil} detailed />}
      <dl className="facts">
        <dt>{t("alarm.raised")}</dt>
        <dd>{dateTime(a.raisedAt)}</dd>
        <dt>{t("alarm.battery")}</dt>
        <dd>{a.device.batteryPercent === null ? "–" : `${Math.round(a.device.batteryPercent)} %`}</dd>
        <dt>{t("alarm.lastContact")}</dt>
        <dd>
          {a.device.online ? t("alarm.online") : t("alarm.offline")}
          {last[0]
            ? ` · ${when(last[0].time)} (${formatAge(Date.parse(last[0].time), Date.now(), lang)})`
            : ""}
        </dd>
        <dt>{t("alarm.whoElse")}</dt>
        <dd data-testid="alarm-holder">
          {a.assignee ? t("queue.taken", { name: a.assignee.name }) : t("alarm.nobody")}
          {people.size > 0 && ` · ${[...people.values()].join(", ")}`}
        </dd>
      </dl>
      <h3>{t("alarm.position")}</h3>
      {a.position ? (
        <p>
          {a.position.lat.toFixed(5)}, {a.position.lon.toFixed(5)}
          {a.position.accuracyM !== null && ` ± ${Math.round(a.position.accuracyM)} m`}{" "}
          <button
            type="button"
            onClick={() =>
              a.position && props.onShowOnMap(a.position.lat, a.position.lon, a.recipient?.id ?? null)
            }
          >
            {t("alarm.showOnMap")}
          </button>
        </p>
      ) : (
        <p className="muted">{t("alarm.noPosition")}</p>
      )}
      {last.length > 0 && (
        <details>
          <summary>{t("alarm.lastPositions")}</summary>
          <ol className="positions">
            {last.map((p) => (
              <li key={p.time}>
                <button
                  type="button"
                  className="link"
                  onClick={() => props.onShowOnMap(p.lat, p.lon, a.recipient?.id ?? null)}
                >
                  {when(p.time)}: {p.lat.toFixed(5)}, {p.lon.toFixed(5)}
                  {p.accuracyM !== null && ` ± ${Math.round(p.accuracyM)} m`}
                </button>
              </li>
            ))}
          </ol>
        </details>
      )}
      {a.recipient && (can(session, "position:read") || can(session, "position:locate")) && (
        <LocateButton
          deviceId={a.device.id}
          recipientId={a.recipient.id}
          reason={props.reason}
          onShowOnMap={(lat, lon) => props.onShowOnMap(lat, lon, a.recipient?.id ?? null)}
        />
      )}
      {detail && detail.deliveries.length > 0 && (
        <>
          <h3>{t("alarm.alerts")}</h3>
          <ol className="deliveries" data-testid="alarm-deliveries">
            {detail.deliveries.map((d) => (
              <li key={d.id}>
                {when(d.at)} · {d.step === null ? t("alarm.noStep") : t("asked.step", { step: d.step })} ·{" "}
                {t(`alarm.channel.${d.channel}`)} · {d.targetName ?? d.target} ·{" "}
                {t(`alarm.delivery.${d.result}`)}
                {d.reason ? ` (${t(`alarm.skipReason.${d.reason}`)})` : d.detail ? ` (${d.detail})` : ""}
              </li>
            ))}
          </ol>
        </>
      )}
      {detail && detail.transitions.length > 0 && (
        <details>
          <summary>{t("alarm.history")}</summary>
          <ol className="transitions">
            {detail.transitions.map((tr) => (
              <li key={tr.id}>
                {when(tr.at)} {t(`alarm.transition.${tr.kind}`)}
                {tr.kind === "escalated" && typeof tr.details.step === "number"
                  ? ` (${tr.details.reminder === true ? t("alarm.reminder") : t("asked.step", { step: tr.details.step })})`
                  : ""}
                {tr.kind === "called" ? calledText(t, tr.details) : ""}
                {tr.actor.name ? ` · ${tr.actor.name}` : ""}
                {tr.note ? `: ${tr.note}` : ""}
              </li>
            ))}
          </ol>
        </details>
      )}
      {canAct && (
        <form className="alarm-actions" onSubmit={(e) => e.preventDefault()}>
          <label>
            {t("alarm.note")}
            <textarea name="note" rows={2} value={note} onChange={(e) => setNote(e.target.value)} />
          </label>
          {a.state === "acknowledged" && (
            <label>
              {t("alarm.outcome")}
              <select
                name="outcome"
                value={outcome}
                onChange={(e) => setOutcome(e.target.value as typeof outcome)}
              >
                {outcomes.map((o) => (
                  <option key={o} value={o}>
                    {t(`alarm.outcome.${o}`)}
                  </option>
                ))}
              </select>
            </label>
          )}
          <div className="buttons">
            {a.state === "open" && (
              <button type="button" className="primary" disabled={busy} onClick={() => act.mutate("take")}>
                {t("alarm.take")}
              </button>
            )}
            <button type="button" disabled={busy || !note.trim()} onClick={() => act.mutate("comment")}>
              {t("alarm.comment")}
            </button>
            {a.state === "acknowledged" && (
              <button
                type="button"
                className={mine ? "primary" : ""}
                disabled={busy || !note.trim()}
                onClick={() => act.mutate("resolve")}
              >
                {t("alarm.resolve")}
              </button>
            )}
            <button type="button" disabled={busy} onClick={() => act.mutate("cancel")}>
              {t("alarm.cancel")}
            </button>
          </div>
        </form>
      )}
      {message && (
        <p className="error" role="alert">
          {message}
        </p>
      )}
    </div>
  );
}

/** Someone else took it first: say who. */
function conflictText(t: ReturnType<typeof useUi>["t"], body: unknown): string {
  const c = alarmConflict.safeParse(body);
  return t("alarm.conflict", { name: c.success ? (c.data.holder?.name ?? "?") : "?" });
}
