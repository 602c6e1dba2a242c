from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.routing import Router
from app.storage import write_problem

router = Router(tags=["operations"])


@router.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """For load balancers and container health checks: does the database answer, and take writes?

    The write probe adds and removes one row in one transaction: a full disk or a read-only
    database shows here (`"database": "not writable"`, 503), not first in a student's autosave.
    """
    modules = len(request.app.state.catalogue.modules)
    headers = {"Cache-Control": "no-store"}
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        reason = type(error.orig or error).__name__ if hasattr(error, "orig") else type(error).__name__
        return JSONResponse(
            {"status": "error", "database": f"unavailable: {reason}", "modules": modules},
            status_code=503,
            headers=headers,
        )
    problem = write_problem(request.app.state.engine)
    if problem is not None:
        return JSONResponse(
            {"status": "error", "database": "not writable", "reason": problem, "modules": modules},
            status_code=503,
            headers=headers,
        )
    return JSONResponse({"status": "ok", "database": "ok", "modules": modules}, headers=headers)
