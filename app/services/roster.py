"""Roster import: a CSV of names and email addresses becomes enrolments and invitations.

The whole file is checked first; when any line is wrong nothing is imported and every problem is
reported with its line number, so a corrected file can simply be imported again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import secrets
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlmodel import Session, col, select

from app.config import Settings
from app.i18n import gettext as _
from app.models import CourseClass, Enrolment, Invitation, Role, User, aware, stored_id, utcnow
from app.services.accounts import looks_like_email, normalise_email
from app.services.mail import send_mail

log = logging.getLogger("nabij.roster")

MAX_LINES = 2000
MAX_BYTES = 512 * 1024
NAME_LIMIT = 120
EMAIL_LIMIT = 254
INVITATION_VALID_DAYS = 60
HEADER_NAMES = {"name", "naam", "full name", "volledige naam", "student", "display_name", "roepnaam"}
# Dutch and Flemish student administrations export first and last name apart (Osiris, Progress, Brightspace).
HEADER_FIRST_NAMES = {"voornaam", "first name", "firstname", "given name", "prénom", "prenom"}
HEADER_MIDDLE = {"tussenvoegsel", "tussenvoegsels", "voorvoegsel"}
HEADER_LAST_NAMES = {"achternaam", "familienaam", "last name", "lastname", "surname", "family name", "nom"}
HEADER_EMAILS = {"email", "e-mail", "emailadres", "e-mailadres", "email address", "mail"}


@dataclass(frozen=True)
class RosterLine:
    line: int
    name: str
    email: str


@dataclass(frozen=True)
class RosterProblem:
    line: int
    message: str


@dataclass
class ParsedRoster:
    lines: list[RosterLine] = field(default_factory=list)
    problems: list[RosterProblem] = field(default_factory=list)


@dataclass
class ImportResult:
    enrolled: list[str] = field(default_factory=list)  # (no longer used: existing accounts are invited)
    already: list[str] = field(default_factory=list)  # were in the class already
    invited: list[str] = field(default_factory=list)  # new invitations sent
    reinvited: list[str] = field(default_factory=list)  # invitations sent again, with a new link
    unsent: list[str] = field(default_factory=list)  # the mail server refused or did not answer


def decode_upload(data: bytes) -> str:
    """Spreadsheets save CSV as UTF-8 (often with a BOM) or, on older Windows, as Windows-1252.
    Control characters go as in every form field (app/inputs.py): an upload is not a form field."""
    from app.inputs import clean_text

    try:
        return clean_text(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return clean_text(data.decode("cp1252", errors="replace"))


def _dialect(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    # Dutch and Belgian spreadsheet programs write semicolons.
    counts = {delimiter: first.count(delimiter) for delimiter in (";", ",", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def parse_roster(text: str) -> ParsedRoster:
    """Lines of `name,email` (or `email,name` under a header saying so); the header is optional."""
    parsed = ParsedRoster()
    text = text.lstrip("\ufeff")
    if len(text.encode()) > MAX_BYTES:
        parsed.problems.append(
            RosterProblem(0, _("The file is too large: at most %(num)s kB.") % {"num": MAX_BYTES // 1024})
        )
        return parsed
    name_cols: tuple[int, ...] = (0,)
    email_col, has_header = 1, False
    seen: dict[str, int] = {}
    reader = csv.reader(io.StringIO(text), delimiter=_dialect(text))
    first = True
    try:
        rows = list(reader)
    except csv.Error:
        parsed.problems.append(RosterProblem(0, _("This is not a CSV file that can be read.")))
        return parsed
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if first:
            first = False
            lowered = [cell.lower() for cell in cells]
            if any(cell in HEADER_EMAILS for cell in lowered) or any(cell in HEADER_NAMES for cell in lowered):
                email_col = next((i for i, cell in enumerate(lowered) if cell in HEADER_EMAILS), -1)
                name_cols = _name_columns(lowered)
                if email_col < 0 or not name_cols:
                    parsed.problems.append(
                        RosterProblem(
                            number,
                            _(
                                "The header needs a column with the name (name or naam, or first and last name: voornaam "
                                "and achternaam) and a column with the email address (email or e-mailadres)."
                            ),
                        )
                    )
                    return parsed
                has_header = True
                continue
        if len(parsed.lines) + len(parsed.problems) >= MAX_LINES:
            parsed.problems.append(
                RosterProblem(number, _("Import at most %(num)s lines at a time.") % {"num": MAX_LINES})
            )
            break
        columns = (name_cols, email_col)
        if not has_header and len(cells) >= 2 and looks_like_email(cells[0]) and not looks_like_email(cells[1]):
            columns = ((1,), 0)  # email,name without a header: the order is clear from the values
        problem = _check_line(cells, *columns, seen, has_header=has_header)
        if problem:
            parsed.problems.append(RosterProblem(number, problem))
            continue
        email = normalise_email(cells[columns[1]])
        seen[email] = number
        parsed.lines.append(RosterLine(number, _joined_name(cells, columns[0]), email))
    if not parsed.lines and not parsed.problems:
        parsed.problems.append(RosterProblem(0, _("The file has no lines with a name and an email address.")))
    return parsed


def _name_columns(header: list[str]) -> tuple[int, ...]:
    """Where the name is: one column, or first (middle) and last name, joined in that order."""
    whole = next((i for i, cell in enumerate(header) if cell in HEADER_NAMES), None)
    if whole is not None:
        return (whole,)
    parts = [
        next((i for i, cell in enumerate(header) if cell in names), None)
        for names in (HEADER_FIRST_NAMES, HEADER_MIDDLE, HEADER_LAST_NAMES)
    ]
    if parts[0] is None or parts[2] is None:
        return ()
    return tuple(i for i in parts if i is not None)


def _joined_name(cells: list[str], name_cols: tuple[int, ...]) -> str:
    return " ".join(cells[i] for i in name_cols if cells[i])


def _check_line(
    cells: list[str], name_cols: tuple[int, ...], email_col: int, seen: dict[str, int], *, has_header: bool
) -> str | None:
    needed = max(*name_cols, email_col) + 1
    if len(cells) < needed:
        return _("Expected a name and an email address, separated by a comma.")
    if not has_header and len([cell for cell in cells if cell]) > 2:
        return _("Expected two columns (name and email address); this line has more.")
    name, email = _joined_name(cells, name_cols), normalise_email(cells[email_col])
    if not name:
        return _("The name is missing.")
    if len(name) > NAME_LIMIT:
        return _("The name is longer than %(num)s characters.") % {"num": NAME_LIMIT}
    if not email:
        return _("The email address is missing.")
    if not looks_like_email(email) or len(email) > EMAIL_LIMIT:
        return _("'%(email)s' is not a valid email address.") % {"email": cells[email_col][:EMAIL_LIMIT]}
    if email in seen:
        return _("%(email)s is also on line %(line)s.") % {"email": email, "line": seen[email]}
    return None


def check_accounts(session: Session, *, lines: list[RosterLine]) -> list[RosterProblem]:
    """Addresses that belong to a lecturer or administrator, or to a deactivated account, cannot be enrolled."""
    emails = [line.email for line in lines]
    users = (
        {user.email: user for user in session.exec(select(User).where(col(User.email).in_(emails)))} if emails else {}
    )
    problems = []
    for line in lines:
        user = users.get(line.email)
        if user is None:
            continue
        if user.role != Role.STUDENT:
            problems.append(
                RosterProblem(
                    line.line, _("%(email)s belongs to a lecturer or administrator account.") % {"email": line.email}
                )
            )
        elif not user.is_active:
            problems.append(
                RosterProblem(line.line, _("The account of %(email)s is deactivated.") % {"email": line.email})
            )
    return problems


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(settings: Settings, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}/signup?invite={token}"


def import_roster(
    session: Session,
    *,
    course_class: CourseClass,
    lines: list[RosterLine],
    settings: Settings,
    lecturer_name: str,
    mailer: Callable = send_mail,
) -> ImportResult:
    """Invite everyone on the roster by mail, existing accounts too (they accept logged in); nobody is
    enrolled without accepting. Call after `check_accounts`."""
    result = ImportResult()
    emails = [line.email for line in lines]
    users = (
        {user.email: user for user in session.exec(select(User).where(col(User.email).in_(emails)))} if emails else {}
    )
    enrolled = set(session.exec(select(Enrolment.user_id).where(col(Enrolment.class_id) == course_class.id)))
    invitations = (
        {
            inv.email: inv
            for inv in session.exec(
                select(Invitation).where(col(Invitation.class_id) == course_class.id, col(Invitation.email).in_(emails))
            )
        }
        if emails
        else {}
    )
    outgoing: list[tuple[RosterLine, str]] = []
    for line in lines:
        user = users.get(line.email)
        if user is not None and user.id in enrolled:
            result.already.append(line.email)
            continue
        # Existing accounts are invited too: nobody is put in a class without knowing (issue 12). They
        # accept with the same link, logged in.
        token = secrets.token_urlsafe(32)
        invitation = invitations.get(line.email)
        if invitation is None:
            invitation = Invitation(
                class_id=stored_id(course_class), email=line.email, display_name=line.name, token_hash=token_hash(token)
            )
            result.invited.append(line.email)
        else:
            # A new link replaces the old one; the validity period starts again.
            invitation.display_name = line.name
            invitation.token_hash = token_hash(token)
            invitation.created_at = utcnow()
            invitation.accepted_at = None
            result.reinvited.append(line.email)
        session.add(invitation)
        outgoing.append((line, token))
    session.commit()
    for line, token in outgoing:
        body = _(
            "Hello %(name)s,\n\n%(lecturer)s invites you to the class '%(class)s' on Nabij. "
            "Open this link to join the class: you create your account there, or, if you already have "
            "one, you log in and accept the invitation:\n\n%(link)s\n\n"
            "The link works for %(days)s days. Until you accept, you are not in the class."
        ) % {
            "name": line.name,
            "lecturer": lecturer_name,
            "class": course_class.name,
            "link": invitation_link(settings, token),
            "days": INVITATION_VALID_DAYS,
        }
        try:
            mailer(
                settings,
                to=line.email,
                subject=_("Your invitation to %(class)s on Nabij") % {"class": course_class.name},
                body=body,
            )
        except (OSError, smtplib.SMTPException, ValueError):  # ValueError: a header the mail library refuses
            log.warning("an invitation mail could not be sent (class %s)", course_class.id)
            result.unsent.append(line.email)
    return result


def open_invitation(session: Session, *, token: str) -> tuple[Invitation, CourseClass] | None:
    """The invitation for a link, if it is unused, not expired and its class is not archived."""
    if not token or len(token) > 100:
        return None
    row = session.exec(
        select(Invitation, CourseClass)
        .join(CourseClass, col(CourseClass.id) == col(Invitation.class_id))
        .where(col(Invitation.token_hash) == token_hash(token))
    ).first()
    if row is None:
        return None
    invitation, course_class = row
    expired = utcnow() - aware(invitation.created_at) > timedelta(days=INVITATION_VALID_DAYS)
    if invitation.accepted_at is not None or expired or course_class.archived_at is not None:
        return None
    return invitation, course_class


def accept_invitation(session: Session, *, invitation: Invitation, course_class: CourseClass, student: User) -> None:
    if session.get(Enrolment, (course_class.id, student.id)) is None:
        session.add(Enrolment(class_id=stored_id(course_class), user_id=stored_id(student)))
    invitation.accepted_at = utcnow()
    session.add(invitation)
    session.commit()
