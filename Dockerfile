# The recommender service. Mount data and models, or let it train from /app/dataset at start-up:
#   docker build -t job-recommender .
#   docker run -p 8000:8000 -v "$PWD/dataset:/app/dataset" -v "$PWD/models:/app/models" \
#       -v "$PWD/events:/app/events" [-e WORKERS=2] [-e RECOMMENDER_ADMIN_API_KEY=...] job-recommender
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OPENBLAS_NUM_THREADS=1 \
    RECOMMENDER_DATA_DIR=/app/dataset \
    RECOMMENDER_MODEL_DIR=/app/models \
    RECOMMENDER_CACHE_DIR=/app/.cache \
    RECOMMENDER_EVENTS_PATH=/app/events/events.sqlite3 \
    PORT=8000 \
    WORKERS=1

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY main.py ./
COPY recommender ./recommender

RUN useradd --create-home --uid 10001 app \
    && mkdir -p /app/dataset /app/models /app/.cache /app/events \
    && chown -R app:app /app/dataset /app/models /app/.cache /app/events
USER app

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=120s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health', timeout=2)"

# several workers share /metrics through prometheus_client's multiprocess directory.
# python main.py is uvicorn with a request-head timeout and a connection cap below the open-file
# limit (recommender/api/server.py): clients stalling half-sent heads cannot starve the others.
CMD ["sh", "-c", "if [ \"$WORKERS\" -gt 1 ]; then export PROMETHEUS_MULTIPROC_DIR=$(mktemp -d); fi; exec python main.py --host 0.0.0.0 --port ${PORT} --workers ${WORKERS}"]
