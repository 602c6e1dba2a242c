# Nabij: a slim image that migrates the database and then serves. Configure with NABIJ_* variables.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
# Dependencies only: the code runs from /app, beside its templates, migrations and modules.
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install . && /opt/venv/bin/pip uninstall -y nabij \
 && printf '#!/bin/sh\nexec python -m app.cli "$@"\n' > /opt/venv/bin/nabij && chmod 755 /opt/venv/bin/nabij

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    NABIJ_ENV=production NABIJ_VAR_DIR=/data NABIJ_MODULES_DIR=/app/modules
RUN useradd --create-home --uid 10001 nabij && mkdir -p /data && chown nabij /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY app ./app
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY modules ./modules
USER nabij
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["sh", "-c", "nabij migrate && exec nabij serve --host 0.0.0.0 --port 8000 --workers ${NABIJ_WORKERS:-2}"]
