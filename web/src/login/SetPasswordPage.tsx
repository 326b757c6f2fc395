import { useId, useState } from "react";
import { type UseFormReturn, useForm } from "react-hook-form";
import { FieldError, invalidProps } from "../admin/FieldError";
import { ApiProblem } from "../api/client";
import { api, data } from "../api/typed";
import type { MessageKey } from "../i18n/messages";
import { useUi } from "../session/context";
import { navigate } from "../ui/router";
import { later } from "./later";
import { laterResolver } from "./later-resolver";

/** Where the e-mailed links land: `/invitation#token=…` and `/reset-password#token=…`. */
export type SetPasswordMode = "invitation" | "reset";

/** The token travels in the fragment, so it never reaches a server log or a Referer header. */
export function tokenFromHash(hash: string): string | null {
  const token = new URLSearchParams(hash.replace(/^#/, "")).get("token");
  return token && /^[A-Za-z0-9_.~-]{20,200}$/.test(token) ? token : null;
}

/** The new password twice. */
type NewPasswordFields = { password: string; repeat: string };

/**
 * Choose a password with an invitation or reset token, then go to the login. The password rule is
 * the shared schema's, fetched when the form is first sent (laterResolver: this page carries no zod).
 */
export function SetPasswordPage(props: { mode: SetPasswordMode }) {
  const { t } = useUi();
  const [token] = useState(() => tokenFromHash(location.hash));
  const form = useForm<NewPasswordFields>({
    resolver: laterResolver("newPassword"),
    defaultValues: { password: "", repeat: "" },
  });
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);

  const submit = form.handleSubmit(async ({ password }) => {
    setError(null);
    if (!token) return; // the form is not shown without one
    try {
      const body = { token, password };
      await data(
        props.mode === "invitation"
          ? api.POST("/api/v1/auth/invitations/accept", { body })
          : api.POST("/api/v1/auth/password-reset/confirm", { body }),
        later("anyAnswer"),
      );
      history.replaceState(null, "", location.pathname); // drop the spent token from the address bar
      setDone(true);
    } catch (err) {
      setError(
        weakPassword(err)
          ? t("setPassword.weak")
          : t("login.failed", { message: err instanceof Error ? err.message : String(err) }),
      );
    }
  });

  return (
    <main className="login">
      <form className="card login__form" aria-labelledby="set-password-title" noValidate onSubmit={submit}>
        <h1 id="set-password-title">
          {props.mode === "invitation" ? t("setPassword.invitationTitle") : t("setPassword.resetTitle")}
        </h1>
        {!token ? (
          <p className="error">{t("setPassword.noToken")}</p>
        ) : done ? (
          <>
            <p role="status">{t("setPassword.done")}</p>
            <button type="button" className="primary" onClick={() => navigate("/", true)}>
              {t("login.submit")}
            </button>
          </>
        ) : (
          <NewPasswordInputs form={form} error={error} />
        )}
      </form>
    </main>
  );
}

/** The server names the field it refused; its English reason is not shown. */
function weakPassword(err: unknown): boolean {
  return (
    err instanceof ApiProblem &&
    err.code === "validation-failed" &&
    JSON.stringify((err.body as { errors?: unknown } | null)?.errors ?? []).includes('"password"')
  );
}

/** What to say under a field the schema refused, in the console's words. */
function newPasswordError(field: keyof NewPasswordFields, type: string | undefined): MessageKey {
  if (field === "repeat") return "setPassword.mismatch";
  return type === "too_big" ? "setPassword.tooLong" : "setPassword.tooShort";
}

/** The new password twice, what was wrong with it, and save. */
function NewPasswordInputs(props: { form: UseFormReturn<NewPasswordFields>; error: string | null }) {
  const { t } = useUi();
  const id = useId();
  const errors = props.form.formState.errors;
  const fieldError = (field: keyof NewPasswordFields) => (
    <FieldError
      formId={id}
      errors={errors}
      field={field}
      text={(f) => t(newPasswordError(f, errors[f]?.type))}
    />
  );
  return (
    <>
      <label>
        {t("setPassword.new")}
        <input
          type="password"
          autoComplete="new-password"
          required
          // biome-ignore lint/a11y/noAutofocus: the page's one task; focus where the user types next
          autoFocus
          {...props.form.register("password")}
          {...invalidProps(id, errors, "password")}
        />
      </label>
      {fieldError("password")}
      <label>
        {t("setPassword.repeat")}
        <input
          type="password"
          autoComplete="new-password"
          required
          {...props.form.register("repeat")}
          {...invalidProps(id, errors, "repeat")}
        />
      </label>
      {fieldError("repeat")}
      {(props.error || errors.root) && (
        <p className="error" role="alert">
          {props.error ?? t("problem.network")}
        </p>
      )}
      <button type="submit" className="primary" disabled={props.form.formState.isSubmitting}>
        {t("common.save")}
      </button>
    </>
  );
}
