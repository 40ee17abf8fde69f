"""The HTTP benchmarks' reference: FastAPI and uvicorn with no recommender behind them.

``POST /async/`` answers 10 jobs pre-serialised with orjson from an ``async def``; ``POST /def/``
answers the same 10 jobs from a plain ``def`` through a pydantic response model. Both take the
single-user body, so the difference to the service is the recommendation work and the routing.
Served with ``uvicorn bench.bare_app:app``.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.responses import Response
from pydantic import BaseModel

JOBS = [{"job_id": 1000 + k, "score": round(0.9 - k / 50, 6)} for k in range(10)]
ANSWER = orjson.dumps({"user_id": 100007, "jobs": JOBS, "source": "als"})


class Ask(BaseModel):
    user_id: int
    n: int = 10


class Job(BaseModel):
    job_id: int
    score: float


class Answer(BaseModel):
    user_id: int
    jobs: list[Job]
    source: str


app = FastAPI()


@app.post("/async/")
async def constant(body: Ask) -> Response:
    return Response(ANSWER, media_type="application/json")


@app.post("/def/", response_model=Answer)
def modelled(body: Ask) -> dict[str, Any]:
    return {"user_id": body.user_id, "jobs": JOBS, "source": "als"}


@app.get("/health")
async def health() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")
