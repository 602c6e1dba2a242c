"""The one Jinja environment, its filters, and the helper every route renders with."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import date, datetime

from babel.dates import format_datetime, format_time
from babel.numbers import format_decimal, format_percent
from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.utils import concat
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse

from app import PROJECT_ROOT, i18n
from app.content.markdown import WORD_PATTERN_FOR_BROWSERS
from app.i18n import gettext as _
from app.models import SCHOOL_ZONE
from app.services.classes import format_join_code
from app.services.paging import page_url
from app.static_assets import StaticAssets


def page_context(request: Request) -> dict:
    """What every page needs: who is logged in, their CSRF token, a one-off message."""
    state = request.state
    user = getattr(state, "user", None)
    return {
        "current_user": user,
        "csrf_token": getattr(state, "csrf_token", ""),
        "flash": getattr(state, "flash", None),
        # The namespace of this account's drafts in the browser (static/nabij.js), never a user id.
        "draft_owner": _draft_owner(request, user),
    }


def _draft_owner(request: Request, user) -> str:
    from app.services.sessions import draft_owner

    secret = getattr(request.app.state, "secret", None)
    return draft_owner(secret, user_id=user.id) if user is not None and secret else ""


def _constant_gettext(node: nodes.Call) -> str | None:
    """The message of a `_("…")` call with a literal message (keyword arguments allowed), else None."""
    called = node.node
    if not (isinstance(called, nodes.Name) and called.name in ("_", "gettext") and called.ctx == "load"):
        return None
    if len(node.args) != 1 or node.dyn_args is not None or node.dyn_kwargs is not None:
        return None
    message = node.args[0]
    return message.value if isinstance(message, nodes.Const) and isinstance(message.value, str) else None


class _TranslatingCodeGenerator(CodeGenerator):
    """Compiles `_("literal")` to a lookup of its translation, made once per language, instead of the
    i18n extension's call chain on every render (about 12 µs each; a review page has ~400 of them).
    The result is the same: the translation as Markup (autoescape) formatted with `%` and the keyword
    arguments, escaped. Messages built at render time still go through gettext."""

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        message = _constant_gettext(node)
        if message is None or frame.eval_ctx.volatile or forward_caller:
            super().visit_Call(node, frame, forward_caller=forward_caller)
            return
        autoescape = bool(frame.eval_ctx.autoescape)
        if not node.kwargs:
            self.write(f"environment.translated({message!r}, {autoescape!r})")
            return
        self.write(f"(environment.translation({message!r}, {autoescape!r}) % {{")
        for keyword in node.kwargs:
            self.write(f"{keyword.key!r}: ")
            self.visit(keyword.value, frame)
            self.write(", ")
        self.write("})")


class _Environment(Environment):
    code_generator_class = _TranslatingCodeGenerator

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self._translations: dict[tuple, str] = {}

    def translation(self, message: str, autoescape: bool) -> str:
        """The message in the current language, as the i18n extension's newstyle gettext gives it
        before formatting: Markup under autoescape."""
        key = (i18n.current_locale.get(), message, autoescape)
        found = self._translations.get(key)
        if found is None:
            text = i18n.gettext(message)
            found = self._translations[key] = Markup(text) if autoescape else text
        return found

    def translated(self, message: str, autoescape: bool) -> str:
        """The same, formatted without arguments (so "%%" is "%"), as newstyle gettext always formats."""
        key = (i18n.current_locale.get(), message, autoescape, "%")
        found = self._translations.get(key)
        if found is None:
            found = self._translations[key] = self.translation(message, autoescape) % {}
        return found


environment = _Environment(
    loader=FileSystemLoader(PROJECT_ROOT / "templates"),
    extensions=["jinja2.ext.i18n"],
    autoescape=True,
    auto_reload=False,  # templates are read once; `nabij serve --reload` restarts on change
    trim_blocks=True,
    lstrip_blocks=True,
)
# Added to the environment by the jinja2.ext.i18n extension; Environment's type does not declare it.
environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
templates = Jinja2Templates(env=environment, context_processors=[page_context])


# Students see times as on their own clock (see app.models.SCHOOL_ZONE).
LOCAL_TIME = SCHOOL_ZONE


def _locale():
    return i18n.babel_locale(i18n.current_locale.get())


def _date(value: date | datetime | None, style: str = "long") -> str:
    return i18n.format_day(value, style)


def _datetime(value: datetime | None, style: str = "medium") -> str:
    return format_datetime(value, style, tzinfo=LOCAL_TIME, locale=_locale()) if value else ""


def _time(value: datetime | None) -> str:
    return format_time(value, "HH:mm", tzinfo=LOCAL_TIME, locale=_locale()) if value else ""


@pass_context
def _csrf_field(context) -> Markup:
    token = context.get("csrf_token", "")
    # A review page has three forms per answer card: built once per response, not 75 times. Kept on
    # the request, not in a process-wide cache, so no token outlives the response that shows it.
    state = getattr(context.get("request"), "state", None)
    made = getattr(state, "csrf_field", None)
    if made is None or made[0] != token:
        made = (token, Markup('<input type="hidden" name="csrf_token" value="%s">') % escape(token))
        if state is not None:
            state.csrf_field = made
    return made[1]


@pass_context
def _memo_partial(context, memo: dict, name: str, key: Hashable, **values) -> Markup:
    """The partial `name` with `values`, rendered once per distinct `key` in `memo` (a dict the calling
    template makes for one response). `key` must cover everything the partial shows of `values`."""
    found = memo.get(key)
    if found is None:
        template = context.environment.get_template(name)
        # As {% include %} renders: the caller's variables (globals among them) shared, not copied again.
        partial_context = template.new_context(context.get_all() | values, shared=True)
        found = memo[key] = Markup(concat(template.root_render_func(partial_context)))
    return found


@pass_context
def _privacy_guard_rules(context, module=None) -> Markup:
    """The privacy guard's rules, and the module's own names, as JSON for static/privacy-guard.js
    (app/services/privacy_guard.py): once per response however many reflection forms it has (one module
    per page); data, not code, so the CSP allows it."""
    import json

    from app.services.privacy_guard import module_words, rules_json

    state = getattr(context.get("request"), "state", None)
    if state is not None:
        if getattr(state, "privacy_guard_rules_sent", False):
            return Markup("")
        state.privacy_guard_rules_sent = True
    known = json.dumps(module_words(module.path) if module is not None else [], ensure_ascii=False)
    return Markup(
        f'<script type="application/json" class="privacy-guard-rules">{_script_json(rules_json())}</script>'
        f'<script type="application/json" class="privacy-guard-known">{_script_json(known)}</script>'
    )


def _script_json(data: str) -> str:
    # Inside <script>, "</script>" or "<!--" in a string would end or change the element.
    return data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def level_label(level: str) -> str:
    return {
        "beschrijvend": _("descriptive"),
        "beschrijvend-reflectief": _("descriptive reflection"),
        "dialogisch": _("dialogic reflection"),
        "kritisch": _("critical reflection"),
    }.get(level, level)


def role_label(role: str) -> str:
    return {"student": _("student"), "lecturer": _("lecturer"), "admin": _("administrator")}.get(role, role)


_static_assets: StaticAssets | None = None


def use_static_assets(assets: StaticAssets) -> None:
    global _static_assets
    _static_assets = assets


def static_url(path: str) -> str:
    """The file's URL with its content hash in the name (app/static_assets.py)."""
    # A plain path: Starlette's url_for builds an absolute URL from the request on every call.
    return _static_assets.url(path) if _static_assets is not None else f"/static/{path}"


templates.env.globals.update(
    static_url=static_url,
    page_url=page_url,
    role_label=role_label,
    join_code=format_join_code,
    locale=lambda: i18n.current_locale.get(),
    csrf_field=_csrf_field,
    memo_partial=_memo_partial,
    level_label=level_label,
    privacy_guard_rules=_privacy_guard_rules,
    word_pattern=WORD_PATTERN_FOR_BROWSERS,
)
templates.env.filters.update(
    date=_date,
    datetime=_datetime,
    time=_time,
    number=lambda value: format_decimal(value, locale=_locale()),
    percent=lambda value: format_percent(value, locale=_locale()),
)


def notice_text(notices: dict, key: str | None) -> str | None:
    """A one-off message named by a `?notice=` key after a redirect; unknown keys show nothing."""
    message = notices.get(key or "")
    return message() if message else None


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def render(
    request: Request,
    name: str,
    context: dict | None = None,
    *,
    fragment: str | None = None,
    status_code: int = 200,
    private: bool = False,
) -> HTMLResponse:
    """A full page, or only `fragment` for an htmx request; `private` pages are never cached."""
    template = fragment if fragment and is_htmx(request) else name
    response = templates.TemplateResponse(request, template, context or {}, status_code=status_code)
    response.headers["Vary"] = "HX-Request, Cookie, Accept-Language"
    if private:
        response.headers["Cache-Control"] = "no-store"
    return response


def confirm_first(
    request: Request, *, title: str, explanation: str, action: str, fields: dict[str, str], button: str, back: str
) -> HTMLResponse:
    """The page between a destructive button and its effect: what will happen, confirm or go back.

    The form posts the same fields again with ``confirmed=1``; it works without JavaScript, and a
    misclick costs one page instead of a class code, an assignment or an account."""
    context = {
        "title": title,
        "explanation": explanation,
        "action": action,
        "fields": fields,
        "button": button,
        "back": back,
    }
    return render(request, "partials/confirm.html", context, private=True)


def public_base_url(request: Request) -> str:
    """Where people reach this server, for links shown or mailed: NABIJ_BASE_URL in production; in
    development the address this request came in on, so `make run PORT=8101` or a laptop's LAN address
    shows links that work."""
    settings = request.app.state.settings
    if settings.is_production:
        return settings.base_url.rstrip("/")
    return str(request.base_url).rstrip("/")
