/**
 * The administration screens' reads, on TanStack Query with the keys of api/query.tsx, so two
 * screens reading the same list share one request and a change invalidates it for both.
 */
import { useQuery } from "@tanstack/react-query";
import {
  alertEndpoint,
  alertRule,
  alertTargets,
  department,
  device,
  loginSettings,
  recipient,
  ssoProvider,
  staffUser,
} from "@vakt/schemas";
import { z } from "zod";
import { ApiProblem } from "../api/client";
import { queryKeys } from "../api/query";
import { api, data } from "../api/typed";

/** A failure in the console's words (ApiProblem's message is already the dictionary's). */
export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The API answered 404 for the whole resource: that part of the API is not there (yet). */
export const routeMissing = (e: unknown) =>
  e instanceof ApiProblem && e.status === 404 && e.detail.startsWith("No route");

export const useDepartments = () =>
  useQuery({
    queryKey: queryKeys.departments,
    queryFn: () => data(api.GET("/api/v1/departments"), z.array(department)),
  });

export const useAlertEndpoints = () =>
  useQuery({
    queryKey: queryKeys.alertEndpoints,
    queryFn: () => data(api.GET("/api/v1/alert-endpoints"), z.array(alertEndpoint)),
  });

export const useAlertRules = () =>
  useQuery({
    queryKey: queryKeys.alertRules,
    queryFn: () => data(api.GET("/api/v1/alert-rules"), z.array(alertRule)),
  });

export const useStaffUsers = () =>
  useQuery({
    queryKey: queryKeys.users,
    queryFn: () => data(api.GET("/api/v1/users"), z.array(staffUser)),
  });

export const useRecipients = () =>
  useQuery({
    queryKey: queryKeys.recipients,
    queryFn: () => data(api.GET("/api/v1/recipients"), z.array(recipient)),
  });

export const useDevices = () =>
  useQuery({
    queryKey: queryKeys.devices,
    queryFn: () => data(api.GET("/api/v1/devices"), z.array(device)),
  });

export const useSsoProviders = () =>
  useQuery({
    queryKey: queryKeys.ssoProviders,
    queryFn: () => data(api.GET("/api/v1/sso-providers"), z.array(ssoProvider)),
  });

export const useLoginSettings = () =>
  useQuery({
    queryKey: queryKeys.loginSettings,
    queryFn: () => data(api.GET("/api/v1/organisation/login-settings"), loginSettings),
  });

/**
 * Whom a rule of the department may alert, as the API's policy decides: roles and people who can
 * see and take its alarms (an alert to someone who cannot act wakes the wrong person).
 */
export const useAlertTargets = (departmentId: string) =>
  useQuery({
    queryKey: queryKeys.alertTargets(departmentId),
    queryFn: () =>
      data(api.GET("/api/v1/alert-targets", { params: { query: { departmentId } } }), alertTargets),
    enabled: departmentId !== "",
  });
