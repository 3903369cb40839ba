"""``python -m bench.bare_http PORT``: a FastAPI app under uvicorn with one trivial POST route, the baseline the
OpenID Connect endpoints' figures are taken against (the framework's floor: no middleware, no backend)."""
from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/bare")
async def bare(request: Request) -> dict[str, bool]:
    await request.body()
    return {"active": True}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)
