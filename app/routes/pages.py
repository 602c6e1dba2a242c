from fastapi import Request

from app.auth import OptionalUser
from app.db import ReadSession
from app.deps import CatalogueDep
from app.i18n import current_locale
from app.i18n import gettext as _
from app.routing import Router
from app.services.dashboard import lecturer_classes, safeguarding_reveals
from app.services.student_home import student_home
from app.services.todo import lecturer_todo, student_todo
from app.templating import notice_text, render

router = Router()

HOME_NOTICES = {
    "joined": lambda: _("You joined the class. Its assignments are below."),
    "confirmation-sent": lambda: _("We sent you a new link to confirm your email address."),
}


@router.get("/modules")
def read_catalogue(request: Request, catalogue: CatalogueDep):
    return render(request, "pages/catalogue.html", {"modules": catalogue.published()})


@router.get("/")
def read_home(request: Request, session: ReadSession, catalogue: CatalogueDep, user: OptionalUser):
    if user is None:
        return render(request, "pages/home.html", {"modules": catalogue.published()[:3]})
    notice = notice_text(HOME_NOTICES, request.query_params.get("notice"))
    if user.role == "student":
        home = student_home(session, user=user, catalogue=catalogue)
        return render(
            request,
            "pages/dashboard.html",
            {
                "home": home,
                "notice": notice,
                "todo": student_todo(home),
                "reveals": safeguarding_reveals(session, user=user, catalogue=catalogue),
            },
            private=True,
        )
    return render(
        request,
        "pages/lecturer_home.html",
        {
            "classes": lecturer_classes(session, user=user),
            "notice": notice,
            "todo": lecturer_todo(session, user=user, catalogue=catalogue),
        },
        private=True,
    )


@router.get("/toegankelijkheid")
def read_accessibility_statement(request: Request):
    return render(request, f"pages/accessibility_{current_locale.get()}.html")
