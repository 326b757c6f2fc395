# syntax=docker/dockerfile:1
# One image definition for the Vakt services; docker-compose picks the target.
# Node 24 (current LTS line); the code itself supports Node >= 20.19.
#
# build:     every dependency, then the console (vite) once and the Node services as
#            JavaScript bundles (tools/bundle.mjs: api/dist, ingest/dist).
# prod-deps: production dependencies only (npm ci --omit=dev): no tsx, vitest, typescript,
#            biome, playwright-core, esbuild or vite in the image.
# runtime:   those node_modules, the built output, `node` as the unprivileged node user.

FROM node:24-bookworm-slim AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY schemas/package.json schemas/
COPY storage/package.json storage/
COPY ingest/package.json ingest/
COPY api/package.json api/
COPY web/package.json web/
COPY devices/package.json devices/
COPY standalone/package.json standalone/

FROM manifests AS deps
RUN npm ci --no-audit --no-fund

FROM deps AS build
# Turborepo would otherwise report anonymous usage from the build machine.
ENV TURBO_TELEMETRY_DISABLED=1
COPY . .
RUN npx turbo run build --filter=@vakt/web --filter=@vakt/api --filter=@vakt/ingest

FROM manifests AS prod-deps
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app /app
COPY --from=build /app/api/dist /app/api/dist
COPY --from=build /app/ingest/dist /app/ingest/dist
COPY --from=build /app/web/dist /app/web/dist
# The services need no root: run as the image's unprivileged node user.
USER node

FROM runtime AS ingest
EXPOSE 5055
HEALTHCHECK --interval=15s --timeout=5s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.INGEST_HTTP_PORT||5055)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "ingest/dist/main.js"]

FROM runtime AS api
ENV WEB_DIST_DIR=/app/web/dist
# Signed activity-log checkpoints (a volume in docker-compose), writable by node.
USER root
RUN mkdir -p /var/lib/vakt-checkpoints && chown node:node /var/lib/vakt-checkpoints
USER node
EXPOSE 3000
# /api/healthz, not /healthz: with the console served, every other path answers its index page.
HEALTHCHECK --interval=15s --timeout=5s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.API_PORT||3000)+'/api/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "api/dist/main.js"]
