# The nhi-operator image: the operator (ENTRYPOINT) and nhictl (/usr/local/bin/nhictl).
# Build: docker build -t nhi-operator:0.1.0 .
#
# The runtime stage holds only the production install of the packed package, done by
# scripts/install-package.sh (npm ci --omit=dev of the `npm pack` tarball in an empty folder): the
# same step `make check-package` runs and proves on every CI run, since CI has no container engine.
# test/unit/release/dockerfile.test.ts keeps the chart's command, ports and user equal to this file.

# Node.js 24 (LTS "Krypton", maintained until April 2028), pinned to a release tag; bump it with the
# Node.js security releases. Both stages use the same base so the one node binary built and runs it.
ARG NODE_IMAGE=node:24.20.0-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
# prepack cleans dist/ and compiles; files (package.json) keeps tests, e2e and bench out of the tarball.
RUN npm pack --loglevel=error \
 && sh scripts/install-package.sh nhi-operator-*.tgz /app package-lock.json

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the runtime user; the chart also mounts the root filesystem read-only.
COPY --from=build /app /app
RUN ln -s /app/dist/cli/main.js /usr/local/bin/nhictl
# A numeric non-root user (runAsNonRoot can only verify a number): the chart's securityContext.runAsUser.
USER 65532:65532
# 8443: the admission webhook (HTTPS). 8080: /healthz, /readyz, /metrics, /inventory.
EXPOSE 8443 8080
ENTRYPOINT ["node", "/app/dist/operator/main.js"]
