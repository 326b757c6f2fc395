import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import {
  type AlertEndpoint,
  alertEndpoint,
  alertEndpointCreated,
  type Department,
  endpointPingResult,
} from "@vakt/schemas";
import { useEffect, useId, useState } from "react";
import { Controller, useForm } from "react-hook-form";
import { z } from "zod";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { can, useSession, useUi } from "../session/context";
import {
  CHANNEL_KINDS,
  type ChannelCreateBody,
  type ChannelFormInput,
  channelFieldError,
  channelForm,
  channelToForm,
  channelUpdate,
  emptyChannelForm,
} from "./channel-form";
import { DepartmentSelect } from "./DepartmentsAdmin";
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
          departments={depts.data ?? []}
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

/** The one channel form: a new channel, or (given `editing`) the change of one. */
function ChannelForm(props: {
  editing: AlertEndpoint | null;
  departments: readonly Department[];
  onCreated(secret: string | null): void;
  onDone(): void;
}) {
  const { t } = useUi();
  const id = useId();
  const client = useQueryClient();
  const editing = props.editing;
  const form = useForm<ChannelFormInput, unknown, ChannelCreateBody>({
    resolver: zodResolver(channelForm),
    defaultValues: editing ? channelToForm(editing) : emptyChannelForm(),
  });
  const firstDepartment = props.departments[0]?.id;
  useEffect(() => {
    if (!form.getValues("departmentId") && firstDepartment) form.setValue("departmentId", firstDepartment);
  }, [firstDepartment, form]);
  const save = useMutation({
    mutationFn: async (body: ChannelCreateBody) => {
      if (!editing)
        return (await data(api.POST("/api/v1/alert-endpoints", { body }), alertEndpointCreated)).secret;
      const path = { id: editing.id };
      await data(
        api.PATCH("/api/v1/alert-endpoints/{id}", { params: { path }, body: channelUpdate(body) }),
        alertEndpoint,
      );
      return null;
    },
    onSuccess: (secret) => {
      if (editing) props.onDone();
      else {
        props.onCreated(secret);
        form.reset(emptyChannelForm(form.getValues("departmentId")));
      }
      return client.invalidateQueries({ queryKey: queryKeys.alertEndpoints });
    },
  });
  const errors = form.formState.errors;
  const kind = form.watch("kind");
  const problem = (field: "name" | "target" | "departmentId") =>
    errors[field] ? (
      <p id={`${id}-${field}-error`} className="error small" role="alert">
        {t(channelFieldError(field, kind))}
      </p>
    ) : null;
  const invalid = (field: "name" | "target") =>
    errors[field] ? { "aria-invalid": true, "aria-describedby": `${id}-${field}-error` } : {};
  return (
    <form
      className="card"
      noValidate
      aria-labelledby={`${id}-title`}
      data-testid="channel-form"
      onSubmit={form.handleSubmit((body) => save.mutate(body))}
    >
      <h2 id={`${id}-title`}>
        {editing ? t("channels.editTitle", { name: editing.name }) : t("channels.new")}
      </h2>
      <div className="form-row">
        <label>
          {t("common.name")}
          <input {...form.register("name")} {...invalid("name")} />
        </label>
        <label>
          {t("routing.channel")}
          <select {...form.register("kind")} disabled={editing !== null}>
            {CHANNEL_KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`channels.kind.${k}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("routing.target")}
          <input
            {...form.register("target")}
            {...invalid("target")}
            placeholder={t(`channels.targetHint.${kind}`)}
          />
        </label>
        <label htmlFor={`${id}-department`}>
          {t("common.department")}
          <Controller
            control={form.control}
            name="departmentId"
            render={({ field }) => (
              <DepartmentSelect
                id={`${id}-department`}
                departments={props.departments}
                value={field.value}
                onChange={field.onChange}
                disabled={editing !== null}
              />
            )}
          />
        </label>
        <label className="inline">
          <input type="checkbox" {...form.register("enabled")} />
          {t("channels.enabledField")}
        </label>
      </div>
      {problem("name")}
      {problem("target")}
      {problem("departmentId")}
      <div className="buttons">
        <button type="submit" className="primary" disabled={save.isPending}>
          {editing ? t("common.save") : t("common.create")}
        </button>
        {editing && (
          <button type="button" onClick={props.onDone}>
            {t("common.cancel")}
          </button>
        )}
      </div>
      {save.error && (
        <p className="error" role="alert">
          {errorText(save.error)}
        </p>
      )}
    </form>
  );
}
