import { useUi } from "../session/context";
import type { RecipientMarker } from "./markers";

/** The map's recipients as a list: the keyboard and screen-reader way to the same markers. */
export function RecipientList(props: {
  markers: readonly RecipientMarker[];
  onSelect(m: RecipientMarker): void;
}) {
  const { t } = useUi();
  return (
    <details className="card recipient-list" data-testid="recipient-list">
      <summary>{t("map.recipients", { count: props.markers.length })}</summary>
      <ul>
        {props.markers.map((m) => (
          <li key={m.recipientId}>
            <button
              type="button"
              className="link"
              data-recipient-id={m.recipientId}
              onClick={() => props.onSelect(m)}
            >
              {m.name ?? m.recipientId}
            </button>{" "}
            <span className={`pill pill--${m.state}`}>{t(`state.${m.state}`)}</span>
          </li>
        ))}
      </ul>
    </details>
  );
}
