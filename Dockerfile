# The service image carries the compiled service and its production dependencies only; the
# `tools` image adds the fake Tencent and the simulator for `docker compose --profile demo`.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM build AS production-dependencies
RUN npm prune --omit=dev

FROM node:24-bookworm-slim AS service
ENV NODE_ENV=production
# The heap the service runs in (live data is ~65 MB with 100k mappings held) and a young
# generation sized for its request load; see the README.
ENV NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=8"
WORKDIR /app
COPY --from=production-dependencies /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/migrations ./dist/migrations
COPY package.json ./
USER node
EXPOSE 3000
HEALTHCHECK --interval=5s --timeout=2s --retries=12 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:3000/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# V8 flags are refused in NODE_OPTIONS; why this one, see the README (Benchmarks).
CMD ["node", "--no-allocation-site-pretenuring", "dist/src/main.js"]

FROM build AS tools
USER node
CMD ["node", "dist/tools/dev/fake-tencent-main.js"]
