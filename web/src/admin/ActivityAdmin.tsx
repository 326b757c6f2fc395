import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";
import { activityEntry, activityVerifyResult } from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { queryKeys } from "../api/query";
import { api, data, downloadHref } from "../api/typed";
import { dictionaries, type MessageKey } from "../i18n/dict";
import { actionText, subjectText } from "../i18n/enums";
import { useUi } from "../session/context";
import { errorText, useStaffUsers } from "./queries";

/** What the chain's check found, in words: the API names it in English ("changed row"). */
function findingText(t: ReturnType<typeof useUi>["t"], kind: string): string {
  const key = `activity.finding.${kind}`;
  return key in dictionaries.en ? t(key as MessageKey) : t("activity.finding.other");
}

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
  const entries = useQuery({
    queryKey: queryKeys.activity(query),
    queryFn: () => data(api.GET("/api/v1/activity", { params: { query } }), z.array(activityEntry)),
    placeholderData: keepPreviousData,
  });
  const users = useStaffUsers();
  const verify = useMutation({
    mutationFn: () => data(api.GET("/api/v1/activity/verify"), activityVerifyResult),
  });
  const verifyText = verify.error
    ? errorText(verify.error)
    : verify.data
      ? verify.data.ok
        ? t("activity.verifyOk", { rows: verify.data.rows })
        : t("activity.verifyBad", {
            seq: verify.data.firstProblem?.seq ?? "?",
            problem: findingText(t, verify.data.firstProblem?.problem ?? ""),
          })
      : null;
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
        <button type="button" disabled={verify.isPending} onClick={() => verify.mutate()}>
          {t("activity.verify")}
        </button>
      </form>
      {verifyText && <p role="status">{verifyText}</p>}
      {entries.error && <p className="error">{errorText(entries.error)}</p>}
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
