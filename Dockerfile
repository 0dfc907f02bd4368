# syntax=docker/dockerfile:1
#
# chanmesh runs its TypeScript sources through tsx (a production dependency),
# so there is no compiled output: the "build" stage is the full install plus
# the type check, and the runtime image carries the checked sources and the
# production dependencies only.
#
#   docker build -t chanmesh:local .
#   docker run --rm -it --network host chanmesh:local node --join '#lobby'
#
# Configuration: every flag of `chanmesh node` also reads CHANMESH_<FLAG>
# (CHANMESH_ID, CHANMESH_JOIN, CHANMESH_CHATTER, ...), see docs/deploy.md.

ARG NODE_IMAGE=node:20-slim

# ---- production dependencies only -------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
# vendor/ holds a local stand-in package the lockfile points at (package.json).
COPY package.json package-lock.json ./
COPY vendor ./vendor
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- build: every dependency, then the type check ---------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY vendor ./vendor
RUN npm ci --no-audit --no-fund
COPY . .
# The type check is the build. Afterwards keep only what runs: the runtime
# stage copies /app from here, which also makes BuildKit run this stage.
RUN npx tsc -p . --noEmit \
 && rm -rf node_modules test bench .ci

# ---- runtime ------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    CHANMESH_PORT=50000
WORKDIR /app
COPY --from=build /app ./
COPY --from=deps /app/node_modules ./node_modules
# `chanmesh` on PATH, for the entrypoint, the health check and
# `docker compose exec <svc> chanmesh ...`.
RUN chmod 0755 bin/chanmesh.js && ln -s /app/bin/chanmesh.js /usr/local/bin/chanmesh
# The official image's unprivileged user (uid 1000); sources stay root-owned.
USER node
# TCP: hosted channels (CHANMESH_PORT) and Prometheus metrics (the CMD's
# --metrics). UDP: the PeerPDU multicast group.
EXPOSE 50000/tcp 9464/tcp 47777/udp
# Healthy = the node's TCP port accepts a connection and, where the node
# serves metrics on 9464 (the CMD does), it answers GET /metrics: the
# kernel completes connections for a stopped process too, only the answer
# shows its event loop runs. Each probe starts Node and tsx (about 0.3 s of
# CPU), hence 30 s between probes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["chanmesh", "health"]
ENTRYPOINT ["chanmesh"]
# Metrics on, at the port the health check asks, so the check finds a frozen
# node by default. The container's network is what 0.0.0.0 opens them to
# (a scraper on the compose network, or a published port). A flag, not
# CHANMESH_METRICS: a second node started by `exec` inherits the environment
# and must not take the port.
CMD ["node", "--metrics", "0.0.0.0:9464"]
