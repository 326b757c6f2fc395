import type { AlarmSummary } from "@vakt/schemas";
import { useState } from "react";
import { useSession, useUi } from "../session/context";
import { AlarmDetailPanel } from "./AlarmDetailPanel";
import { type Asked, type AskedMap, REPEAT_CHOICES, type RepeatS, type SoundPrefs } from "./asked";
import { askDesktopPermission, desktopPermission } from "./attention";
import { CancelCountdown } from "./CancelCountdown";
import { isActive } from "./queue";

/** One line of the queue: what, who, where, when, and whether someone has taken it. */
function AlarmCard(props: {
  alarm: AlarmSummary;
  asked: Asked | undefined;
  selected: boolean;
  onSelect(): void;
}) {
  const { t, when } = useUi();
  const a = props.alarm;
  const asked = props.asked;
  const name = a.recipient
    ? `${a.recipient.firstName ?? ""} ${a.recipient.lastName ?? ""}`.trim()
    : (a.device.serial ?? "");
  return (
    <button
      type="button"
      className={`alarm-card alarm-card--${a.severity} alarm-card--${a.state}${asked ? " alarm-card--asked" : ""}`}
      aria-expanded={props.selected}
      aria-controls={`alarm-${a.id}`}
      data-testid="alarm-card"
      data-alarm-id={a.id}
      data-state={a.state}
      data-asked={asked ? "true" : undefined}
      onClick={props.onSelect}
    >
      <span className="alarm-card__type">
        {t(`alarm.type.${a.type}`)} · {t(`alarm.severity.${a.severity}`)}
      </span>
      <span className="alarm-card__name">{name}</span>
      <span className="alarm-card__meta">
        <time dateTime={a.raisedAt}>{when(a.raisedAt)}</time> · {a.department.name}
      </span>
      {a.state === "open" && <CancelCountdown until={a.cancelWindowUntil} />}
      <span className="alarm-card__holder">
        {a.assignee ? t("queue.taken", { name: a.assignee.name }) : t("queue.untaken")}
      </span>
      {asked && (
        <span className="alarm-card__asked" data-testid="alarm-asked">
          {asked.step === null
            ? t("asked.reminder", { step: asked.lastStep ?? "?" })
            : t("asked.step", { step: asked.step })}
          {asked.names.length > 0 && ` · ${t("asked.who", { names: asked.names.join(", ") })}`}
        </span>
      )}
    </button>
  );
}

/** The alarm queue beside the map: untaken first, then most severe, then newest. */
export function AlarmQueue(props: {
  alarms: readonly AlarmSummary[];
  selectedId: string | null;
  onSelect(id: string | null): void;
  onShowOnMap(lat: number, lon: number, recipientId: string | null): void;
  asked: AskedMap;
  sound: SoundPrefs;
  onSoundChange(next: SoundPrefs): void;
  reason: string | null;
}) {
  const { t } = useUi();
  useSession();
  // Every alarm nobody has closed yet, taken ones too: a taken alarm is still someone's work tonight.
  const unresolved = props.alarms.filter(isActive).length;
  const ringing = props.alarms.some((a) => a.state === "open" && props.asked.has(a.id));
  return (
    <section
      id="queue"
      className="queue"
      aria-labelledby="queue-title"
      tabIndex={-1}
      data-ringing={ringing ? "true" : "false"}
    >
      <header className="queue__head">
        <h2 id="queue-title">{t("queue.title")}</h2>
        <span className={unresolved > 0 ? "badge" : "badge badge--calm"} data-testid="queue-count">
          {t("queue.count", { count: unresolved })}
        </span>
        <SoundSettings sound={props.sound} onChange={props.onSoundChange} />
      </header>
      {ringing && (
        <p className="asked-banner" role="alert" data-testid="asked-banner">
          {t("asked.banner")}
        </p>
      )}
      {props.alarms.length === 0 ? (
        <p className="muted">{t("queue.empty")}</p>
      ) : (
        <ol className="queue__list">
          {props.alarms.map((a) => (
            <li key={a.id}>
              <AlarmCard
                alarm={a}
                asked={props.asked.get(a.id)}
                selected={a.id === props.selectedId}
                onSelect={() => props.onSelect(a.id === props.selectedId ? null : a.id)}
              />
              {a.id === props.selectedId && (
                <AlarmDetailPanel summary={a} reason={props.reason} onShowOnMap={props.onShowOnMap} />
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/** Sound and desktop notifications, per user: new alarms, ringing while asked, how often it repeats. */
function SoundSettings(props: { sound: SoundPrefs; onChange(next: SoundPrefs): void }) {
  const { t } = useUi();
  const [permission, setPermission] = useState(desktopPermission);
  const s = props.sound;
  return (
    <details className="sound-settings small" data-testid="sound-settings">
      <summary>{t("sound.title")}</summary>
      <label className="inline">
        <input
          type="checkbox"
          checked={s.newAlarms}
          onChange={(e) => props.onChange({ ...s, newAlarms: e.target.checked })}
        />
        {t("queue.sound")}
      </label>
      <label className="inline">
        <input
          type="checkbox"
          checked={s.asked}
          onChange={(e) => props.onChange({ ...s, asked: e.target.checked })}
        />
        {t("sound.asked")}
      </label>
      <label>
        {t("sound.repeat")}
        <select
          name="sound-repeat"
          value={s.repeatS}
          onChange={(e) => props.onChange({ ...s, repeatS: Number(e.target.value) as RepeatS })}
        >
          {REPEAT_CHOICES.map((n) => (
            <option key={n} value={n}>
              {t("sound.seconds", { n })}
            </option>
          ))}
        </select>
      </label>
      {permission === "default" && (
        <button type="button" onClick={() => void askDesktopPermission().then(setPermission)}>
          {t("sound.allowDesktop")}
        </button>
      )}
      {permission === "granted" && <p className="muted">{t("sound.desktopOn")}</p>}
      {permission === "denied" && <p className="muted">{t("sound.desktopDenied")}</p>}
    </details>
  );
}
