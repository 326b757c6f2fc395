import { useUi } from "../session/context";

/**
 * Rejected device messages. The API has no route for them yet (they are in
 * the `dead_letters` table, counted by ingest's /metrics): see the report.
 */
export function DeadLettersAdmin() {
  const { t } = useUi();
  return <p className="muted">{t("admin.notAvailable")}</p>;
}
