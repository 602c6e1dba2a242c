from fastapi import APIRouter, Request

from app.auth import OptionalUser
from app.db import SessionDep
from app.deps import CatalogueDep
from app.services.dashboard import lecturer_classes, student_assignments
from app.templating import render

router = APIRouter()


@router.get("/modules")
def read_catalogue(request: Request, catalogue: CatalogueDep):
    return render(request, "pages/catalogue.html", {"modules": catalogue.published()})


@router.get("/")
def read_home(request: Request, session: SessionDep, catalogue: CatalogueDep, user: OptionalUser):
    if user is None:
        return render(request, "pages/home.html", {"modules": catalogue.published()[:3]})
    if user.role == "student":
        assigned = student_assignments(session, user=user, catalogue=catalogue)
        assigned_slugs = {a.module.slug for a in assigned}
        others = [m for m in catalogue.published() if m.slug not in assigned_slugs]
        return render(request, "pages/dashboard.html", {"assigned": assigned, "others": others}, private=True)
    return render(request, "pages/lecturer_home.html", {"classes": lecturer_classes(session, user=user)},
                  private=True)
