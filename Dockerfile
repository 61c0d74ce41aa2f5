# One image for both production roles: `sophon api` and `sophon worker`, as compiled JavaScript.

# Build: `npm ci` installs everything and builds dist/ (the `prepare` script: tsc, and the
# workflow bundle the worker loads); then the dev dependencies go.
FROM node:20-bookworm-slim AS build
WORKDIR /opt/sophon
COPY . .
RUN --mount=type=cache,target=/root/.npm npm ci --no-audit --no-fund && npm prune --omit=dev --no-audit --no-fund

# Run: the build, its production dependencies and the bundled service definitions; no sources.
FROM node:20-bookworm-slim
WORKDIR /opt/sophon
ENV NODE_ENV=production
COPY --from=build /opt/sophon/package.json ./
COPY --from=build /opt/sophon/node_modules node_modules
COPY --from=build /opt/sophon/dist dist
COPY bin bin
COPY service-defs service-defs
ENTRYPOINT ["node", "bin/sophon.js"]
CMD ["api"]
