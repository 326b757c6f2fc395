import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type AlertEndpoint, alertEndpoint, alertEndpointCreated, type Department } from "@vakt/schemas";
import { useEffect, useId, useRef } from "react";
import { Controller, type UseFormReturn, useForm } from "react-hook-form";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
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
import { DepartmentSelect, useFirstDepartmentUntilPicked } from "./DepartmentsAdmin";
import { errorText } from "./queries";

/** The one channel form: a new channel, or (given `editing`) the change of one. */
export function ChannelForm(props: {
  editing: AlertEndpoint | null;
  departments: readonly Department[];
  onCreated(secret: string | null): void;
  onDone(): void;
}) {
  const { t } = useUi();
  const id = useId();
  const editing = props.editing;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (editing) heading.current?.focus();
  }, [editing]);
  const form = useForm<ChannelFormInput, unknown, ChannelCreateBody>({
    resolver: zodResolver(channelForm),
    defaultValues: editing ? channelToForm(editing) : emptyChannelForm(),
  });
  useFirstDepartmentUntilPicked(form, props.departments);
  const save = useSaveChannel(editing, (secret) => {
    if (editing) return props.onDone();
    props.onCreated(secret);
    form.reset(emptyChannelForm(form.getValues("departmentId")));
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
    errors[field] ? { "aria-invalid": true as const, "aria-describedby": `${id}-${field}-error` } : {};
  return (
    <form
      className="card"
      noValidate
      aria-labelledby={`${id}-title`}
      data-testid="channel-form"
      onSubmit={form.handleSubmit((body) => save.mutate(body))}
    >
      <h2 id={`${id}-title`} ref={heading} tabIndex={-1}>
        {editing ? t("channels.editTitle", { name: editing.name }) : t("channels.new")}
      </h2>
      <ChannelFields
        form={form}
        departments={props.departments}
        editing={editing !== null}
        invalid={invalid}
      />
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

/** Creating a channel answers its secret (webhooks, shown once); a change answers none. */
function useSaveChannel(editing: AlertEndpoint | null, onSaved: (secret: string | null) => void) {
  const client = useQueryClient();
  return useMutation({
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
      onSaved(secret);
      return client.invalidateQueries({ queryKey: queryKeys.alertEndpoints });
    },
  });
}

function ChannelFields(props: {
  form: UseFormReturn<ChannelFormInput, unknown, ChannelCreateBody>;
  departments: readonly Department[];
  editing: boolean;
  invalid(field: "name" | "target"): { "aria-invalid"?: true; "aria-describedby"?: string };
}) {
  const { t } = useUi();
  const id = useId();
  const { form, invalid } = props;
  const kind = form.watch("kind");
  return (
    <div className="form-row">
      <label>
        {t("common.name")}
        <input {...form.register("name")} {...invalid("name")} />
      </label>
      <label>
        {t("routing.channel")}
        <select {...form.register("kind")} disabled={props.editing}>
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
              disabled={props.editing}
            />
          )}
        />
      </label>
      <label className="inline">
        <input type="checkbox" {...form.register("enabled")} />
        {t("channels.enabledField")}
      </label>
    </div>
  );
}
