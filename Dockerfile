# The production image: the package as `pip install .` builds it (no fake Braze, demo or
# mParticle SDK: pyproject.toml), its dependencies pinned by constraints.txt, static files
# collected at build time, run as an unprivileged user.
FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY mpbraze ./mpbraze
# mpbraze/templates links to the top-level templates/ (the design's layout); the wheel copies it.
COPY templates ./templates
COPY connections ./connections
COPY mapping ./mapping
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=mpbraze.settings \
    MPBRAZE_LOCAL_DIR=/tmp/mpbraze STATIC_ROOT=/app/static
WORKDIR /app
COPY constraints.txt /tmp/constraints.txt
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-cache-dir -c /tmp/constraints.txt /tmp/wheels/*.whl \
    && rm -rf /tmp/wheels /tmp/constraints.txt
# No secret exists at build time: this one step runs on throwaway development settings, whose
# generated secrets and local folder go with it. Hashed, compressed copies and the manifest
# land in STATIC_ROOT, read-only for the user below.
RUN MPBRAZE_LOCAL_DIR=/tmp/build DEBUG=1 django-admin collectstatic --noinput --verbosity 0 \
    && rm -rf /tmp/build
# /app holds no source: manage.py (for the compose commands), the gunicorn config, static files.
COPY manage.py ./
COPY deploy ./deploy
# Named volumes mounted on these folders take their owner from the image.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin mpbraze \
    && mkdir -p /tmp/mpbraze/metrics /tmp/mpbraze/beat && chown -R mpbraze /tmp/mpbraze
USER 10001:10001
EXPOSE 8000
# The web process (the default command); docker-compose.yml gives worker and beat their own.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "manage.py", "healthcheck", "web", "--url", "http://127.0.0.1:8000/healthz"]
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "mpbraze.wsgi:application"]
