import { useUi } from "../session/context";
import type { SsoEditor } from "./use-sso-editor";

/** The organisation's providers, each with edit and a confirmed delete. */
export function SsoProvidersTable({ editor }: { editor: SsoEditor }) {
  const { t } = useUi();
  const { list, deleting, setDeleting, open, remove } = editor;
  return (
    <table data-testid="sso-providers-table">
      <thead>
        <tr>
          <th>{t("common.name")}</th>
          <th>{t("sso.issuer")}</th>
          <th>{t("sso.domains")}</th>
          <th>{t("sso.clientSecret")}</th>
          <th>{t("sso.enabled")}</th>
          <th>{t("common.actions")}</th>
        </tr>
      </thead>
      <tbody>
        {(list.data ?? []).map((p) => (
          <tr key={p.id}>
            <td>{p.displayName}</td>
            <td>{p.issuer}</td>
            <td>{p.emailDomains.join(", ")}</td>
            <td>{p.hasClientSecret ? t("sso.secretSet") : t("sso.secretMissing")}</td>
            <td>{p.enabled ? t("common.yes") : t("common.no")}</td>
            <td>
              {deleting === p.id ? (
                // biome-ignore lint/a11y/useSemanticElements: a confirm-or-cancel pair inside a table cell
                <span className="buttons" role="group" aria-label={t("common.delete")}>
                  <span>{t("sso.deleteConfirm", { name: p.displayName })}</span>
                  <button type="button" onClick={() => remove(p)}>
                    {t("common.delete")}
                  </button>
                  <button type="button" onClick={() => setDeleting(null)}>
                    {t("common.cancel")}
                  </button>
                </span>
              ) : (
                <span className="buttons">
                  <button
                    type="button"
                    aria-label={`${t("common.edit")}: ${p.displayName}`}
                    onClick={() => open(p)}
                  >
                    {t("common.edit")}
                  </button>
                  <button
                    type="button"
                    aria-label={`${t("common.delete")}: ${p.displayName}`}
                    onClick={() => setDeleting(p.id)}
                  >
                    {t("common.delete")}
                  </button>
                </span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
