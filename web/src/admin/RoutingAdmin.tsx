import {
  type AlarmType,
  alarmType,
  alertEndpoint,
  alertRule,
  type EscalationStep,
  type RoleKey,
  roleKey,
} from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { get, send } from "../api/client";
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

/** Alert routing: rules per department with alarm types, a schedule and escalation steps. */
export function RoutingAdmin() {
  const { t } = useUi();
  const rules = useLoad(() => get("/alert-rules", z.array(alertRule)), []);
  const endpoints = useLoad(() => get("/alert-endpoints", z.array(alertEndpoint)), []);
  const depts = useDepartments();
  const [name, setName] = useState("");
  const [departmentId, setDepartmentId] = useState("");
  const [types, setTypes] = useState<AlarmType[]>([]);
  const [scheduled, setScheduled] = useState(false);
  const [window, setWindow] = useState({ days: [1, 2, 3, 4, 5, 6, 7], start: "22:00", end: "07:00" });
  const [steps, setSteps] = useState<EscalationStep[]>([newStep()]);
  const [message, setMessage] = useState<string | null>(null);
  const deptName = (id: string) => depts.data?.find((d) => d.id === id)?.name ?? "";

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
          departmentId: departmentId || depts.data?.[0]?.id,
          alarmTypes: types.length ? types : null,
          schedule: scheduled ? [window] : null,
          steps,
        },
        alertRule,
      );
      setName("");
      setMessage(t("common.saved"));
      rules.reload();
    } catch (err) {
      setMessage(errorText(err));
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
                  ? r.schedule.map((w) => `${w.days.join(",")} ${w.start}–${w.end}`).join("; ")
                  : "24/7"}
              </td>
              <td>
                <ol>
                  {r.steps.map((s, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: a step is its position in the rule
                    <li key={i}>
                      {s.roles.map((x) => t(`role.${x}`)).join(", ")} · {s.channels.join(", ")}
                      {s.endpointIds.length > 0 ? ` · ${s.endpointIds.length} endpoint(s)` : ""} · {s.waitS} s
                    </li>
                  ))}
                </ol>
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
                  {d}
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
            <div className="form-row">
              {roleKey.options.map((r: RoleKey) => (
                <label key={r} className="inline">
                  <input
                    type="checkbox"
                    checked={s.roles.includes(r)}
                    onChange={(e) => setStep(i, { ...s, roles: toggle(s.roles, r, e.target.checked) })}
                  />
                  {t(`role.${r}`)}
                </label>
              ))}
            </div>
            <div className="form-row">
              {channels.map((c) => (
                <label key={c} className="inline">
                  <input
                    type="checkbox"
                    checked={s.channels.includes(c)}
                    onChange={(e) => setStep(i, { ...s, channels: toggle(s.channels, c, e.target.checked) })}
                  />
                  {c}
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
