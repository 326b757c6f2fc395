# syntax=docker/dockerfile:1
# One image definition for the Vakt services; docker-compose picks the target.
# Node 24 (current LTS line); the code itself supports Node >= 20.19.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY schemas/package.json schemas/
COPY storage/package.json storage/
COPY ingest/package.json ingest/
COPY api/package.json api/
COPY web/package.json web/
COPY devices/package.json devices/
COPY standalone/package.json standalone/
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY . .
RUN npm run build -w @vakt/web

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
# The services need no root: run as the image's unprivileged node user.
USER node

FROM runtime AS ingest
EXPOSE 5055
HEALTHCHECK --interval=15s --timeout=5s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.INGEST_HTTP_PORT||5055)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["npx", "tsx", "ingest/src/main.ts"]

FROM runtime AS api
ENV WEB_DIST_DIR=/app/web/dist
# Signed activity-log checkpoints (a volume in docker-compose), writable by node.
USER root
RUN mkdir -p /var/lib/vakt-checkpoints && chown node:node /var/lib/vakt-checkpoints
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.API_PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["npx", "tsx", "api/src/main.ts"]
