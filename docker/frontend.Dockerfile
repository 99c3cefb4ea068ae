# syntax=docker/dockerfile:1
# Next.js frontend of the AI Todo Chatbot. Build context: the frontend directory of the app
# checkout; next.config must set `output: "standalone"`. For example:
#   docker build -f docker/frontend.Dockerfile -t todo-chatbot-frontend:1.0.0 ../app/frontend
# No secret is needed or accepted at build time: the pods get them from a Kubernetes Secret.

ARG NODE_IMAGE=node:20-alpine

# --- deps: install node_modules from the lockfile ------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json* yarn.lock* pnpm-lock.yaml* ./
RUN if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
    elif [ -f yarn.lock ]; then corepack enable && yarn install --frozen-lockfile; \
    elif [ -f pnpm-lock.yaml ]; then corepack enable && pnpm install --frozen-lockfile; \
    else echo "no lockfile (package-lock.json, yarn.lock or pnpm-lock.yaml) found" >&2 && exit 1; \
    fi

# --- build: next build, standalone output ----------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1
COPY --from=deps /app/node_modules ./node_modules
COPY . .
RUN npm run build \
    && if [ ! -f .next/standalone/server.js ]; then \
         echo "next build produced no .next/standalone/server.js: set output: 'standalone' in next.config" >&2; \
         exit 1; \
       fi \
    && mkdir -p public

# --- runtime: the standalone server only, UID 1001 -------------------------------------------
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    NEXT_TELEMETRY_DISABLED=1 \
    HOSTNAME=0.0.0.0 \
    PORT=3000
RUN addgroup -S -g 1001 nodejs \
    && adduser -S -D -H -u 1001 -G nodejs nextjs \
    && mkdir -p /app/.next/cache \
    && chown 1001:1001 /app/.next/cache
COPY --from=build /app/public ./public
COPY --from=build /app/.next/standalone ./
COPY --from=build /app/.next/static ./.next/static
USER 1001:1001
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/api/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "server.js"]
