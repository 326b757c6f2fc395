import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery } from "@tanstack/react-query";
import { positionHistory, recipient } from "@vakt/schemas";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { z } from "zod";
import { ApiProblem } from "../api/client";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { type LocatorLookupBody, type LocatorLookupInput, locatorLookupForm } from "./locator-lookup-form";
import type { KnownPosition } from "./markers";

/** How far back a locator's look-up searches for the newest fix. */
const LOOKBACK_HOURS = 24;

/**
 * A locator's map: one recipient at a time (issue 15), each look-up carrying the reason given
 * before. The newest fix of the last 24 hours is shown; every look-up is in the activity log.
 */
export function LocatorLookup(props: { reason: string; onFound(p: KnownPosition | null): void }) {
  const { t } = useUi();
  const list = useQuery({
    queryKey: ["recipients"],
    queryFn: () => data(api.GET("/api/v1/recipients"), z.array(recipient)),
  });
  const people = (list.data ?? []).filter((r) => r.status === "active");
  const id = useId();
  const form = useForm<LocatorLookupInput, unknown, LocatorLookupBody>({
    resolver: zodResolver(locatorLookupForm),
    defaultValues: { recipientId: "" },
  });
  const error = form.formState.errors.recipientId;
  const lookUp = useMutation({
    mutationFn: (who: z.infer<typeof recipient>) => newestPosition(who, props.reason),
    onSuccess: (found) => props.onFound(found),
  });
  const busy = lookUp.isPending;
  const outcome = lookUp.isSuccess
    ? lookUp.data
      ? "found"
      : "none"
    : lookUp.error && !(lookUp.error instanceof ApiProblem && lookUp.error.status === 401)
      ? "error"
      : null;

  return (
    <form
      className="card locator-lookup"
      data-testid="locator-lookup"
      noValidate
      onSubmit={form.handleSubmit((body) => {
        const who = people.find((p) => p.id === body.recipientId);
        if (who) lookUp.mutate(who);
      })}
    >
      <label>
        {t("locator.recipient")}
        <select
          {...form.register("recipientId")}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? `${id}-error` : undefined}
        >
          <option value="">{t("locator.choose")}</option>
          {people.map((p) => (
            <option key={p.id} value={p.id}>
              {`${p.firstName ?? ""} ${p.lastName ?? ""}`.trim() || p.id}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="primary" disabled={busy}>
        {t("locator.lookUp")}
      </button>
      {error && (
        <p id={`${id}-error`} className="error small" role="alert">
          {t("locator.error.choose")}
        </p>
      )}
      <p role="status">
        {outcome === "none" && t("locator.none", { hours: LOOKBACK_HOURS })}
        {outcome === "error" && t("locator.error")}
        {outcome === "found" && t("locator.found")}
      </p>
    </form>
  );
}

/** The newest fix of the last LOOKBACK_HOURS for one recipient: one logged look-up with the locator's reason. */
async function newestPosition(who: z.infer<typeof recipient>, reason: string): Promise<KnownPosition | null> {
  const to = new Date();
  const h = await data(
    api.GET("/api/v1/positions/recipients/{id}/history", {
      params: {
        path: { id: who.id },
        query: {
          from: new Date(to.getTime() - LOOKBACK_HOURS * 3_600_000).toISOString(),
          to: to.toISOString(),
          maxPoints: 500,
          reason: reason,
        },
      },
    }),
    positionHistory,
  );
  const newest = h.points.at(-1);
  if (!newest) return null;
  return {
    recipientId: who.id,
    name: `${who.firstName ?? ""} ${who.lastName ?? ""}`.trim() || null,
    departmentId: who.departmentId,
    lat: newest.lat,
    lon: newest.lon,
    accuracyM: newest.accuracyM,
    time: newest.time,
    batteryPercent: null,
  };
}
