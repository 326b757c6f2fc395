import type { Permission } from "@vakt/schemas";
import type { MessageKey } from "../i18n/dict";
// The administration's own texts, which the login page does not carry.
import { can, useSession, useUi } from "../session/context";
import { Link } from "../ui/router";
import { ActivityAdmin } from "./ActivityAdmin";
import { ChannelsAdmin } from "./ChannelsAdmin";
import { DeadLettersAdmin } from "./DeadLettersAdmin";
import { DepartmentsAdmin } from "./DepartmentsAdmin";
import { DeviceMessagesAdmin } from "./DeviceMessagesAdmin";
import { DevicesAdmin } from "./DevicesAdmin";
import { OrganisationAdmin } from "./OrganisationAdmin";
import { RecipientsAdmin } from "./RecipientsAdmin";
import { RetentionAdmin } from "./RetentionAdmin";
import { RoutingAdmin } from "./RoutingAdmin";
import { SsoAdmin } from "./SsoAdmin";
import { TokensAdmin } from "./TokensAdmin";
import { UsersAdmin } from "./UsersAdmin";

/**
 * The sections, each shown to whoever holds `permission`: the permission the API declares for
 * `route`, the route the section is for (sections.test.ts checks them against the OpenAPI document,
 * so the console never hides what the API grants, nor offers what it refuses).
 */
export const sections: {
  key: string;
  route: string;
  label: MessageKey;
  permission: Permission;
  view: () => React.ReactNode;
}[] = [
  {
    key: "departments",
    route: "GET /api/v1/departments",
    label: "admin.departments",
    permission: "department:read",
    view: () => <DepartmentsAdmin />,
  },
  {
    key: "users",
    route: "GET /api/v1/users",
    label: "admin.users",
    permission: "user:read",
    view: () => <UsersAdmin />,
  },
  {
    key: "recipients",
    route: "GET /api/v1/recipients",
    label: "admin.recipients",
    permission: "recipient:read",
    view: () => <RecipientsAdmin />,
  },
  {
    key: "devices",
    route: "GET /api/v1/devices",
    label: "admin.devices",
    permission: "device:read",
    view: () => <DevicesAdmin />,
  },
  {
    key: "routing",
    route: "GET /api/v1/alert-rules",
    label: "admin.routing",
    permission: "routing:manage",
    view: () => <RoutingAdmin />,
  },
  {
    key: "channels",
    route: "GET /api/v1/alert-endpoints",
    label: "admin.channels",
    permission: "routing:manage",
    view: () => <ChannelsAdmin />,
  },
  {
    key: "retention",
    route: "GET /api/v1/privacy/retention",
    label: "admin.retention",
    permission: "organisation:manage",
    view: () => <RetentionAdmin />,
  },
  {
    key: "organisation",
    route: "PATCH /api/v1/organisation",
    label: "admin.organisation",
    permission: "organisation:manage",
    view: () => <OrganisationAdmin />,
  },
  {
    key: "sso",
    route: "GET /api/v1/sso-providers",
    label: "admin.sso",
    permission: "organisation:manage",
    view: () => <SsoAdmin />,
  },
  {
    key: "tokens",
    route: "GET /api/v1/tokens",
    label: "admin.tokens",
    permission: "token:manage",
    view: () => <TokensAdmin />,
  },
  {
    key: "dead-letters",
    route: "GET /api/v1/dead-letters",
    label: "admin.deadLetters",
    permission: "device:manage",
    view: () => <DeadLettersAdmin />,
  },
  {
    key: "device-messages",
    route: "GET /api/v1/device-messages",
    label: "admin.deviceMessages",
    permission: "device:manage",
    view: () => <DeviceMessagesAdmin />,
  },
  {
    key: "activity",
    route: "GET /api/v1/activity",
    label: "admin.activity",
    permission: "activity:read",
    view: () => <ActivityAdmin />,
  },
];

/** Administration: a list of sections the user may use, and the chosen one. */
export function AdminPage(props: { section: string }) {
  const { t } = useUi();
  const session = useSession();
  const mine = sections.filter((s) => can(session, s.permission));
  const current = mine.find((s) => s.key === props.section) ?? mine[0];
  return (
    <main className="page admin">
      <nav aria-label={t("nav.admin")}>
        <ul>
          {mine.map((s) => (
            <li key={s.key}>
              <Link to={`/admin/${s.key}`} current={s === current}>
                {t(s.label)}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <section aria-labelledby="admin-title">
        {current && (
          <>
            <h1 id="admin-title">{t(current.label)}</h1>
            {current.view()}
          </>
        )}
      </section>
    </main>
  );
}
