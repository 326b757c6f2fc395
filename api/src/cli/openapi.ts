/** Writes api/openapi/ (the OpenAPI document and its TypeScript types): `npm run openapi -w @vakt/api`. */
import { mkdir, writeFile } from "node:fs/promises";
import { ARTIFACTS_DIR, DOCUMENT_FILE, openApiArtifacts, TYPES_FILE } from "../openapi-artifacts";

const { document, types } = await openApiArtifacts();
await mkdir(ARTIFACTS_DIR, { recursive: true });
await writeFile(DOCUMENT_FILE, document);
await writeFile(TYPES_FILE, types);
console.log(`wrote ${DOCUMENT_FILE} and ${TYPES_FILE}`);
