import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type AlertEndpoint, endpointPingResult } from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { can, useSession, useUi } from "../session/context";
import { ChannelForm } from "./ChannelForm";
import { errorText, routeMissing, useAlertEndpoints, useAlertRules, useDepartments } from "./queries";

/** Channels (webhook, e-mail, SMS): test, change or remove one; a webhook's signing secret is shown once. */
export function ChannelsAdmin() {
  const { t } = useUi();
  const session = useSession();
  const list = useAlertEndpoints();
  const depts = useDepartments();
  const [editing, setEditing] = useState<AlertEndpoint | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const manage = can(session, "routing:manage");
  if (routeMissing(list.error)) return <p className="muted">{t("admin.notAvailable")}</p>;
  const deptName = (id: string) => depts.data?.find((d) => d.id === id)?.name ?? "";
  return (
    <>
      {list.error && <p className="error">{errorText(list.error)}</p>}
      {list.data?.length === 0 && <p className="muted">{t("channels.none")}</p>}
      <table data-testid="channels-table">
        <thead>
          <tr>
            <th>{t("common.name")}</th>
            <th>{t("routing.channel")}</th>
            <th>{t("routing.target")}</th>
            <th>{t("common.department")}</th>
            <th>{t("channels.state")}</th>
            <th>
              <span className="sr-only">{t("common.actions")}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((ep) => (
            <tr key={ep.id} data-testid="channel-row">
              <td>{ep.name}</td>
              <td>{t(`channels.kind.${ep.kind}`)}</td>
              <td>{ep.target}</td>
              <td>{deptName(ep.departmentId)}</td>
              <td>{ep.enabled ? t("channels.enabled") : t("channels.disabled")}</td>
              <td className="buttons">
                <PingButton endpoint={ep} />
                {manage && (
                  <button
                    aria-label={`${t("common.edit")} ${ep.name}`}
                    type="button"
                    onClick={() => setEditing(ep)}
                  >
                    {t("common.edit")}
                  </button>
                )}
                {manage && (
                  <DeleteChannel endpoint={ep} onDeleted={() => editing?.id === ep.id && setEditing(null)} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {manage && (
        <ChannelForm
          key={editing?.id ?? "new"}
          editing={editing}
          departments={(depts.data ?? []).filter((d) => !d.closedAt || d.id === editing?.departmentId)}
          onCreated={setSecret}
          onDone={() => setEditing(null)}
        />
      )}
      {secret && (
        <p className="card" role="status">
          {t("common.shownOnce")} <span className="secret">{secret}</span>
        </p>
      )}
    </>
  );
}

function PingButton(props: { endpoint: AlertEndpoint }) {
  const { t } = useUi();
  const ping = useMutation({
    mutationFn: () =>
      data(
        api.POST("/api/v1/alert-endpoints/{id}/ping", { params: { path: { id: props.endpoint.id } } }),
        endpointPingResult,
      ),
  });
  return (
    <>
      <button
        aria-label={`${t("channels.test")} ${props.endpoint.name}`}
        type="button"
        disabled={ping.isPending}
        onClick={() => ping.mutate()}
      >
        {t("channels.test")}
      </button>
      <span role="status">
        {ping.data && (ping.data.ok ? t("channels.testSent") : t("channels.testFailed"))}
        {ping.data?.detail && (
          // The channel's own answer, for whoever sets it up: kept, folded away, marked English.
          <details className="muted">
            <summary>{t("enum.deadLetter.technical")}</summary>
            <span lang="en">{ping.data.detail}</span>
          </details>
        )}
        {ping.error && errorText(ping.error)}
      </span>
    </>
  );
}

/** Removing a channel after a confirmation that says which rules still name it. */
function DeleteChannel(props: { endpoint: AlertEndpoint; onDeleted(): void }) {
  const { t } = useUi();
  const client = useQueryClient();
  const rules = useAlertRules();
  const [asking, setAsking] = useState(false);
  const remove = useMutation({
    mutationFn: () =>
      data(
        api.DELETE("/api/v1/alert-endpoints/{id}", { params: { path: { id: props.endpoint.id } } }),
        z.unknown(),
      ),
    onSuccess: () => {
      props.onDeleted();
      return client.invalidateQueries({ queryKey: queryKeys.alertEndpoints });
    },
  });
  if (!asking)
    return (
      <button
        aria-label={`${t("common.delete")} ${props.endpoint.name}`}
        type="button"
        onClick={() => setAsking(true)}
      >
        {t("common.delete")}
      </button>
    );
  const usedBy = (rules.data ?? []).filter((r) =>
    r.steps.some((s) => s.endpointIds.includes(props.endpoint.id)),
  );
  return (
    <fieldset className="confirm" data-testid="delete-channel">
      <legend>{t("channels.deleteAsk", { name: props.endpoint.name })}</legend>
      {usedBy.length > 0 && (
        <p className="small">{t("channels.deleteUsedBy", { names: usedBy.map((r) => r.name).join(", ") })}</p>
      )}
      <button type="button" className="danger" disabled={remove.isPending} onClick={() => remove.mutate()}>
        {t("channels.deleteConfirm")}
      </button>{" "}
      <button type="button" onClick={() => setAsking(false)}>
        {t("common.cancel")}
      </button>
      {remove.error && (
        <p className="error" role="alert">
          {errorText(remove.error)}
        </p>
      )}
    </fieldset>
  );
}
