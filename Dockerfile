# The engine as a container: `npm start` runs dist/, compiled here once from src/ and the committed gen/, and serves
# the billing portal page built here too, so `npm start` (which runs as user node) finds both current and builds nothing.
FROM node:20-bookworm-slim

WORKDIR /app
ENV NODE_ENV=production

# Dependencies first, so a code change does not reinstall them. Runtime needs no devDependencies (buf, vitest, tsc).
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY tsconfig.json ./
COPY proto ./proto
COPY gen ./gen
COPY src ./src
COPY portal/src ./portal/src
COPY portal/tsconfig.json ./portal/
COPY scripts/build.mjs scripts/start.mjs scripts/build-portal.mjs ./scripts/
COPY bin ./bin
# Compiled at image build: `npm start` finds dist/ and portal/dist/ current and never writes to /app at run time.
RUN node scripts/build.mjs && node scripts/build-portal.mjs

# Without DATABASE_URL the engine keeps an embedded Postgres here; mount a volume on it to keep the data.
RUN mkdir -p /app/.tollbooth/data && chown -R node:node /app/.tollbooth
USER node

ENV HOST=0.0.0.0 \
    GRPC_PORT=50051 \
    HTTP_PORT=8080 \
    TOLLBOOTH_DATA_DIR=/app/.tollbooth/data
EXPOSE 50051 8080

# SIGTERM drains in-flight calls, then exits 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

CMD ["npm", "start"]
