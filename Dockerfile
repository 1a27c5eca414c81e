# syntax=docker/dockerfile:1
# One image for both components: `node /app/dist/src/cli/main.js controller|speaker`.
# scripts/image-rootfs.sh reproduces the runtime stage's install steps without a container
# engine; keep the two in step.

ARG NODE_VERSION=20

# ---- build: dev dependencies, the native addon (node-gyp) and the TypeScript output ----
FROM node:${NODE_VERSION}-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp uses the headers shipped with this Node instead of downloading them.
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:native && npm run build:ts

# ---- deps: production dependencies only (all pure JavaScript: no compiler needed) ----
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- runtime ----
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /src/dist/src ./dist/src
# `validate` checks objects against the CRDs; it finds them at <package root>/charts/....
COPY --from=build /src/charts/metallb-ts/files/crds ./charts/metallb-ts/files/crds
# src/native finds the addon at <package root>/native/build/Release/metallb_native.node.
COPY --from=build /src/native/build/Release/metallb_native.node ./native/build/Release/metallb_native.node
# Unprivileged by default (the controller). The chart runs the speaker container as uid 0
# with every capability dropped except NET_RAW; numeric so runAsNonRoot can be verified.
USER 65534:65534
ENTRYPOINT ["node", "/app/dist/src/cli/main.js"]
CMD ["--help"]
