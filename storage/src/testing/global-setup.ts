import { setupTestServer } from "./index";

/** vitest globalSetup: one PostgreSQL per test run, unless TEST_DATABASE_URL is set. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  return setupTestServer();
}
