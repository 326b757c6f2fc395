import { type RetentionSettings, retentionSettingsView } from "@vakt/schemas";
import { useEffect, useState } from "react";
import { get, send } from "../api/client";
import { useUi } from "../session/context";
import { errorText, useLoad } from "./use-load";

const fields: (keyof RetentionSettings)[] = [
  "positionsDays",
  "deviceStatusDays",
  "deviceMessagesDays",
  "deadLettersDays",
  "alarmsDays",
  "activityLogDays",
];

/** How long each kind of data is kept (days); the API enforces the legal floors and ceilings. */
export function RetentionAdmin() {
  const { t, dateTime } = useUi();
  const settings = useLoad(() => get("/privacy/retention", retentionSettingsView), []);
  const [draft, setDraft] = useState<RetentionSettings | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => {
    if (settings.data) setDraft(settings.data);
  }, [settings.data]);
  if (settings.missing) return <p className="muted">{t("admin.notAvailable")}</p>;
  if (!draft) return <p>{settings.error ?? t("common.loading")}</p>;
  return (
    <form
      className="card"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const body = Object.fromEntries(fields.map((f) => [f, draft[f]]));
          await send("PATCH", "/privacy/retention", body, retentionSettingsView);
          setMessage(t("common.saved"));
          settings.reload();
        } catch (err) {
          setMessage(errorText(err));
        }
      }}
    >
      {fields.map((f) => (
        <label key={f}>
          {f}
          <input
            type="number"
            min={1}
            value={draft[f]}
            onChange={(e) => setDraft({ ...draft, [f]: Number(e.target.value) })}
          />
        </label>
      ))}
      {settings.data?.updatedAt && <p className="muted">{dateTime(settings.data.updatedAt)}</p>}
      <button type="submit" className="primary">
        {t("common.save")}
      </button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}
