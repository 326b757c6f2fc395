import {
  type AlarmOutcome,
  type AlarmSummary,
  alarmConflict,
  alarmDetail,
  alarmOutcome,
  alarmSummary,
  positionHistory,
} from "@vakt/schemas";
import { useCallback, useEffect, useState } from "react";
import { z } from "zod";
import { ApiProblem, get, send } from "../api/client";
import { formatAge } from "../format/time";
import { LocateButton } from "../map/LocateButton";
import { can, useSession, useUi } from "../session/context";
import { CallList, calledText } from "./CallList";
import { CancelCountdown } from "./CancelCountdown";

const outcomes = alarmOutcome.options.filter(
  (o): o is Exclude<AlarmOutcome, "false_alarm"> => o !== "false_alarm",
);
type Action = "take" | "comment" | "resolve" | "cancel";

/** The opened alarm: notes for responders, device state, positions, who has it, and what to do. */
export function AlarmDetailPanel(props: {
  summary: AlarmSummary;
  /** Changes with every live event about the alarm: reload who was asked, comments, calls. */
  revision: number;
  reason: string | null;
  onShowOnMap(lat: number, lon: number, recipientId: string | null): void;
  onChanged(alarm: AlarmSummary): void;
}) {
  const { t, lang, when, dateTime } = useUi();
  const session = useSession();
  const a = props.summary;
  const [detail, setDetail] = useState<z.infer<typeof alarmDetail> | null>(null);
  const [last, setLast] = useState<z.infer<typeof positionHistory>["points"]>([]);
  const [note, setNote] = useState("");
  const [outcome, setOutcome] = useState<(typeof outcomes)[number]>("helped_on_site");
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    setDetail(await get(`/alarms/${a.id}`, alarmDetail));
  }, [a.id]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: reload when the alarm changes state, holder or is escalated
  useEffect(() => {
    load().catch((e) => setMessage(t("common.error", { message: String(e) })));
  }, [load, a.state, a.assignee?.id, props.revision]);

  useEffect(() => {
    if (!a.recipient) return;
    const to = new Date();
    const from = new Date(Math.min(Date.parse(a.raisedAt), to.getTime()) - 2 * 3_600_000);
    get(`/positions/recipients/${a.recipient.id}/history`, positionHistory, {
      from: from.toISOString(),
      to: to.toISOString(),
      maxPoints: 20_000,
      reason: props.reason ?? undefined,
    })
      .then((h) => setLast(h.points.slice(-10).reverse()))
      .catch(() => setLast([]));
  }, [a.recipient, a.raisedAt, props.reason]);

  const act = async (action: Action) => {
    setBusy(true);
    setMessage(null);
    try {
      const path = `/alarms/${a.id}/${action === "comment" ? "comments" : action}`;
      const body =
        action === "resolve"
          ? { outcome, note }
          : action === "comment"
            ? { note }
            : note.trim()
              ? { note }
              : {};
      const updated = await send("POST", path, body, z.union([alarmSummary, z.unknown()]));
      const parsed = alarmSummary.safeParse(updated);
      if (parsed.success) props.onChanged(parsed.data);
      setNote("");
      await load();
    } catch (e) {
      if (e instanceof ApiProblem && e.status === 409) {
        const c = alarmConflict.safeParse(e.body);
        setMessage(t("alarm.conflict", { name: c.success ? (c.data.holder?.name ?? "?") : "?" }));
      } else setMessage(t("common.error", { message: e instanceof Error ? e.message : String(e) }));
    } finally {
      setBusy(false);
    }
  };

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
        <CallList alarmId={a.id} recipientId={a.recipient.id} onLogged={() => void load()} />
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
              <button type="button" className="primary" disabled={busy} onClick={() => act("take")}>
                {t("alarm.take")}
              </button>
            )}
            <button type="button" disabled={busy || !note.trim()} onClick={() => act("comment")}>
              {t("alarm.comment")}
            </button>
            {a.state === "acknowledged" && (
              <button
                type="button"
                className={mine ? "primary" : ""}
                disabled={busy || !note.trim()}
                onClick={() => act("resolve")}
              >
                {t("alarm.resolve")}
              </button>
            )}
            <button type="button" disabled={busy} onClick={() => act("cancel")}>
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
