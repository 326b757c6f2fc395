import { zodResolver } from "@hookform/resolvers/zod";
import { type LoginSettings, loginSettings } from "@vakt/schemas";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { errorText, routeMissing, useLoginSettings } from "./queries";
import { problemText } from "./sso-text";

/** Organisation-wide: may staff log in with a password, or only through single sign-on? */
export function LoginSettingsForm() {
  const { t } = useUi();
  const settings = useLoginSettings();
  if (routeMissing(settings.error)) return <p className="muted">{t("admin.notAvailable")}</p>;
  if (!settings.data) return <p>{settings.error ? errorText(settings.error) : t("common.loading")}</p>;
  return <LoginSettingsFields stored={settings.data} />;
}

/** The form itself is the shared schema: one switch, nothing to map. */
function LoginSettingsFields({ stored }: { stored: LoginSettings }) {
  const { t } = useUi();
  const [message, setMessage] = useState<string | null>(null);
  const form = useForm<LoginSettings>({ resolver: zodResolver(loginSettings), defaultValues: stored });
  const allow = form.watch("localPasswordLogin");
  const save = async (body: LoginSettings) => {
    try {
      const saved = await data(api.PUT("/api/v1/organisation/login-settings", { body }), loginSettings);
      form.reset(saved);
      setMessage(t("common.saved"));
    } catch (err) {
      setMessage(problemText(err, t));
    }
  };
  return (
    <form className="card" noValidate aria-label={t("sso.loginSettings")} onSubmit={form.handleSubmit(save)}>
      <h2>{t("sso.loginSettings")}</h2>
      <label className="inline">
        <input
          type="checkbox"
          role="switch"
          aria-checked={allow}
          aria-describedby="password-login-help"
          {...form.register("localPasswordLogin")}
        />
        {t("sso.allowPassword")}
      </label>
      <p id="password-login-help" className="muted small">
        {t("sso.allowPasswordHelp")}
      </p>
      <button type="submit" className="primary" disabled={form.formState.isSubmitting}>
        {t("common.save")}
      </button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}
