import type { AlarmSummary } from "@vakt/schemas";
import { useSession, useUi } from "../session/context";
import { AlarmDetailPanel } from "./AlarmDetailPanel";

/** One line of the queue: what, who, where, when, and whether someone has taken it. */
function AlarmCard(props: { alarm: AlarmSummary; selected: boolean; onSelect(): void }) {
  const { t, when } = useUi();
  const a = props.alarm;
  const name = a.recipient
    ? `${a.recipient.firstName ?? ""} ${a.recipient.lastName ?? ""}`.trim()
    : (a.device.serial ?? "");
  return (
    <button
      type="button"
      className={`alarm-card alarm-card--${a.severity} alarm-card--${a.state}`}
      aria-expanded={props.selected}
      aria-controls={`alarm-${a.id}`}
      data-testid="alarm-card"
      data-alarm-id={a.id}
      data-state={a.state}
      onClick={props.onSelect}
    >
      <span className="alarm-card__type">
        {t(`alarm.type.${a.type}`)} · {t(`alarm.severity.${a.severity}`)}
      </span>
      <span className="alarm-card__name">{name}</span>
      <span className="alarm-card__meta">
        <time dateTime={a.raisedAt}>{when(a.raisedAt)}</time> · {a.department.name}
      </span>
      <span className="alarm-card__holder">
        {a.assignee ? t("queue.taken", { name: a.assignee.name }) : t("queue.untaken")}
      </span>
    </button>
  );
}

/** The alarm queue beside the map: untaken first, then most severe, then newest. */
export function AlarmQueue(props: {
  alarms: readonly AlarmSummary[];
  selectedId: string | null;
  onSelect(id: string | null): void;
  onShowOnMap(lat: number, lon: number, recipientId: string | null): void;
  onChanged(alarm: AlarmSummary): void;
  soundOn: boolean;
  onSoundChange(on: boolean): void;
  reason: string | null;
}) {
  const { t } = useUi();
  useSession();
  const open = props.alarms.filter((a) => a.state === "open").length;
  return (
    <section id="queue" className="queue" aria-labelledby="queue-title" tabIndex={-1}>
      <header className="queue__head">
        <h2 id="queue-title">{t("queue.title")}</h2>
        <span className={open > 0 ? "badge" : "badge badge--calm"} data-testid="queue-count">
          {t("queue.count", { count: open })}
        </span>
        <label className="inline small">
          <input
            type="checkbox"
            checked={props.soundOn}
            onChange={(e) => props.onSoundChange(e.target.checked)}
          />
          {t("queue.sound")}
        </label>
      </header>
      {props.alarms.length === 0 ? (
        <p className="muted">{t("queue.empty")}</p>
      ) : (
        <ol className="queue__list">
          {props.alarms.map((a) => (
            <li key={a.id}>
              <AlarmCard
                alarm={a}
                selected={a.id === props.selectedId}
                onSelect={() => props.onSelect(a.id === props.selectedId ? null : a.id)}
              />
              {a.id === props.selectedId && (
                <AlarmDetailPanel
                  summary={a}
                  reason={props.reason}
                  onShowOnMap={props.onShowOnMap}
                  onChanged={props.onChanged}
                />
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
