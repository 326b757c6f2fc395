import { type RetentionSettings, restrictedRecipient, retentionSettingsView } from "@vakt/schemas";
import { useEffect, useState } from "react";
import { z } from "zod";
import { api, data } from "../api/typed";
import { ReasonField } from "../recipients/PrivacySection";
import { reasonValid } from "../recipients/privacy";
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

/** Retention settings, then the recipients whose processing is restricted. */
export function RetentionAdmin() {
  return (
    <>
      <RetentionSettingsForm />
      <RestrictedRecipients />
    </>
  );
}

/** How long each kind of data is kept (days); the API enforces the legal floors and ceilings. */
function RetentionSettingsForm() {
  const { t, dateTime } = useUi();
  const settings = useLoad(() => data(api.GET("/api/v1/privacy/retention"), retentionSettingsView), []);
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
          await data(api.PATCH("/api/v1/privacy/retention", { body }), retentionSettingsView);
          setMessage(t("common.saved"));
          settings.reload();
        } catch (err) {
          setMessage(errorText(err));
        }
      }}
    >
      {fields.map((f) => (
        <label key={f}>
          {t(`enum.retention.${f}`)}
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

/** Restricted recipients (ids only: their names are read only with a logged reason) and lifting a restriction. */
function RestrictedRecipients() {
  const { t, dateTime } = useUi();
  const list = useLoad(() => data(api.GET("/api/v1/privacy/restrictions"), z.array(restrictedRecipient)), []);
  const [reasons, setReasons] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  return (
    <section aria-labelledby="restrictions-title" data-testid="restrictions">
      <h2 id="restrictions-title">{t("privacy.restrictions")}</h2>
      {list.error && <p className="error">{list.error}</p>}
      {list.data && list.data.length === 0 && <p className="muted">{t("privacy.noRestrictions")}</p>}
      {list.data && list.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>{t("privacy.recipientId")}</th>
              <th>{t("privacy.restrictedAt")}</th>
              <th>{t("common.actions")}</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((r) => {
              const reason = reasons[r.id] ?? "";
              return (
                <tr key={r.id} data-testid="restricted-recipient" data-id={r.id}>
                  <td>
                    <code>{r.id}</code>
                  </td>
                  <td>{dateTime(r.restrictedAt)}</td>
                  <td>
                    <form
                      className="form-row"
                      onSubmit={async (e) => {
                        e.preventDefault();
                        try {
                          await data(
                            api.DELETE("/api/v1/privacy/recipients/{id}/restriction", {
                              params: { path: { id: r.id }, query: { reason: reason.trim() } },
                            }),
                            z.unknown(),
                          );
                          setMessage(t("privacy.lifted"));
                          list.reload();
                        } catch (err) {
                          setMessage(t("common.error", { message: errorText(err) }));
                        }
                      }}
                    >
                      <ReasonField
                        className="inline"
                        value={reason}
                        onChange={(value) => setReasons({ ...reasons, [r.id]: value })}
                      />
                      <button type="submit" disabled={!reasonValid(reason)}>
                        {t("privacy.lift")}
                      </button>
                    </form>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {message && <p role="status">{message}</p>}
    </section>
  );
}
