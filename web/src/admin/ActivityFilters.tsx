import type { StaffUser } from "@vakt/schemas";
import { useState } from "react";
import { useUi } from "../session/context";

export interface Filters {
  userId: string;
  action: string;
  from: string;
  to: string;
}

export const noFilters: Filters = { userId: "", action: "", from: "", to: "" };

/** The activity log's filters (applied on submit), its CSV export and the chain check's button. */
export function ActivityFilterForm(props: {
  users: StaffUser[];
  onApply(filters: Filters): void;
  /** The export of the applied filters' query. */
  exportHref: string;
  verifying: boolean;
  onVerify(): void;
}) {
  const { t } = useUi();
  const [draft, setDraft] = useState<Filters>(noFilters);
  return (
    <form
      className="card form-row"
      onSubmit={(e) => {
        e.preventDefault();
        props.onApply(draft);
      }}
    >
      <label>
        {t("activity.user")}
        <select value={draft.userId} onChange={(e) => setDraft({ ...draft, userId: e.target.value })}>
          <option value="">–</option>
          {props.users.map((u) => (
            <option key={u.id} value={u.id}>
              {u.firstName} {u.lastName}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("activity.action")}
        <input
          name="action"
          value={draft.action}
          onChange={(e) => setDraft({ ...draft, action: e.target.value })}
        />
      </label>
      <label>
        {t("common.from")}
        <input
          type="datetime-local"
          value={draft.from}
          onChange={(e) => setDraft({ ...draft, from: e.target.value })}
        />
      </label>
      <label>
        {t("common.to")}
        <input
          type="datetime-local"
          value={draft.to}
          onChange={(e) => setDraft({ ...draft, to: e.target.value })}
        />
      </label>
      <button type="submit" className="primary">
        {t("common.apply")}
      </button>
      <a className="button" href={props.exportHref} download>
        {t("activity.exportCsv")}
      </a>
      <button type="button" disabled={props.verifying} onClick={props.onVerify}>
        {t("activity.verify")}
      </button>
    </form>
  );
}
