/**
 * The administration screens' reads, on TanStack Query with the keys of api/query.tsx, so two
 * screens reading the same list share one request and a change invalidates it for both.
 */
import { useQuery } from "@tanstack/react-query";
import { alertEndpoint, alertRule, department, recipient, staffUser } from "@vakt/schemas";
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
