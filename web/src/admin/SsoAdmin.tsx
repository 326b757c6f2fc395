import { useUi } from "../session/context";
import { errorText, routeMissing } from "./queries";
import { LoginSettingsForm } from "./SsoLoginSettings";
import { SsoProviderForm } from "./SsoProviderForm";
import { SsoProvidersTable } from "./SsoProvidersTable";
import { useSsoEditor } from "./use-sso-editor";

/**
 * Single sign-on: the organisation's OpenID Connect providers (the secret is
 * write-only), the rules turning their groups into roles, and whether password
 * login stays allowed.
 */
export function SsoAdmin() {
  const { t } = useUi();
  const editor = useSsoEditor();
  const { list } = editor;
  if (routeMissing(list.error)) return <p className="muted">{t("admin.notAvailable")}</p>;
  return (
    <>
      <LoginSettingsForm />
      <h2>{t("sso.providers")}</h2>
      {list.error && <p className="error">{errorText(list.error)}</p>}
      {list.data?.length === 0 && <p className="muted">{t("sso.none")}</p>}
      {(list.data?.length ?? 0) > 0 && <SsoProvidersTable editor={editor} />}
      <SsoProviderForm editor={editor} />
    </>
  );
}
