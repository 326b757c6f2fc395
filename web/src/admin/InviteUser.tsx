import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type Department, roleKey, staffUserCreated } from "@vakt/schemas";
import { useId, useState } from "react";
import { Controller, useForm } from "react-hook-form";
import type { z } from "zod";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { DepartmentSelect, openDepartments } from "./DepartmentsAdmin";
import { FieldError, invalidProps } from "./FieldError";
import {
  emptyInviteForm,
  type InviteBody,
  type InviteFormInput,
  inviteFieldError,
  inviteForm,
} from "./invite-form";
import { errorText } from "./queries";

const NAME_FIELDS = ["email", "firstName", "lastName"] as const;

/** Invites a staff user with one grant; the invitation token is shown once, below the form. */
export function InviteUser(props: { departments: Department[]; onMessage(text: string | null): void }) {
  const { t } = useUi();
  const id = useId();
  const [invited, setInvited] = useState<z.infer<typeof staffUserCreated> | null>(null);
  const form = useForm<InviteFormInput, unknown, InviteBody>({
    resolver: zodResolver(inviteForm),
    defaultValues: emptyInviteForm(),
  });
  const invite = useInvite((r) => {
    setInvited(r);
    form.reset(emptyInviteForm());
  }, props.onMessage);
  const errors = form.formState.errors;
  const fieldError = (field: keyof InviteFormInput) => (
    <FieldError formId={id} errors={errors} field={field} text={(f) => t(inviteFieldError(f))} />
  );
  return (
    <>
      <form
        className="card form-row"
        noValidate
        aria-label={t("users.invite")}
        data-testid="invite-form"
        onSubmit={form.handleSubmit((body) => invite.mutate(body))}
      >
        {NAME_FIELDS.map((f) => (
          <label key={f}>
            {t(`users.${f}`)}
            <input
              type={f === "email" ? "email" : "text"}
              autoComplete="off"
              {...form.register(f)}
              {...invalidProps(id, errors, f)}
            />
          </label>
        ))}
        <label>
          {t("users.role")}
          <select {...form.register("role")} {...invalidProps(id, errors, "role")}>
            {roleKey.options.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}`)}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor={`${id}-department`}>
          {t("common.department")}
          <Controller
            control={form.control}
            name="departmentId"
            render={({ field }) => (
              <DepartmentSelect
                id={`${id}-department`}
                departments={openDepartments(props.departments)}
                value={field.value}
                onChange={field.onChange}
                label={t("common.department")}
                allowRoot={t("role.wholeOrganisation")}
              />
            )}
          />
        </label>
        <button type="submit" className="primary" disabled={invite.isPending}>
          {t("users.invite")}
        </button>
        {fieldError("email")}
        {fieldError("firstName")}
        {fieldError("lastName")}
        {fieldError("role")}
        {fieldError("departmentId")}
      </form>
      {invited && <InvitationCard invited={invited} />}
    </>
  );
}

/** Creates the user; the list is fetched again. A refusal is said in the console's words. */
function useInvite(
  onInvited: (r: z.infer<typeof staffUserCreated>) => void,
  onMessage: (text: string | null) => void,
) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: InviteBody) => data(api.POST("/api/v1/users", { body }), staffUserCreated),
    onSuccess: (r) => {
      onMessage(null);
      onInvited(r);
      return client.invalidateQueries({ queryKey: queryKeys.users });
    },
    onError: (err) => onMessage(errorText(err)),
  });
}

/** The invitation token, shown once: the new user sets a password with it. */
function InvitationCard({ invited }: { invited: z.infer<typeof staffUserCreated> }) {
  const { t, dateTime } = useUi();
  return (
    <div className="card" role="status">
      <p>
        {t("users.invitationLink", { when: dateTime(invited.invitationExpiresAt) })} — {t("common.shownOnce")}
      </p>
      <p className="secret">{invited.invitationToken}</p>
    </div>
  );
}
