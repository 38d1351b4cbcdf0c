# The chat-bot image (COGCAST_ROLE=bot): Node only; the engine runs in the worker image.
FROM node:20-bookworm-slim
WORKDIR /app
ENV COGCAST_ROLE=bot COGCAST_SKIP_PYTHON=1
# tini as PID 1: signals reach node, and zombies are reaped (compose also sets init: true).
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg tini && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh
COPY . .
# The image's `node` user (uid 1000) runs the app; only var/ (clips, work files) is writable to it.
RUN mkdir -p var/videos var/work && chown -R node:node var
USER node
# Exec form, node itself: SIGTERM from `docker compose stop` reaches the app (npm or npx would swallow it).
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "src/bin/start.ts"]
