FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MPBRAZE_LOCAL_DIR=/tmp/mpbraze STATIC_ROOT=/app/static
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY mpbraze ./mpbraze
COPY connections ./connections
COPY mapping ./mapping
COPY templates ./templates
COPY manage.py ./
RUN pip install --no-cache-dir -c constraints.txt -e . \
    && useradd --system --home /app mpbraze && mkdir -p /tmp/mpbraze/metrics \
    && chown -R mpbraze /tmp/mpbraze
USER mpbraze
EXPOSE 8000
