import { formatAge } from "../format/time";
import { useUi } from "../session/context";
import { Link } from "../ui/router";
import type { RecipientMarker } from "./markers";

/** The recipient clicked on the map: state, battery, last contact, follow and trail. */
export function SelectedRecipient(props: {
  marker: RecipientMarker;
  following: boolean;
  trailHours: number;
  onFollow(on: boolean): void;
  onTrailHours(h: number): void;
  onClose(): void;
}) {
  const { t, lang, when } = useUi();
  const m = props.marker;
  return (
    <aside className="card selected" aria-label={m.name ?? m.recipientId} data-testid="selected-recipient">
      <header>
        <strong>{m.name ?? m.recipientId}</strong>
        <span className={`pill pill--${m.state}`}>{t(`state.${m.state}`)}</span>
        <button type="button" className="icon" aria-label={t("common.close")} onClick={props.onClose}>
          ×
        </button>
      </header>
      <dl className="facts">
        <dt>{t("alarm.lastContact")}</dt>
        <dd>
          {when(m.time)} ({formatAge(Date.parse(m.time), Date.now(), lang)})
        </dd>
        <dt>{t("alarm.battery")}</dt>
        <dd>{m.batteryPercent === null ? "–" : `${Math.round(m.batteryPercent)} %`}</dd>
      </dl>
      <div className="buttons">
        <button type="button" aria-pressed={props.following} onClick={() => props.onFollow(!props.following)}>
          {props.following ? t("map.unfollow") : t("map.follow")}
        </button>
        <label className="inline">
          {t("map.trail")}
          <select value={props.trailHours} onChange={(e) => props.onTrailHours(Number(e.target.value))}>
            <option value={0}>{t("common.none")}</option>
            {[1, 3, 8, 24].map((h) => (
              <option key={h} value={h}>
                {t("map.trailHours", { hours: h })}
              </option>
            ))}
          </select>
        </label>
        <Link to={`/recipients/${m.recipientId}`}>{t("map.openRecipient")}</Link>
      </div>
    </aside>
  );
}
