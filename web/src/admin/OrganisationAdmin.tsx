import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { organisation } from "@vakt/schemas";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { Link } from "../ui/router";
import { type OrganisationFormValues, organisationForm, TIME_ZONES } from "./organisation-form";
import { errorText } from "./queries";

/** The organisation's name, time zone and security rules (a second factor for administrators). */
export function OrganisationAdmin() {
  const { t } = useUi();
  const org = useQuery({
    queryKey: queryKeys.organisation,
    queryFn: () => data(api.GET("/api/v1/organisation"), organisation),
  });
  if (org.error)
    return (
      <p className="error" role="alert">
        {errorText(org.error)}
      </p>
    );
  if (!org.data) return <p className="muted">{t("common.loading")}</p>;
  return (
    <OrganisationForm
      key={org.data.id}
      values={{
        name: org.data.name,
        timeZone: org.data.timeZone,
        requireAdminSecondFactor: org.data.requireAdminSecondFactor,
      }}
    />
  );
}

/** Saves the organisation; `reset` gets what was saved (so the form is no longer dirty). */
function useSaveOrganisation(reset: (values: OrganisationFormValues) => void) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: OrganisationFormValues) =>
      data(api.PATCH("/api/v1/organisation", { body }), organisation),
    onSuccess: (saved) => {
      reset({
        name: saved.name,
        timeZone: saved.timeZone,
        requireAdminSecondFactor: saved.requireAdminSecondFactor,
      });
      return client.invalidateQueries({ queryKey: queryKeys.organisation });
    },
  });
}

function OrganisationForm(props: { values: OrganisationFormValues }) {
  const { t } = useUi();
  const id = useId();
  const form = useForm<OrganisationFormValues>({
    resolver: zodResolver(organisationForm),
    defaultValues: props.values,
  });
  const save = useSaveOrganisation(form.reset);
  const errors = form.formState.errors;
  const invalid = (field: keyof OrganisationFormValues) =>
    errors[field] ? { "aria-invalid": true, "aria-describedby": `${id}-${field}-error` } : {};
  return (
    <form
      className="card"
      noValidate
      data-testid="organisation-form"
      onSubmit={form.handleSubmit((body) => save.mutate(body))}
    >
      <label htmlFor={`${id}-name`}>{t("common.name")}</label>
      <input id={`${id}-name`} {...form.register("name")} {...invalid("name")} />
      {errors.name && (
        <p id={`${id}-name-error`} className="error small" role="alert">
          {t("org.error.name")}
        </p>
      )}
      <label htmlFor={`${id}-zone`}>{t("org.timeZone")}</label>
      <input
        id={`${id}-zone`}
        list={`${id}-zones`}
        autoComplete="off"
        {...form.register("timeZone")}
        {...invalid("timeZone")}
        aria-describedby={errors.timeZone ? `${id}-zone-hint ${id}-timeZone-error` : `${id}-zone-hint`}
      />
      <datalist id={`${id}-zones`}>
        {TIME_ZONES.map((zone) => (
          <option key={zone} value={zone} />
        ))}
      </datalist>
      <p id={`${id}-zone-hint`} className="muted small">
        {t("org.timeZoneHint")}
      </p>
      {errors.timeZone && (
        <p id={`${id}-timeZone-error`} className="error small" role="alert">
          {t("org.error.timeZone")}
        </p>
      )}
      <fieldset>
        <legend>{t("org.security")}</legend>
        <label className="inline">
          <input type="checkbox" {...form.register("requireAdminSecondFactor")} />
          {t("org.requireAdminSecondFactor")}
        </label>
        <p className="muted small">{t("org.requireAdminSecondFactorHint")}</p>
        <p className="muted small">
          <Link to="/admin/sso" current={false}>
            {t("org.passwordLoginHint")}
          </Link>
        </p>
      </fieldset>
      <button type="submit" className="primary" disabled={save.isPending}>
        {t("common.save")}
      </button>
      <p role="status">{save.isSuccess && !form.formState.isDirty ? t("common.saved") : ""}</p>
      {save.error && (
        <p className="error" role="alert">
          {errorText(save.error)}
        </p>
      )}
    </form>
  );
}
