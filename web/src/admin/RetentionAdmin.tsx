import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type RetentionSettings, restrictedRecipient, retentionSettingsView } from "@vakt/schemas";
import { useId, useState } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { type LiftFormInput, type LiftQuery, liftForm } from "../recipients/privacy-form";
import { can, useSession, useUi } from "../session/context";
import { FieldError, invalidProps } from "./FieldError";
import { errorText, routeMissing } from "./queries";
import { RetentionRuns } from "./RetentionRuns";
import {
  RETENTION_FIELDS,
  type RetentionFormInput,
  retentionFieldError,
  retentionForm,
  retentionRange,
  retentionToForm,
} from "./retention-form";

/** Retention settings, then the recipients whose processing is restricted. */
export function RetentionAdmin() {
  return (
    <>
      <RetentionSettingsForm />
      <RetentionRuns />
      <RestrictedRecipients />
    </>
  );
}

/** How long each kind of data is kept (days); the API enforces the legal floors and ceilings. */
function RetentionSettingsForm() {
  const { t } = useUi();
  const settings = useQuery({
    queryKey: queryKeys.retention,
    queryFn: () => data(api.GET("/api/v1/privacy/retention"), retentionSettingsView),
  });
  if (routeMissing(settings.error)) return <p className="muted">{t("admin.notAvailable")}</p>;
  if (!settings.data) return <p>{settings.error ? errorText(settings.error) : t("common.loading")}</p>;
  return <RetentionFields view={settings.data} />;
}

function RetentionFields({ view }: { view: z.infer<typeof retentionSettingsView> }) {
  const { t, dateTime } = useUi();
  const id = useId();
  const client = useQueryClient();
  const [message, setMessage] = useState<string | null>(null);
  const form = useForm<RetentionFormInput, unknown, RetentionSettings>({
    resolver: zodResolver(retentionForm(view.ceilings)),
    defaultValues: retentionToForm(view),
  });
  const save = useMutation({
    mutationFn: (body: RetentionSettings) =>
      data(api.PATCH("/api/v1/privacy/retention", { body }), retentionSettingsView),
    onSuccess: (saved) => {
      form.reset(retentionToForm(saved));
      setMessage(t("common.saved"));
      return client.invalidateQueries({ queryKey: queryKeys.retention });
    },
    onError: (err) => setMessage(errorText(err)),
  });
  const errors = form.formState.errors;
  const text = (f: keyof RetentionSettings) => {
    const { key, vars } = retentionFieldError(f, view.ceilings);
    return t(key, vars);
  };
  return (
    <form
      className="card"
      noValidate
      aria-label={t("admin.retention")}
      data-testid="retention-settings"
      onSubmit={form.handleSubmit((body) => save.mutate(body))}
    >
      {RETENTION_FIELDS.map((f) => (
        <div key={f}>
          <label>
            {t(`enum.retention.${f}`)}
            <input
              type="number"
              inputMode="numeric"
              min={retentionRange(f, view.ceilings).min}
              {...form.register(f)}
              {...invalidProps(id, errors, f)}
            />
          </label>
          <FieldError formId={id} errors={errors} field={f} text={text} />
        </div>
      ))}
      {view.updatedAt && <p className="muted">{dateTime(view.updatedAt)}</p>}
      <button type="submit" className="primary" disabled={save.isPending}>
        {t("common.save")}
      </button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}

/** Restricted recipients (ids only: their names are read only with a logged reason) and lifting a restriction. */
function RestrictedRecipients() {
  const { t, dateTime } = useUi();
  const session = useSession();
  const client = useQueryClient();
  const list = useQuery({
    queryKey: queryKeys.restrictions,
    queryFn: () => data(api.GET("/api/v1/privacy/restrictions"), z.array(restrictedRecipient)),
  });
  const [message, setMessage] = useState<string | null>(null);
  // Lifting is recipient:manage; the list itself is organisation:manage.
  const mayLift = can(session, "recipient:manage");
  const lift = useMutation({
    mutationFn: (v: { id: string } & LiftQuery) =>
      data(
        api.DELETE("/api/v1/privacy/recipients/{id}/restriction", {
          params: { path: { id: v.id }, query: { reason: v.reason } },
        }),
        z.unknown(),
      ),
    onSuccess: () => {
      setMessage(t("privacy.lifted"));
      return client.invalidateQueries({ queryKey: queryKeys.restrictions });
    },
    onError: (err) => setMessage(t("common.error", { message: errorText(err) })),
  });
  return (
    <section aria-labelledby="restrictions-title" data-testid="restrictions">
      <h2 id="restrictions-title">{t("privacy.restrictions")}</h2>
      {list.error && <p className="error">{errorText(list.error)}</p>}
      {list.data && list.data.length === 0 && <p className="muted">{t("privacy.noRestrictions")}</p>}
      {list.data && list.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>{t("privacy.recipientId")}</th>
              <th>{t("privacy.restrictedAt")}</th>
              {mayLift && <th>{t("common.actions")}</th>}
            </tr>
          </thead>
          <tbody>
            {list.data.map((r) => (
              <tr key={r.id} data-testid="restricted-recipient" data-id={r.id}>
                <td>
                  <code>{r.id}</code>
                </td>
                <td>{dateTime(r.restrictedAt)}</td>
                {mayLift && (
                  <td>
                    <LiftForm busy={lift.isPending} onLift={(q) => lift.mutate({ id: r.id, ...q })} />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {message && <p role="status">{message}</p>}
    </section>
  );
}

/** Lifting one restriction: the logged reason, refused in words under the field as the API would refuse it. */
function LiftForm(props: { busy: boolean; onLift(query: LiftQuery): void }) {
  const { t } = useUi();
  const id = useId();
  const form = useForm<LiftFormInput, unknown, LiftQuery>({
    resolver: zodResolver(liftForm),
    defaultValues: { reason: "" },
  });
  const errors = form.formState.errors;
  return (
    <form className="form-row" noValidate onSubmit={form.handleSubmit(props.onLift)}>
      <label className="inline">
        {t("privacy.reason")}
        <input {...form.register("reason")} {...invalidProps(id, errors, "reason")} />
      </label>
      <button type="submit" disabled={props.busy}>
        {t("privacy.lift")}
      </button>
      <FieldError formId={id} errors={errors} field="reason" text={() => t("privacy.error.reason")} />
    </form>
  );
}
