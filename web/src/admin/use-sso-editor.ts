import { zodResolver } from "@hookform/resolvers/zod";
import { type SsoProvider, ssoProvider } from "@vakt/schemas";
import { useRef, useState } from "react";
import { type Resolver, useForm } from "react-hook-form";
import { z } from "zod";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { useSsoProviders } from "./queries";
import { draftFrom, emptyDraft, type ProviderDraft, type SsoSubmit, ssoForm } from "./sso-form";
import { problemText } from "./sso-text";

/** A change and a creation have different bodies (a creation needs every field): each its request. */
function send(submit: SsoSubmit, editing: SsoProvider | null): Promise<SsoProvider> {
  if (submit.editing && editing)
    return data(
      api.PATCH("/api/v1/sso-providers/{id}", { params: { path: { id: editing.id } }, body: submit.body }),
      ssoProvider,
    );
  if (submit.editing) throw new Error("a change needs the provider it changes");
  return data(api.POST("/api/v1/sso-providers", { body: submit.body }), ssoProvider);
}

/**
 * The draft is checked as a change or as a creation, by which one is open when it is checked (the
 * resolver reads that at each check, not when the form was made).
 */
function useDraftResolver(
  editing: React.RefObject<SsoProvider | null>,
): Resolver<ProviderDraft, unknown, SsoSubmit> {
  const resolvers = useRef({ create: zodResolver(ssoForm(false)), update: zodResolver(ssoForm(true)) });
  return (values, context, options) =>
    (editing.current ? resolvers.current.update : resolvers.current.create)(values, context, options);
}

/** The SSO screen's state: the provider list, the one being edited (or a new one), its form. */
export function useSsoEditor() {
  const { t } = useUi();
  const list = useSsoProviders();
  const [editing, setEditing] = useState<SsoProvider | null>(null);
  const editingRef = useRef<SsoProvider | null>(null);
  const form = useForm<ProviderDraft, unknown, SsoSubmit>({
    resolver: useDraftResolver(editingRef),
    defaultValues: emptyDraft(),
  });
  const [message, setMessage] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);

  const open = (p: SsoProvider | null) => {
    editingRef.current = p;
    setEditing(p);
    form.reset(p ? draftFrom(p) : emptyDraft());
    setMessage(null);
    setCopied(false);
  };
  // The same for every provider; before the first exists, where this console is served.
  const redirectUri =
    editing?.redirectUri ?? list.data?.[0]?.redirectUri ?? `${location.origin}/api/v1/auth/sso/callback`;

  const save = form.handleSubmit(async (submit) => {
    setMessage(null);
    try {
      open(await send(submit, editing));
      setMessage(editing ? t("common.saved") : t("sso.created"));
      await list.refetch();
    } catch (err) {
      setMessage(problemText(err, t));
    }
  });
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
    form,
    message,
    deleting,
    setDeleting,
    copied,
    setCopied,
    open,
    redirectUri,
    save,
    remove,
  };
}

export type SsoEditor = ReturnType<typeof useSsoEditor>;
