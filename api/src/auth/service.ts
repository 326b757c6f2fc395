/**
 * Login, second factor, sessions, invitations and password resets: what the auth routes call,
 * gathered from the files that each hold one of them.
 */
export * from "./invitations";
export * from "./lockout";
export * from "./login";
export * from "./second-factor";
export * from "./sessions";
