# syntax=docker/dockerfile:1
# One image for every Logitrack process; the command picks the role:
#   docker run logitrack broker|bridge|worker|api|simulator|migrate|cli …
# Processes run TypeScript through tsx (a production dependency): there is no server build step.

ARG NODE_IMAGE=node:20-bookworm-slim

# Production dependencies only (tsx included), resolved once from the lockfile.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund

# The same checks CI runs (.github/workflows/ci.yml; test/deploy/consistency.test.ts keeps them
# in step), then the web UI bundle into ui/dist.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY . .
RUN npm run typecheck
RUN npm run build --if-present
RUN mkdir -p ui/dist

FROM ${NODE_IMAGE} AS run
ENV NODE_ENV=production \
    DATA_DIR=/data \
    MQTT_PORT=1883 \
    MQTT_WS_PORT=8083 \
    HTTP_PORT=8080
WORKDIR /app
# Code and dependencies belong to root and are read-only for the process user; only /data is its.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json ./
COPY core ./core
COPY broker ./broker
COPY bridge ./bridge
COPY worker ./worker
COPY api ./api
COPY simulator ./simulator
COPY scripts ./scripts
COPY sql ./sql
COPY --from=build /app/ui/dist ./ui/dist
RUN mkdir -p /data && chown node:node /data && chmod 0755 scripts/docker-entrypoint.sh
USER node
VOLUME ["/data"]
EXPOSE 1883 8083 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/app/scripts/docker-entrypoint.sh", "healthcheck"]
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["api"]
