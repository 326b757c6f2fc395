/** The sections of the opened alarm panel (AlarmDetailPanel), top to bottom. */
import type { AlarmDetail, AlarmSummary, positionHistory } from "@vakt/schemas";
import { useId } from "react";
import type { z } from "zod";
import { formatAge } from "../format/time";
import { useUi } from "../session/context";
import { alarmNoteError, outcomes } from "./alarm-action-form";
import { calledText } from "./CallList";
import type { AlarmActionsState } from "./use-alarm-detail";

type Point = z.infer<typeof positionHistory>["points"][number];
type ShowOnMap = (lat: number, lon: number, recipientId: string | null) => void;

/** Raised, battery, last contact, and who has it (and who else has acted on it). */
export function AlarmFacts({
  a,
  last,
  people,
}: {
  a: AlarmSummary;
  last: Point[];
  people: Map<string, string>;
}) {
  const { t, lang, when, dateTime } = useUi();
  return (
    <dl className="facts">
      <dt>{t("alarm.raised")}</dt>
      <dd>{dateTime(a.raisedAt)}</dd>
      <dt>{t("alarm.battery")}</dt>
      <dd>{a.device.batteryPercent === null ? "–" : `${Math.round(a.device.batteryPercent)} %`}</dd>
      <dt>{t("alarm.lastContact")}</dt>
      <dd>
        {a.device.online ? t("alarm.online") : t("alarm.offline")}
        {last[0] ? ` · ${when(last[0].time)} (${formatAge(Date.parse(last[0].time), Date.now(), lang)})` : ""}
      </dd>
      <dt>{t("alarm.whoElse")}</dt>
      <dd data-testid="alarm-holder">
        {a.assignee ? t("queue.taken", { name: a.assignee.name }) : t("alarm.nobody")}
        {people.size > 0 && ` · ${[...people.values()].join(", ")}`}
      </dd>
    </dl>
  );
}

/** The alarm's position, and the recipient's last ones, each shown on the map on a click. */
export function AlarmPositions({
  a,
  last,
  onShowOnMap,
}: {
  a: AlarmSummary;
  last: Point[];
  onShowOnMap: ShowOnMap;
}) {
  const { t, when } = useUi();
  return (
    <>
      <h3>{t("alarm.position")}</h3>
      {a.position ? (
        <p>
          {a.position.lat.toFixed(5)}, {a.position.lon.toFixed(5)}
          {a.position.accuracyM !== null && ` ± ${Math.round(a.position.accuracyM)} m`}{" "}
          <button
            type="button"
            onClick={() => a.position && onShowOnMap(a.position.lat, a.position.lon, a.recipient?.id ?? null)}
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
                  onClick={() => onShowOnMap(p.lat, p.lon, a.recipient?.id ?? null)}
                >
                  {when(p.time)}: {p.lat.toFixed(5)}, {p.lon.toFixed(5)}
                  {p.accuracyM !== null && ` ± ${Math.round(p.accuracyM)} m`}
                </button>
              </li>
            ))}
          </ol>
        </details>
      )}
    </>
  );
}

/** Who alert routing asked, by which channel, and how it went. */
export function AlarmDeliveries({ detail }: { detail: AlarmDetail | null }) {
  const { t, when } = useUi();
  if (!detail || detail.deliveries.length === 0) return null;
  return (
    <>
      <h3>{t("alarm.alerts")}</h3>
      <ol className="deliveries" data-testid="alarm-deliveries">
        {detail.deliveries.map((d) => (
          <li key={d.id}>
            {when(d.at)} · {d.step === null ? t("alarm.noStep") : t("asked.step", { step: d.step })} ·{" "}
            {t(`alarm.channel.${d.channel}`)} · {d.targetName ?? d.target} · {t(`alarm.delivery.${d.result}`)}
            {d.reason ? ` (${t(`alarm.skipReason.${d.reason}`)})` : d.detail ? ` (${d.detail})` : ""}
          </li>
        ))}
      </ol>
    </>
  );
}

/** The alarm's history: each step, escalation, call and comment. */
export function AlarmTransitions({ detail }: { detail: AlarmDetail | null }) {
  const { t, when } = useUi();
  if (!detail || detail.transitions.length === 0) return null;
  return (
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
  );
}

/** The note and the buttons: take, comment, resolve (with an outcome) and cancel; a refused note says why under it. */
export function AlarmActions({
  a,
  mine,
  actions,
}: {
  a: AlarmSummary;
  mine: boolean;
  actions: AlarmActionsState;
}) {
  const { t } = useUi();
  const id = useId();
  const { form, pressed, press, act } = actions;
  const busy = act.isPending;
  const noteError = form.formState.errors.note;
  return (
    <form className="alarm-actions" noValidate onSubmit={(e) => e.preventDefault()}>
      <label>
        {t("alarm.note")}
        <textarea
          rows={2}
          {...form.register("note")}
          {...(noteError ? { "aria-invalid": true as const, "aria-describedby": `${id}-note-error` } : {})}
        />
      </label>
      {noteError && (
        <p id={`${id}-note-error`} className="error small" role="alert">
          {t(alarmNoteError(pressed.current, form.getValues("note")))}
        </p>
      )}
      {a.state === "acknowledged" && (
        <label>
          {t("alarm.outcome")}
          <select {...form.register("outcome")}>
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
          <button type="button" className="primary" disabled={busy} onClick={() => press("take")}>
            {t("alarm.take")}
          </button>
        )}
        <button type="button" disabled={busy} onClick={() => press("comment")}>
          {t("alarm.comment")}
        </button>
        {a.state === "acknowledged" && (
          <button
            type="button"
            className={mine ? "primary" : ""}
            disabled={busy}
            onClick={() => press("resolve")}
          >
            {t("alarm.resolve")}
          </button>
        )}
        <button type="button" disabled={busy} onClick={() => press("cancel")}>
          {t("alarm.cancel")}
        </button>
      </div>
    </form>
  );
}
