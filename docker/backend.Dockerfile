# syntax=docker/dockerfile:1
# FastAPI backend of the AI Todo Chatbot. Build context: the backend directory of the app
# checkout (it holds requirements.txt and the `app` package), e.g.
#   docker build -f docker/backend.Dockerfile -t todo-chatbot-backend:1.0.0 ../app/backend
# No secret is needed or accepted at build time: the pods get them from a Kubernetes Secret.

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: turn requirements.txt into wheels (the only stage that may compile) ---------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels -r requirements.txt

# --- venv: install the wheels only, offline, into a relocatable virtualenv ---------------
FROM ${PYTHON_IMAGE} AS venv
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=builder /wheels /wheels
COPY --from=builder /build/requirements.txt /wheels/requirements.txt
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-index --find-links=/wheels -r /wheels/requirements.txt

# --- runtime: the venv, the code (owned by root, read-only to the app user), UID 1001 -----
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    APP_MODULE=app.main:app \
    PORT=8000
RUN groupadd --system --gid 1001 app \
    && useradd --system --uid 1001 --gid 1001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin app
COPY --from=venv /opt/venv /opt/venv
WORKDIR /app
COPY . .
USER 1001:1001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=2)"]
# APP_MODULE selects the ASGI app (default app.main:app); exec keeps uvicorn as PID 1 so it
# receives SIGTERM and drains connections.
CMD ["sh", "-c", "exec uvicorn \"$APP_MODULE\" --host 0.0.0.0 --port \"$PORT\" --proxy-headers --no-server-header"]
