/**
 * The console's one data layer for server state: TanStack Query. Screens read through `useQuery`
 * with keys from `queryKeys`, change through `useMutation` and invalidate what they changed; live
 * events (api/live.ts) update or invalidate the same keys, so no screen merges by hand.
 */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { type ReactNode, useState } from "react";
import { ApiProblem } from "./client";

/** A refusal or a missing thing will not change on a retry; a dropped connection may. */
function retryable(failures: number, error: unknown): boolean {
  if (error instanceof ApiProblem && error.status >= 400 && error.status < 500) return false;
  return failures < 2;
}

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: retryable,
        // Live events keep what is on screen current; a refetch on focus catches up after sleep.
        staleTime: 30_000,
        refetchOnWindowFocus: true,
      },
      mutations: { retry: false },
    },
  });
}

/** One client per logged-in session: logging out unmounts it, so nothing cached outlives the session. */
export function QueryProvider(props: { children: ReactNode }) {
  const [client] = useState(makeQueryClient);
  return <QueryClientProvider client={client}>{props.children}</QueryClientProvider>;
}

/** Query keys of the screens on TanStack Query; a change invalidates the key of what it changed. */
export const queryKeys = {
  departments: ["departments"] as const,
  tokens: ["tokens"] as const,
  organisation: ["organisation"] as const,
  ownSessions: ["auth", "sessions"] as const,
  me: ["auth", "me"] as const,
  // The administration screens (admin/queries.ts).
  alertRules: ["alert-rules"] as const,
  alertEndpoints: ["alert-endpoints"] as const,
  alertTargets: (departmentId: string) => ["alert-targets", departmentId] as const,
  users: ["users"] as const,
  recipients: ["recipients"] as const,
  devices: ["devices"] as const,
  activity: (query: object) => ["activity", query] as const,
  deadLetters: (query: object) => ["dead-letters", query] as const,
  deviceMessages: (query: object) => ["device-messages", query] as const,
  retention: ["privacy", "retention"] as const,
  retentionRuns: ["privacy", "retention", "runs"] as const,
  restrictions: ["privacy", "restrictions"] as const,
  loginSettings: ["organisation", "login-settings"] as const,
  ssoProviders: ["sso-providers"] as const,
};
