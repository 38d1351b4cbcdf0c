# The chat-bot image (COGCAST_ROLE=bot): Node only; the engine runs in the worker image.
FROM node:20-bookworm-slim
WORKDIR /app
ENV COGCAST_ROLE=bot COGCAST_SKIP_PYTHON=1
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY scripts/setup.sh scripts/setup.sh
RUN bash scripts/setup.sh
COPY . .
CMD ["npx", "tsx", "src/main.ts"]
