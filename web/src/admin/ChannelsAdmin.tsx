import { alertEndpoint, alertEndpointCreated, endpointPingResult } from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { DepartmentSelect, useDepartments } from "./DepartmentsAdmin";
import { errorText, useLoad } from "./use-load";

type Kind = "webhook" | "email" | "sms";

/** Channel endpoints (webhook, e-mail, SMS) with a test button; a webhook's signing secret is shown once. */
export function ChannelsAdmin() {
  const { t } = useUi();
  const list = useLoad(() => data(api.GET("/api/v1/alert-endpoints"), z.array(alertEndpoint)), []);
  const depts = useDepartments();
  const [form, setForm] = useState({ name: "", kind: "webhook" as Kind, target: "", departmentId: "" });
  const [secret, setSecret] = useState<string | null>(null);
  const [results, setResults] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  if (list.missing) return <p className="muted">{t("admin.notAvailable")}</p>;
  const create = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      const r = await data(
        api.POST("/api/v1/alert-endpoints", {
          // Before the departments have loaded there is none to pick: sent without one as before,
          // and the API refuses it (400, shown below); the cast is that case, not a guess.
          body: { ...form, departmentId: (form.departmentId || depts.data?.[0]?.id) as string },
        }),
        alertEndpointCreated,
      );
      setSecret(r.secret);
      list.reload();
    } catch (err) {
      setMessage(errorText(err));
    }
  };
  const ping = async (id: string) => {
    try {
      const r = await data(
        api.POST("/api/v1/alert-endpoints/{id}/ping", { params: { path: { id } } }),
        endpointPingResult,
      );
      setResults({ ...results, [id]: `${r.ok ? "✓" : "✗"} ${r.detail ?? ""}` });
    } catch (err) {
      setResults({ ...results, [id]: errorText(err) });
    }
  };
  return (
    <>
      {list.error && <p className="error">{list.error}</p>}
      <table>
        <thead>
          <tr>
            <th>{t("common.name")}</th>
            <th>{t("routing.channel")}</th>
            <th>{t("routing.target")}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((ep) => (
            <tr key={ep.id}>
              <td>{ep.name}</td>
              <td>{ep.kind}</td>
              <td>{ep.target}</td>
              <td>
                <button type="button" onClick={() => ping(ep.id)}>
                  {t("channels.test")}
                </button>{" "}
                <span role="status">{results[ep.id] ?? ""}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="card form-row" onSubmit={create}>
        <label>
          {t("common.name")}
          <input required value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        </label>
        <label>
          {t("routing.channel")}
          <select value={form.kind} onChange={(e) => setForm({ ...form, kind: e.target.value as Kind })}>
            <option value="webhook">webhook</option>
            <option value="email">email</option>
            <option value="sms">sms</option>
          </select>
        </label>
        <label>
          {t("routing.target")}
          <input
            required
            value={form.target}
            onChange={(e) => setForm({ ...form, target: e.target.value })}
          />
        </label>
        <label>
          {t("common.department")}
          <DepartmentSelect
            departments={depts.data ?? []}
            value={form.departmentId}
            onChange={(departmentId) => setForm({ ...form, departmentId })}
          />
        </label>
        <button type="submit" className="primary">
          {t("common.create")}
        </button>
      </form>
      {secret && (
        <p className="card" role="status">
          {t("common.shownOnce")} <span className="secret">{secret}</span>
        </p>
      )}
      {message && <p role="status">{message}</p>}
    </>
  );
}
