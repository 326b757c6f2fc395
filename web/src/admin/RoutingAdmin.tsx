import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type AlertRule, alertRule } from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { formatWeekdays } from "../format/time";
import { useUi } from "../session/context";
import { errorText, routeMissing, useAlertEndpoints, useAlertRules, useDepartments } from "./queries";
import { RuleEditor } from "./RuleEditor";

/** Alert routing: rules per department with alarm types, a schedule and escalation steps; each editable. */
export function RoutingAdmin() {
  const { t } = useUi();
  const rules = useAlertRules();
  const endpoints = useAlertEndpoints();
  const depts = useDepartments();
  const [editing, setEditing] = useState<AlertRule | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  // The form is filled from the rule as stored now: another administrator may have changed it.
  const open = useMutation({
    mutationFn: (id: string) =>
      data(api.GET("/api/v1/alert-rules/{id}", { params: { path: { id } } }), alertRule),
    onMutate: () => setMessage(null),
    onSuccess: setEditing,
    onError: (err) => setMessage(errorText(err)),
  });
  if (routeMissing(rules.error)) return <p className="muted">{t("admin.notAvailable")}</p>;
  const deptName = (id: string) => depts.data?.find((d) => d.id === id)?.name ?? "";
  return (
    <>
      {rules.error && <p className="error">{errorText(rules.error)}</p>}
      <table data-testid="rules-table">
        <thead>
          <tr>
            <th>{t("common.name")}</th>
            <th>{t("common.department")}</th>
            <th>{t("routing.alarmTypes")}</th>
            <th>{t("routing.schedule")}</th>
            <th>{t("routing.steps")}</th>
            <th>{t("routing.cancelWindow")}</th>
            <th>
              <span className="sr-only">{t("common.actions")}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(rules.data ?? []).map((r) => (
            <RuleRow
              key={r.id}
              rule={r}
              department={deptName(r.departmentId)}
              onEdit={() => open.mutate(r.id)}
              onMessage={setMessage}
            />
          ))}
        </tbody>
      </table>
      <RuleEditor
        key={editing?.id ?? "new"}
        editing={editing}
        departments={(depts.data ?? []).filter((d) => !d.closedAt || d.id === editing?.departmentId)}
        endpoints={endpoints.data ?? []}
        onDone={(text) => {
          setEditing(null);
          setMessage(text || null);
        }}
        onFailed={setMessage}
      />
      {message && <p role="status">{message}</p>}
    </>
  );
}

function RuleRow(props: { rule: AlertRule; department: string; onEdit(): void; onMessage(m: string): void }) {
  const { t, lang } = useUi();
  const client = useQueryClient();
  const r = props.rule;
  const remove = useMutation({
    mutationFn: () =>
      data(api.DELETE("/api/v1/alert-rules/{id}", { params: { path: { id: r.id } } }), z.unknown()),
    onSuccess: () => client.invalidateQueries({ queryKey: queryKeys.alertRules }),
    onError: (err) => props.onMessage(errorText(err)),
  });
  const all = t("routing.all");
  return (
    <tr data-testid="rule-row">
      <td>
        {r.name}
        {!r.enabled && <span className="muted"> ({t("routing.disabled")})</span>}
      </td>
      <td>{props.department}</td>
      <td>
        {r.alarmTypes ? r.alarmTypes.map((x) => t(`alarm.type.${x}`)).join(", ") : all}
        {r.severities && (
          <>
            <br />
            <small>{r.severities.map((x) => t(`alarm.severity.${x}`)).join(", ")}</small>
          </>
        )}
      </td>
      <td>
        {r.schedule
          ? r.schedule.map((w) => `${formatWeekdays(w.days, lang)} ${w.start}–${w.end}`).join("; ")
          : t("routing.always")}
      </td>
      <td>
        <ol>
          {r.steps.map((s, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a step is its position in the rule
            <li key={i}>
              {s.roles.map((x) => t(`role.${x}`)).join(", ")} ·{" "}
              {s.channels.map((c) => t(`alarm.channel.${c}`)).join(", ")}
              {s.users.length > 0 ? ` · ${t("routing.userCount", { count: s.users.length })}` : ""}
              {s.endpointIds.length > 0
                ? ` · ${t("routing.endpointCount", { count: s.endpointIds.length })}`
                : ""}{" "}
              · {t("routing.waitSeconds", { n: s.waitS })}
            </li>
          ))}
        </ol>
        {r.reminderIntervalS !== null && r.maxReminders > 0 && (
          <small>{t("routing.reminders", { count: r.maxReminders, n: r.reminderIntervalS })}</small>
        )}
      </td>
      <td data-testid="rule-cancel-window">{r.cancelWindowS === null ? "–" : `${r.cancelWindowS} s`}</td>
      <td className="buttons">
        <button type="button" onClick={props.onEdit} aria-label={`${t("common.edit")} ${r.name}`}>
          {t("common.edit")}
        </button>
        <button
          aria-label={`${t("common.delete")} ${r.name}`}
          type="button"
          disabled={remove.isPending}
          onClick={() => remove.mutate()}
        >
          {t("common.delete")}
        </button>
      </td>
    </tr>
  );
}
