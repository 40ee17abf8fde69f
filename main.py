"""``uvicorn main:app`` serves the recommender, as the original service did; ``python main.py``
serves it with the protections of :mod:`recommender.api.server` (what ``make run`` and the Docker
image run)."""

import argparse

from recommender.api import create_app

if __name__ == "__main__":  # uvicorn imports this module again as `main` for the app
    from recommender.api.server import serve

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    serve(args.host, args.port, args.workers)
else:
    app = create_app()
