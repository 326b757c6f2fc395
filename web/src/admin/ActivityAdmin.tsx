import { keepPreviousData, useMutation, useQuery } from "@tanstack/react-query";
import { type ActivityEntry, activityEntry, activityVerifyResult, type StaffUser } from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { queryKeys } from "../api/query";
import { api, data, downloadHref } from "../api/typed";
import { actionText, subjectText } from "../i18n/enums";
import { hasMessage } from "../i18n/messages";
import { useUi } from "../session/context";
import { ActivityFilterForm } from "./ActivityFilters";
import type { ActivityFilters } from "./activity-filter-form";
import { errorText, useStaffUsers } from "./queries";

/** What the chain's check found, in words: the API names it in English ("changed row"). */
function findingText(t: ReturnType<typeof useUi>["t"], kind: string): string {
  const key = `activity.finding.${kind}`;
  return hasMessage(key) ? t(key) : t("activity.finding.other");
}

/** The check of the log's hash chain, and what it found in words. */
function useVerifyChain() {
  const { t } = useUi();
  const verify = useMutation({
    mutationFn: () => data(api.GET("/api/v1/activity/verify"), activityVerifyResult),
  });
  const text = verify.error
    ? errorText(verify.error)
    : verify.data
      ? verify.data.ok
        ? t("activity.verifyOk", { rows: verify.data.rows })
        : t("activity.verifyBad", {
            seq: verify.data.firstProblem?.seq ?? "?",
            problem: findingText(t, verify.data.firstProblem?.problem ?? ""),
          })
      : null;
  return { verify, text };
}

/** The activity log with filters, CSV export of the same query, and verification of the hash chain. */
export function ActivityAdmin() {
  const { t } = useUi();
  const [filters, setFilters] = useState<ActivityFilters>({});
  const query = { ...filters, limit: 200 };
  const entries = useQuery({
    queryKey: queryKeys.activity(query),
    queryFn: () => data(api.GET("/api/v1/activity", { params: { query } }), z.array(activityEntry)),
    placeholderData: keepPreviousData,
  });
  const users = useStaffUsers();
  const chain = useVerifyChain();
  return (
    <>
      <ActivityFilterForm
        users={users.data ?? []}
        onApply={setFilters}
        exportHref={downloadHref("/api/v1/activity/export.csv", { query: { ...query, limit: 1000 } })}
        verifying={chain.verify.isPending}
        onVerify={() => chain.verify.mutate()}
      />
      {chain.text && <p role="status">{chain.text}</p>}
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
            <ActivityRow key={a.id} a={a} users={users.data ?? []} />
          ))}
        </tbody>
      </table>
    </>
  );
}

function ActivityRow({ a, users }: { a: ActivityEntry; users: StaffUser[] }) {
  const { t, dateTime } = useUi();
  const userName = (id: string | null) => {
    const u = users.find((x) => x.id === id);
    return u ? `${u.firstName} ${u.lastName}` : (id ?? "");
  };
  return (
    <tr>
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
  );
}
