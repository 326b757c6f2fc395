import { type SsoProvider, ssoProvider } from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { useSsoProviders } from "./queries";
import {
  type DraftField,
  draftFrom,
  emptyDraft,
  type FieldError,
  type ProviderDraft,
  toCreate,
  toUpdate,
} from "./sso-form";
import { problemText } from "./sso-text";

/**
 * A change and a creation have different bodies (a creation needs every field), so each is
 * converted on its own; a draft that converts gives the request that sends it.
 */
function draftRequest(
  editing: SsoProvider | null,
  draft: ProviderDraft,
): { ok: true; send(): Promise<SsoProvider> } | { ok: false; errors: FieldError[] } {
  if (editing) {
    const update = toUpdate(draft);
    if (!update.ok) return update;
    const body = update.body;
    return {
      ok: true,
      send: () =>
        data(
          api.PATCH("/api/v1/sso-providers/{id}", { params: { path: { id: editing.id } }, body }),
          ssoProvider,
        ),
    };
  }
  const create = toCreate(draft);
  if (!create.ok) return create;
  return {
    ok: true,
    send: () => data(api.POST("/api/v1/sso-providers", { body: create.body }), ssoProvider),
  };
}

/** The SSO screen's state: the provider list, the one being edited (or a new one), its draft and errors. */
export function useSsoEditor() {
  const { t } = useUi();
  const list = useSsoProviders();
  const [editing, setEditing] = useState<SsoProvider | null>(null);
  const [draft, setDraft] = useState<ProviderDraft>(emptyDraft);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [message, setMessage] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);

  const open = (p: SsoProvider | null) => {
    setEditing(p);
    setDraft(p ? draftFrom(p) : emptyDraft());
    setErrors([]);
    setMessage(null);
    setCopied(false);
  };
  // The same for every provider; before the first exists, where this console is served.
  const redirectUri =
    editing?.redirectUri ?? list.data?.[0]?.redirectUri ?? `${location.origin}/api/v1/auth/sso/callback`;
  const set = <K extends DraftField>(field: K, value: ProviderDraft[K]) =>
    setDraft({ ...draft, [field]: value });

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setMessage(null);
    const request = draftRequest(editing, draft);
    if (!request.ok) return setErrors(request.errors);
    setErrors([]);
    try {
      open(await request.send());
      setMessage(editing ? t("common.saved") : t("sso.created"));
      await list.refetch();
    } catch (err) {
      setMessage(problemText(err, t));
    }
  };
  const remove = async (p: SsoProvider) => {
    try {
      await data(api.DELETE("/api/v1/sso-providers/{id}", { params: { path: { id: p.id } } }), z.unknown());
      setDeleting(null);
      if (editing?.id === p.id) open(null);
      setMessage(t("sso.deleted"));
      await list.refetch();
    } catch (err) {
      setMessage(problemText(err, t));
    }
  };

  return {
    list,
    editing,
    draft,
    errors,
    message,
    deleting,
    setDeleting,
    copied,
    setCopied,
    open,
    redirectUri,
    set,
    save,
    remove,
  };
}

export type SsoEditor = ReturnType<typeof useSsoEditor>;
