/** Test helpers other packages use (the web console's end-to-end test): `@vakt/api/testing`. */
export {
  startTestIdentityProvider,
  type TestAccount,
  type TestIdentityProvider,
} from "./identity-provider";
