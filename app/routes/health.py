from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """For load balancers and container health checks: is the database answering?"""
    modules = len(request.app.state.catalogue.modules)
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        reason = type(error.orig or error).__name__ if hasattr(error, "orig") else type(error).__name__
        return JSONResponse({"status": "error", "database": f"unavailable: {reason}", "modules": modules},
                            status_code=503, headers={"Cache-Control": "no-store"})
    return JSONResponse({"status": "ok", "database": "ok", "modules": modules},
                        headers={"Cache-Control": "no-store"})
