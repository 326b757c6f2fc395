import type { StaffUser } from "@vakt/schemas";
import { can, useSession, useUi } from "../session/context";

export type UserRowProps = {
  u: StaffUser;
  deptName(id: string | null): string;
  setPhone(u: StaffUser, value: string): void;
  setStatus(u: StaffUser, status: "active" | "disabled"): void;
};

/** One staff user: contact, grants, second factor, last login and status. */
export function UserRow(props: UserRowProps) {
  const { t, dateTime } = useUi();
  const { u } = props;
  return (
    <tr>
      <td>
        {u.firstName} {u.lastName}
      </td>
      <td>{u.email}</td>
      <PhoneCell {...props} />
      <td>
        {u.grants.map((g) => (
          <div key={`${g.role}-${g.departmentId}`}>
            {t(`role.${g.role}`)}: {props.deptName(g.departmentId)}
          </div>
        ))}
      </td>
      <td>{u.secondFactorEnabled ? t("common.yes") : t("common.no")}</td>
      <td>{u.lastLoginAt ? dateTime(u.lastLoginAt) : "–"}</td>
      <StatusCell {...props} />
    </tr>
  );
}

/** Staff phones (the SMS channel's numbers), editable by a user manager, with a fix for a legacy one. */
function PhoneCell({ u, setPhone }: UserRowProps) {
  const { t } = useUi();
  const session = useSession();
  return (
    <td data-testid="user-phone" data-needs-correction={u.phoneNeedsCorrection || undefined}>
      {can(session, "user:manage") ? (
        <input
          key={u.phone ?? ""}
          type="tel"
          maxLength={32}
          aria-label={`${t("users.phone")}: ${u.email}`}
          aria-invalid={u.phoneNeedsCorrection || undefined}
          aria-describedby={u.phoneNeedsCorrection ? `phone-fix-${u.id}` : undefined}
          defaultValue={u.phone ?? ""}
          onBlur={(e) => setPhone(u, e.target.value)}
        />
      ) : (
        (u.phone ?? "–")
      )}
      {u.phoneNeedsCorrection && (
        <p className="error" id={`phone-fix-${u.id}`}>
          {t("users.phoneNeedsCorrection")}
        </p>
      )}
      {/* A readable legacy number is normalised only when the administrator saves it. */}
      {u.phoneNeedsCorrection && u.phoneSuggestion && can(session, "user:manage") && (
        <button type="button" onClick={() => setPhone(u, u.phoneSuggestion ?? "")}>
          {t("users.usePhoneSuggestion", { phone: u.phoneSuggestion })}
        </button>
      )}
    </td>
  );
}

/** Active or disabled; a user manager changes anyone's but their own. */
function StatusCell({ u, setStatus }: UserRowProps) {
  const { t } = useUi();
  const session = useSession();
  return (
    <td>
      {can(session, "user:manage") && u.id !== session.me.user.id ? (
        <select
          aria-label={`${t("users.status")}: ${u.email}`}
          value={u.status}
          onChange={(e) => setStatus(u, e.target.value === "disabled" ? "disabled" : "active")}
        >
          <option value="active">{t("enum.userStatus.active")}</option>
          <option value="disabled">{t("enum.userStatus.disabled")}</option>
        </select>
      ) : (
        t(`enum.userStatus.${u.status}`)
      )}
    </td>
  );
}
