from fastapi import APIRouter, Request

from app.auth import OptionalUser
from app.i18n import current_locale
from app.db import SessionDep
from app.deps import CatalogueDep
from app.services.dashboard import lecturer_classes
from app.services.student_home import student_home
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
        return render(request, "pages/dashboard.html", {"home": student_home(session, user=user, catalogue=catalogue)},
                      private=True)
    return render(request, "pages/lecturer_home.html", {"classes": lecturer_classes(session, user=user)},
                  private=True)


@router.get("/toegankelijkheid")
def read_accessibility_statement(request: Request):
    return render(request, f"pages/accessibility_{current_locale.get()}.html")
