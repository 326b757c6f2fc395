import { activityEntry, activityVerifyResult, staffUser } from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { api, data, downloadHref } from "../api/typed";
import { actionText, subjectText } from "../i18n/enums";
import { useUi } from "../session/context";
import { errorText, useLoad } from "./use-load";

interface Filters {
  userId: string;
  action: string;
  from: string;
  to: string;
}

const toIso = (local: string) => (local ? new Date(local).toISOString() : undefined);

/** The activity log with filters, CSV export of the same query, and verification of the hash chain. */
export function ActivityAdmin() {
  const { t, dateTime } = useUi();
  const [draft, setDraft] = useState<Filters>({ userId: "", action: "", from: "", to: "" });
  const [filters, setFilters] = useState<Filters>(draft);
  const query = {
    userId: filters.userId || undefined,
    action: filters.action || undefined,
    from: toIso(filters.from),
    to: toIso(filters.to),
    limit: 200,
  };
  const entries = useLoad(
    () => data(api.GET("/api/v1/activity", { params: { query } }), z.array(activityEntry)),
    [filters],
  );
  const users = useLoad(() => data(api.GET("/api/v1/users"), z.array(staffUser)), []);
  const [verify, setVerify] = useState<string | null>(null);
  const userName = (id: string | null) => {
    const u = users.data?.find((x) => x.id === id);
    return u ? `${u.firstName} ${u.lastName}` : (id ?? "");
  };
  return (
    <>
      <form
        className="card form-row"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        <label>
          {t("activity.user")}
          <select value={draft.userId} onChange={(e) => setDraft({ ...draft, userId: e.target.value })}>
            <option value="">–</option>
            {(users.data ?? []).map((u) => (
              <option key={u.id} value={u.id}>
                {u.firstName} {u.lastName}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("activity.action")}
          <input
            name="action"
            value={draft.action}
            onChange={(e) => setDraft({ ...draft, action: e.target.value })}
          />
        </label>
        <label>
          {t("common.from")}
          <input
            type="datetime-local"
            value={draft.from}
            onChange={(e) => setDraft({ ...draft, from: e.target.value })}
          />
        </label>
        <label>
          {t("common.to")}
          <input
            type="datetime-local"
            value={draft.to}
            onChange={(e) => setDraft({ ...draft, to: e.target.value })}
          />
        </label>
        <button type="submit" className="primary">
          {t("common.apply")}
        </button>
        <a
          className="button"
          href={downloadHref("/api/v1/activity/export.csv", { query: { ...query, limit: 1000 } })}
          download
        >
          {t("activity.exportCsv")}
        </a>
        <button
          type="button"
          onClick={() =>
            data(api.GET("/api/v1/activity/verify"), activityVerifyResult).then(
              (r) =>
                setVerify(
                  r.ok
                    ? t("activity.verifyOk", { rows: r.rows })
                    : t("activity.verifyBad", {
                        seq: r.firstProblem?.seq ?? "?",
                        problem: r.firstProblem?.problem ?? "",
                      }),
                ),
              (e) => setVerify(errorText(e)),
            )
          }
        >
          {t("activity.verify")}
        </button>
      </form>
      {verify && <p role="status">{verify}</p>}
      {entries.error && <p className="error">{entries.error}</p>}
      <table data-testid="activity-table">
        <thead>
          <tr>
            <th>#</th>
            <th>{t("activity.at")}</th>
            <th>{t("activity.actor")}</th>
            <th>{t("activity.action")}</th>
            <th>{t("activity.subject")}</th>
            <th>{t("activity.reason")}</th>
          </tr>
        </thead>
        <tbody>
          {(entries.data ?? []).map((a) => (
            <tr key={a.id}>
              <td>{a.seq}</td>
              <td>{dateTime(a.at)}</td>
              <td>{a.actorType === "user" ? userName(a.actorId) : t(`enum.actor.${a.actorType}`)}</td>
              <td>{actionText(t, a.action)}</td>
              <td>
                {a.subjectType ? subjectText(t, a.subjectType) : ""}{" "}
                {a.recipientIds.length > 0 ? `(${a.recipientIds.length})` : ""}
              </td>
              <td>{a.reason ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
