/**
 * The channel (alert endpoint) form: one form to create a channel and to change one. The shared
 * create schema checks it either way, so a changed target is held to its kind's format (a URL, an
 * e-mail address, an E.164 number) as the API holds it; a change sends only what may change.
 */
import { type AlertEndpoint, alertEndpointCreate, alertEndpointUpdate, endpointKind } from "@vakt/schemas";
import { z } from "zod";
import type { MessageKey } from "../i18n/dict";

export const CHANNEL_KINDS = endpointKind.options;

export const channelForm = z
  .object({
    name: z.string(),
    kind: endpointKind,
    target: z.string(),
    departmentId: z.string(),
    enabled: z.boolean(),
  })
  .transform((f, ctx) => {
    const r = alertEndpointCreate.safeParse({ ...f, target: f.target.trim() });
    if (r.success) return r.data;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: "custom", message: issue.message, path: issue.path.map(String) });
    return z.NEVER;
  });

export type ChannelFormInput = z.input<typeof channelForm>;
export type ChannelCreateBody = z.output<typeof channelForm>;

export const emptyChannelForm = (departmentId = ""): ChannelFormInput => ({
  name: "",
  kind: "webhook",
  target: "",
  departmentId,
  enabled: true,
});

export const channelToForm = (e: AlertEndpoint): ChannelFormInput => ({
  name: e.name,
  kind: e.kind,
  target: e.target,
  departmentId: e.departmentId,
  enabled: e.enabled,
});

/** A channel's kind and department stay; its name, target and whether it is in use may change. */
export function channelUpdate(body: ChannelCreateBody): z.infer<typeof alertEndpointUpdate> {
  return alertEndpointUpdate.parse({ name: body.name, target: body.target, enabled: body.enabled ?? true });
}

/** What to say under a field the schema refused, in the console's words (never zod's English). */
export function channelFieldError(field: keyof ChannelFormInput, kind: ChannelFormInput["kind"]): MessageKey {
  if (field === "name") return "channels.error.name";
  if (field === "target") return `channels.error.target.${kind}`;
  return "channels.error.department";
}
