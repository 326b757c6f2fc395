import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { deadLetterPage } from "@vakt/schemas";
import { useState } from "react";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { deadLetterReasonText } from "../i18n/enums";
import { useUi } from "../session/context";
import { MessageText } from "./MessageText";
import { errorText } from "./queries";

const REASONS = [
  "",
  "invalid_json",
  "invalid_message",
  "timestamp_before_2000",
  "timestamp_in_future",
  "payload_too_large",
  "unknown_topic",
  "storage_rejected",
];

/** Messages ingest refused from the administrator's devices, with the reason, newest first. */
export function DeadLettersAdmin() {
  const { t, dateTime } = useUi();
  const [reason, setReason] = useState("");
  const [before, setBefore] = useState<string | undefined>(undefined);
  const query = { reason: reason || undefined, before, limit: 100 };
  const page = useQuery({
    queryKey: queryKeys.deadLetters(query),
    queryFn: () => data(api.GET("/api/v1/dead-letters", { params: { query } }), deadLetterPage),
    placeholderData: keepPreviousData,
  });
  const items = page.data?.items ?? [];
  return (
    <>
      <div className="card form-row">
        <label>
          {t("deadLetters.reason")}
          <select
            value={reason}
            onChange={(e) => {
              setBefore(undefined);
              setReason(e.target.value);
            }}
          >
            {REASONS.map((r) => (
              <option key={r} value={r}>
                {r ? deadLetterReasonText(t, r) : "–"}
              </option>
            ))}
          </select>
        </label>
        {page.data?.nextBefore && (
          <button type="button" onClick={() => setBefore(page.data?.nextBefore ?? undefined)}>
            {t("deadLetters.older")}
          </button>
        )}
      </div>
      {page.error && <p className="error">{errorText(page.error)}</p>}
      {page.data && items.length === 0 && <p className="muted">{t("deadLetters.none")}</p>}
      <table data-testid="dead-letters-table">
        <thead>
          <tr>
            <th>{t("activity.at")}</th>
            <th>{t("deadLetters.device")}</th>
            <th>{t("deadLetters.reason")}</th>
            <th>{t("deadLetters.topic")}</th>
            <th>{t("deadLetters.payload")}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((d) => (
            <tr key={d.id}>
              <td>{dateTime(d.receivedAt)}</td>
              <td>{d.deviceSerial ?? ""}</td>
              <td>
                {deadLetterReasonText(t, d.reason)}
                {d.detail ? (
                  // Ingest's own words, for whoever debugs the device: kept, folded away, marked English.
                  <details className="muted">
                    <summary>{t("enum.deadLetter.technical")}</summary>
                    <span lang="en">{d.detail}</span>
                  </details>
                ) : null}
              </td>
              <td>
                <code>{d.topic}</code>
              </td>
              <td>
                <MessageText text={d.payloadExcerpt} max={200} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
