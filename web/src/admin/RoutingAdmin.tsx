import {
  type AlarmType,
  alarmType,
  alertEndpoint,
  alertRule,
  alertTargets,
  type EscalationStep,
  type RoleKey,
  targetsCannotAct,
} from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { ApiProblem, get, send } from "../api/client";
import { formatWeekday, formatWeekdays } from "../format/time";
import { useUi } from "../session/context";
import { DepartmentSelect, useDepartments } from "./DepartmentsAdmin";
import { errorText, useLoad } from "./use-load";

type Channel = "console" | "email" | "sms";
const channels: Channel[] = ["console", "email", "sms"];
const days = [1, 2, 3, 4, 5, 6, 7];

const newStep = (): EscalationStep => ({
  waitS: 120,
  users: [],
  roles: ["operator"],
  channels: ["console"],
  endpointIds: [],
});

function toggle<T>(list: readonly T[], item: T, on: boolean): T[] {
  return on ? [...new Set([...list, item])] : list.filter((x) => x !== item);
}

/** A refused save that names who cannot act, in the console's words; null for any other error. */
function cannotActText(err: unknown, t: ReturnType<typeof useUi>["t"]): string | null {
  if (!(err instanceof ApiProblem)) return null;
  const member = z.object({ targetsCannotAct }).safeParse(err.body);
  if (!member.success) return null;
  const { users, roles } = member.data.targetsCannotAct;
  const lines: string[] = [];
  if (users.length > 0)
    lines.push(t("routing.cannotActUsers", { names: users.map((u) => u.name).join(", ") }));
  if (roles.length > 0)
    lines.push(t("routing.cannotActRoles", { roles: roles.map((r) => t(`role.${r}`)).join(", ") }));
  return lines.join(" ");
}

/** Alert routing: rules per department with alarm types, a schedule and escalation steps. */
export function RoutingAdmin() {
  const { t, lang } = useUi();
  const rules = useLoad(() => get("/alert-rules", z.array(alertRule)), []);
  const endpoints = useLoad(() => get("/alert-endpoints", z.array(alertEndpoint)), []);
  const depts = useDepartments();
  const [name, setName] = useState("");
  const [departmentId, setDepartmentId] = useState("");
  const [types, setTypes] = useState<AlarmType[]>([]);
  const [scheduled, setScheduled] = useState(false);
  const [window, setWindow] = useState({ days: [1, 2, 3, 4, 5, 6, 7], start: "22:00", end: "07:00" });
  const [steps, setSteps] = useState<EscalationStep[]>([newStep()]);
  // Empty: the server's default (30 s for falls, none otherwise).
  const [cancelWindow, setCancelWindow] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const deptName = (id: string) => depts.data?.find((d) => d.id === id)?.name ?? "";
  const ruleDepartment = departmentId || depts.data?.[0]?.id || "";
  /**
   * Whom a step may alert, as the API's policy decides for the department: roles and people who can
   * see and take its alarms (an alert to someone who cannot act wakes the wrong person).
   */
  const targets = useLoad(
    () =>
      ruleDepartment
        ? get("/alert-targets", alertTargets, { departmentId: ruleDepartment })
        : Promise.resolve(null),
    [ruleDepartment],
  );
  const alertableRoles: RoleKey[] = targets.data?.roles ?? [];

  if (rules.missing) return <p className="muted">{t("admin.notAvailable")}</p>;

  const setStep = (i: number, s: EscalationStep) => setSteps(steps.map((x, j) => (j === i ? s : x)));
  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      await send(
        "POST",
        "/alert-rules",
        {
          name,
          departmentId: ruleDepartment || undefined,
          alarmTypes: types.length ? types : null,
          schedule: scheduled ? [window] : null,
          steps,
          cancelWindowS: cancelWindow.trim() === "" ? null : Number(cancelWindow),
        },
        alertRule,
      );
      setName("");
      setMessage(t("common.saved"));
      rules.reload();
    } catch (err) {
      setMessage(cannotActText(err, t) ?? errorText(err));
    }
  };
  const remove = async (id: string) => {
    try {
      await send("DELETE", `/alert-rules/${id}`, undefined, z.unknown());
      rules.reload();
    } catch (err) {
      setMessage(errorText(err));
    }
  };

  return (
    <>
      {rules.error && <p className="error">{rules.error}</p>}
      <table data-testid="rules-table">
        <thead>
          <tr>
            <th>{t("common.name")}</th>
            <th>{t("common.department")}</th>
            <th>{t("routing.alarmTypes")}</th>
            <th>{t("routing.schedule")}</th>
            <th>{t("routing.steps")}</th>
            <th>{t("routing.cancelWindow")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(rules.data ?? []).map((r) => (
            <tr key={r.id}>
              <td>{r.name}</td>
              <td>{deptName(r.departmentId)}</td>
              <td>{r.alarmTypes ? r.alarmTypes.map((x) => t(`alarm.type.${x}`)).join(", ") : "*"}</td>
              <td>
                {r.schedule
                  ? r.schedule.map((w) => `${formatWeekdays(w.days, lang)} ${w.start}–${w.end}`).join("; ")
                  : "24/7"}
              </td>
              <td>
                <ol>
                  {r.steps.map((s, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: a step is its position in the rule
                    <li key={i}>
                      {s.roles.map((x) => t(`role.${x}`)).join(", ")} ·{" "}
                      {s.channels.map((c) => t(`alarm.channel.${c}`)).join(", ")}
                      {s.endpointIds.length > 0
                        ? ` · ${t("routing.endpointCount", { count: s.endpointIds.length })}`
                        : ""}{" "}
                      · {t("routing.waitSeconds", { n: s.waitS })}
                    </li>
                  ))}
                </ol>
              </td>
              <td data-testid="rule-cancel-window">
                {r.cancelWindowS === null ? "–" : `${r.cancelWindowS} s`}
              </td>
              <td>
                <button type="button" onClick={() => remove(r.id)}>
                  {t("common.delete")}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="card" onSubmit={create} aria-label={t("routing.newRule")}>
        <h2>{t("routing.newRule")}</h2>
        <div className="form-row">
          <label>
            {t("common.name")}
            <input name="rule-name" required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            {t("common.department")}
            <DepartmentSelect
              name="rule-department"
              departments={depts.data ?? []}
              value={departmentId}
              onChange={setDepartmentId}
            />
          </label>
        </div>
        <fieldset>
          <legend>{t("routing.alarmTypes")}</legend>
          {alarmType.options.map((x) => (
            <label key={x} className="inline">
              <input
                type="checkbox"
                checked={types.includes(x)}
                onChange={(e) => setTypes(toggle(types, x, e.target.checked))}
              />
              {t(`alarm.type.${x}`)}
            </label>
          ))}
        </fieldset>
        <label>
          {t("routing.cancelWindow")}
          <input
            type="number"
            min={0}
            max={600}
            step={1}
            value={cancelWindow}
            data-testid="rule-cancel-window-input"
            onChange={(e) => setCancelWindow(e.target.value)}
          />
        </label>
        <fieldset>
          <legend>
            <label className="inline">
              <input type="checkbox" checked={scheduled} onChange={(e) => setScheduled(e.target.checked)} />
              {t("routing.schedule")}
            </label>
          </legend>
          {scheduled && (
            <div className="form-row">
              {days.map((d) => (
                <label key={d} className="inline">
                  <input
                    type="checkbox"
                    checked={window.days.includes(d)}
                    onChange={(e) =>
                      setWindow({ ...window, days: toggle(window.days, d, e.target.checked).sort() })
                    }
                  />
                  {formatWeekday(d, lang)}
                </label>
              ))}
              <label>
                {t("common.from")}
                <input
                  type="time"
                  value={window.start}
                  onChange={(e) => setWindow({ ...window, start: e.target.value })}
                />
              </label>
              <label>
                {t("common.to")}
                <input
                  type="time"
                  value={window.end}
                  onChange={(e) => setWindow({ ...window, end: e.target.value })}
                />
              </label>
            </div>
          )}
        </fieldset>
        {steps.map((s, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a step is its position in the rule
          <fieldset key={i} data-testid="rule-step">
            <legend>{t("routing.step", { n: i + 1 })}</legend>
            <fieldset className="form-row" data-testid="step-roles">
              <legend>{t("routing.roles")}</legend>
              {alertableRoles.map((r) => (
                <label key={r} className="inline">
                  <input
                    type="checkbox"
                    checked={s.roles.includes(r)}
                    onChange={(e) => setStep(i, { ...s, roles: toggle(s.roles, r, e.target.checked) })}
                  />
                  {t(`role.${r}`)}
                </label>
              ))}
            </fieldset>
            <fieldset className="form-row" data-testid="step-users">
              <legend>{t("routing.users")}</legend>
              {targets.data && targets.data.users.length === 0 && (
                <p className="muted">{t("routing.noTargets")}</p>
              )}
              {(targets.data?.users ?? []).map((u) => (
                <label key={u.id} className="inline">
                  <input
                    type="checkbox"
                    checked={s.users.includes(u.id)}
                    onChange={(e) => setStep(i, { ...s, users: toggle(s.users, u.id, e.target.checked) })}
                  />
                  {u.firstName} {u.lastName}
                </label>
              ))}
            </fieldset>
            <div className="form-row">
              {channels.map((c) => (
                <label key={c} className="inline">
                  <input
                    type="checkbox"
                    checked={s.channels.includes(c)}
                    onChange={(e) => setStep(i, { ...s, channels: toggle(s.channels, c, e.target.checked) })}
                  />
                  {t(`alarm.channel.${c}`)}
                </label>
              ))}
              {(endpoints.data ?? []).map((ep) => (
                <label key={ep.id} className="inline">
                  <input
                    type="checkbox"
                    checked={s.endpointIds.includes(ep.id)}
                    onChange={(e) =>
                      setStep(i, { ...s, endpointIds: toggle(s.endpointIds, ep.id, e.target.checked) })
                    }
                  />
                  {ep.name} ({ep.kind})
                </label>
              ))}
              <label>
                {t("routing.after")}
                <input
                  type="number"
                  min={1}
                  max={86400}
                  value={s.waitS}
                  onChange={(e) => setStep(i, { ...s, waitS: Number(e.target.value) })}
                />
              </label>
              {steps.length > 1 && (
                <button type="button" onClick={() => setSteps(steps.filter((_, j) => j !== i))}>
                  {t("common.delete")}
                </button>
              )}
            </div>
          </fieldset>
        ))}
        <div className="buttons">
          <button type="button" onClick={() => setSteps([...steps, newStep()])}>
            {t("routing.addStep")}
          </button>
          <button type="submit" className="primary">
            {t("common.create")}
          </button>
        </div>
      </form>
      {message && <p role="status">{message}</p>}
    </>
  );
}
