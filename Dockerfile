# The recommender service. Mount data and models, or let it train from /app/dataset at start-up:
#   docker build -t job-recommender .
#   docker run -p 8000:8000 -v "$PWD/dataset:/app/dataset" -v "$PWD/models:/app/models" job-recommender
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    OPENBLAS_NUM_THREADS=1 \
    RECOMMENDER_DATA_DIR=/app/dataset \
    RECOMMENDER_MODEL_DIR=/app/models \
    PORT=8000

WORKDIR /app

# Dependencies first, so code changes do not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY main.py ./
COPY recommender ./recommender

RUN useradd --create-home --uid 10001 app \
    && mkdir -p /app/dataset /app/models \
    && chown -R app:app /app/dataset /app/models
USER app

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=120s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/health', timeout=2)"

CMD ["sh", "-c", "exec uvicorn main:app --host 0.0.0.0 --port ${PORT} --no-access-log"]
