"""The privacy guard (issue 13 item 7): what it finds, what it leaves alone, the same in the browser, and
the submit that asks first but never blocks (autosave never, "submit anyway" always)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time

import pytest
from sqlmodel import select

from app import PROJECT_ROOT
from app.models import Answer, AnswerRevision
from app.services import privacy_guard
from app.services.privacy_guard import find, is_bsn, is_phone, is_rrn
from tests.conftest import FIXTURE_MODULES, csrf_from
from tests.factories import login, make_user
from tests.pages import field, one, text_of, texts, top_level
from tests.pages import select as select_all

YEAR = 2026  # the reference year for birth dates, fixed so that the samples do not age


def found(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in find(text, reference_year=YEAR)]


# -- what it finds ----------------------------------------------------------------------------------

POSITIVE = [
    # names: listed first names, alone and with surnames and particles (Dutch and Flemish spelling)
    ("Gisteren sprak ik met Kevin de Vries over zijn moeder.", [("name", "Kevin de Vries")]),
    ("Toen Sanne binnenkwam, keek ze weg.", [("name", "Sanne")]),
    ("Ik liep met Els Van den Broeck naar buiten.", [("name", "Els Van den Broeck")]),
    ("Kevins moeder belde af.", [("name", "Kevins")]),
    ("Daarna kwam Jan-Willem de Boer erbij.", [("name", "Jan-Willem de Boer")]),
    ("Mohamed El Amrani wilde niet praten.", [("name", "Mohamed El Amrani")]),
    # a name at the start of a sentence counts when the first name is known
    ("Jurre Bakker kwam te laat. Hij zei niets.", [("name", "Jurre Bakker")]),
    # an unknown first name with a surname, in the middle of a sentence
    ("Ik voerde een gesprek met Tamara Kuipers over haar school.", [("name", "Tamara Kuipers")]),
    ("We spraken met Ayşe Yılmaz en Zoë Özdemir.", [("name", "Ayşe Yılmaz"), ("name", "Zoë Özdemir")]),
    # titles and initials with a surname
    ("Mevrouw Jansen vond dat ik te streng was.", [("name", "Mevrouw Jansen")]),
    ("Ik belde dhr. De Smet en later mw. Bakker.", [("name", "dhr. De Smet"), ("name", "mw. Bakker")]),
    ("Volgens J. de Vries ging het thuis slecht.", [("name", "J. de Vries")]),
    # BSN (11-proof) and rijksregisternummer (mod 97, also the rule for births from 2000)
    ("Haar BSN is 123456782.", [("bsn", "123456782")]),
    ("BSN 1112.22.333 stond in het dossier.", [("bsn", "1112.22.333")]),
    ("Zijn rijksregisternummer: 85.07.30-033.28.", [("rrn", "85.07.30-033.28")]),
    ("Nummer 01.05.12-001.15 (geboren in 2001).", [("rrn", "01.05.12-001.15")]),
    ("Nummer 85073003328 genoteerd.", [("rrn", "85073003328")]),
    # phone numbers, NL and BE, national and international
    ("Bel 06-12345678 als het niet gaat.", [("phone", "06-12345678")]),
    ("Zijn nummer is 06 12 34 56 78.", [("phone", "06 12 34 56 78")]),
    ("Het kantoor: 020 123 4567.", [("phone", "020 123 4567")]),
    ("Of +31 6 12345678, of 0031 20 1234567.", [("phone", "+31 6 12345678"), ("phone", "0031 20 1234567")]),
    ("In Gent: 09/123.45.67 of 0470 12 34 56.", [("phone", "09/123.45.67"), ("phone", "0470 12 34 56")]),
    ("Mama: +32 (0)470 12 34 56.", [("phone", "+32 (0)470 12 34 56")]),
    # e-mail
    ("Hij mailde vanaf kevin.devries2009@gmail.com naar mij.", [("email", "kevin.devries2009@gmail.com")]),
    # street addresses
    ("Ze woont op de Kerkstraat 12 in een flat.", [("address", "Kerkstraat 12")]),
    ("Het huis aan de Laan van Meerdervoort 55 is van haar oma.", [("address", "Laan van Meerdervoort 55")]),
    ("We zaten op een bankje aan de Grote Markt 1.", [("address", "Grote Markt 1")]),
    ("Zijn adres: Van Goghstraat 3a, 2517 AB.", [("address", "Van Goghstraat 3a"), ("address", "2517 AB")]),
    # exact birth dates: near a birth word, or too long ago to be a day of the placement
    ("Geboren op 12-03-2009, nu in de derde klas.", [("birthdate", "12-03-2009")]),
    ("Ze is jarig op 3 mei 2011.", [("birthdate", "3 mei 2011")]),
    ("Geboortedatum 2010-11-30.", [("birthdate", "2010-11-30")]),
    ("Haar geboortedatum is 1 februari 2024.", [("birthdate", "1 februari 2024")]),
    ("Kind (14/2/2012) woont bij pleegouders.", [("birthdate", "14/2/2012")]),
]

NEGATIVE = [
    # capitalised pairs at the start of a sentence, headings, organisations, places
    "Reflectie Stage\nIk heb veel geleerd deze week.",
    "Gisteren Veilig Thuis gebeld omdat ik me zorgen maakte.",
    "Ik heb contact gehad met Veilig Thuis en de Raad voor de Kinderbescherming.",
    "De jongere woont in Den Haag, vlak bij Rotterdam.",
    "Volgens de methode Signs of Safety kijk je naar wat goed gaat.",
    "Op maandag 3 maart had ik een gesprek met de jongere.",
    # sentence starts with words that are also (left-out) first names
    "Ben je boos op mij? Wil je erover praten? Max. tien minuten.",
    # numbers that are not what they look like
    "Het kostte 1.250.000 euro en duurde van 2019-2021.",
    "Nummer 123456789 was een willekeurig getal.",  # fails the 11-proof
    "Rekening 85.07.30-033.29 klopt niet.",  # fails mod 97
    "Bel 06-1234 als het niet gaat.",  # too short
    "Op 12-03-2026 had ik mijn eerste gesprek met J.",  # a recent day, no birth word
    "Op 31-02-2009 kan niemand geboren zijn.",  # no such day
    "Hoofdstuk 3 en Ervaring 2 gingen over grenzen.",
    # the advice itself: an initial or a role
    "J. vertelde dat de jongere thuis weinig steun krijgt. Ik heb met de moeder van J. gesproken.",
]

REALISTIC_CLEAN = """\
Tijdens mijn stage bij een woongroep voor jongeren merkte ik dat ik het moeilijk vind om nabij te zijn
zonder mijn professionele afstand te verliezen. De jongere (J., 15 jaar) vertelde op een avond dat hij
zich thuis niet veilig voelt. Ik wist eerst niet wat ik moest zeggen. Achteraf denk ik dat ik te snel
wilde oplossen in plaats van te luisteren.

Volgens Kolb (1984) leer je door ervaring, reflectie en nieuwe pogingen. In de supervisie met mijn
begeleider hebben we besproken hoe ik de volgende keer eerst kan erkennen wat J. voelt. We hebben ook
gekeken naar de meldcode: wanneer overleg je met Veilig Thuis, en wie doet dat? In week 12 wil ik dit
gesprek opnieuw voeren, met de mentor erbij.

Wat ik meeneem: nabijheid betekent niet dat ik alles zelf moet dragen. Op maandag 3 maart heb ik met de
moeder van J. gebeld; dat ging beter dan verwacht. Het team vond het goed dat ik dat eerst besprak.
"""

REALISTIC_IDENTIFYING = """\
Op de leefgroep in Gent werk ik vooral met Lotte Peeters (geboren 14/02/2010). Haar moeder, mevrouw
Peeters, belde me gisteren op 0470 12 34 56 omdat Lotte niet was thuisgekomen. Ze woont in de
Veldstraat 8. Ik heb daarna met Sem overlegd, en met de school via zorg@atheneum-gent.be.
"""


@pytest.mark.parametrize(("text", "expected"), POSITIVE, ids=[t[:40] for t, _ in POSITIVE])
def test_finds_identifying_details(text, expected):
    assert found(text) == expected


@pytest.mark.parametrize("text", NEGATIVE, ids=[t[:40] for t in NEGATIVE])
def test_leaves_ordinary_text_alone(text):
    assert found(text) == []


def test_a_realistic_reflection_with_initials_and_roles_passes():
    assert found(REALISTIC_CLEAN) == []


def test_a_realistic_reflection_that_identifies_a_young_person_is_caught():
    assert found(REALISTIC_IDENTIFYING) == [
        ("name", "Lotte Peeters"),
        ("birthdate", "14/02/2010"),
        ("phone", "0470 12 34 56"),
        ("name", "Lotte"),
        ("address", "Veldstraat 8"),
        ("name", "Sem"),
        ("email", "zorg@atheneum-gent.be"),
    ]


def test_checksums():
    assert is_bsn("123456782") and is_bsn("111222333") and not is_bsn("123456789") and not is_bsn("000000000")
    assert is_rrn("85073003328") and not is_rrn("85073003329")
    assert is_rrn("01051200115")  # born in 2001: 97 - ((2 000 000 000 + 010512001) mod 97) = 15
    assert 97 - 10512001 % 97 != 15  # ... which the pre-2000 rule alone would reject
    assert is_phone("+31612345678") and is_phone("0612345678") and is_phone("+3223456789")
    assert not is_phone("+31012345678") and not is_phone("+3161234567") and not is_phone("0012345678")


def test_the_shipped_first_names_are_a_few_hundred_and_never_ordinary_words():
    names = privacy_guard.first_names()
    assert 250 <= len(names) <= 1000
    rules = privacy_guard.rules(YEAR)
    ordinary = set(rules["openers"]) | set(rules["non_names"]) | set(rules["particles"]) | set(rules["titles"])
    assert not {n.lower() for n in names} & ordinary
    assert {"Ben", "Wil", "Max", "Job", "Lot"}.isdisjoint(names)  # sentence starters, left out on purpose


def test_a_long_text_is_checked_quickly():
    # The longest answer allowed, of the kind that makes a careless pattern backtrack.
    text = ("aaaa.bbbb-cccc " * 1000 + "0" * 5000 + " Kerkstraat " * 500 + "Kevin de " * 1000)[:50_000]
    began = time.perf_counter()
    find(text, reference_year=YEAR)
    assert time.perf_counter() - began < 2.0


# -- the same rules in the browser ------------------------------------------------------------------

HARNESS = """
const Guard = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const data = JSON.parse(input);
  const guard = new Guard(data.rules);
  const out = data.samples.map((text) => guard.find(text, data.year, data.known)
    .map((f) => [f.kind, f.text, f.start, f.end]));
  process.stdout.write(JSON.stringify(out));
});
"""


def run_in_node(samples: list[str], known: list[str] = ()) -> list[list[list]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the browser's privacy guard cannot be compared with the server's")
    data = {"rules": privacy_guard.rules(YEAR), "samples": samples, "year": YEAR, "known": list(known)}
    result = subprocess.run(
        [node, "-e", HARNESS, str(PROJECT_ROOT / "static" / "privacy-guard.js")],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def all_samples() -> list[str]:
    samples = [text for text, _ in POSITIVE] + NEGATIVE + [REALISTIC_CLEAN, REALISTIC_IDENTIFYING]
    # Mixed and shuffled pieces: combinations no single sample has (deterministic, no randomness).
    pieces = [text for text, _ in POSITIVE] + NEGATIVE
    return samples + [" ".join(pieces[i::7]) for i in range(7)] + ["\n".join(reversed(pieces[i::5])) for i in range(5)]


@pytest.mark.parametrize(
    "known",
    [[], ["Kevin", "Lotte", "Peeters", "Jansen", "Tamara", "Kuipers", "Sem"]],
    ids=["no module", "with module words"],
)
def test_browser_and_server_find_the_same_on_every_sample(known):
    samples = all_samples()
    server = [
        [[f.kind, f.text, f.start, f.end] for f in find(text, reference_year=YEAR, known=known)] for text in samples
    ]
    browser = run_in_node(samples, known)
    for text, ours, theirs in zip(samples, server, browser, strict=True):
        assert theirs == ours, text
    assert sum(len(s) for s in server) >= len(POSITIVE) - 6  # the comparison compared findings, not empty lists


def test_the_modules_own_characters_and_authors_are_not_reported():
    module = PROJECT_ROOT / "modules" / "grenzen-van-nabijheid" / "module.md"
    known = privacy_guard.module_words(module)
    assert {"Kevin", "Esra", "Fenna"} <= set(known)
    text = "Ik begrijp Kevin wel: Esra's reactie en Fenna vond ik eerlijk. Mijn cliënt Tamara Kuipers niet."
    assert [(f.kind, f.text) for f in find(text, reference_year=YEAR, known=known)] == [("name", "Tamara Kuipers")]
    # A full name is still reported when its surname is not the module's.
    assert found_with(known, "Ik sprak Kevin Janssens.") == [("name", "Kevin Janssens")]
    assert run_in_node([text], known)[0] == [
        [f.kind, f.text, f.start, f.end] for f in find(text, reference_year=YEAR, known=known)
    ]


def found_with(known, text):
    return [(f.kind, f.text) for f in find(text, reference_year=YEAR, known=known)]


# -- on submit ------------------------------------------------------------------------------------

pytestmark_routes = pytest.mark.parametrize("settings", [{"modules_dir": FIXTURE_MODULES}], indirect=True)
CASUS = "/modules/proef/casus"
SAVE = "/modules/proef/prompts/proef-keuze"
DRAFT = "/modules/proef/prompts/proef-keuze/draft"
NAMED = "Ik vond het lastig toen Kevin de Vries boos werd op de groep."


@pytest.fixture
def student(client, session):
    user = make_user(session, name="Sam Student")
    login(client, user)
    return user


def stored(session) -> Answer | None:
    session.rollback()
    session.expire_all()
    return session.exec(select(Answer).where(Answer.prompt_id == "proef-keuze")).first()


def post(client, text, action, version="0", htmx=False):
    token = csrf_from(client.get(CASUS).text)
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(
        SAVE,
        data={"text": text, "version": version, "action": action, "csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )


@pytestmark_routes
def test_a_submit_naming_someone_is_kept_as_a_draft_and_asks_first(client, session, student):
    response = post(client, NAMED, "submit")
    assert response.status_code == 200
    page = response.text
    form = one(page, "#prompt-proef-keuze form.reflection-form")
    assert field(form, "text").value == NAMED  # the text is kept, whole
    assert not [area for area in select_all(page, "textarea") if area.get_text().endswith("Kevin de Vries")]
    warning = one(form, ":scope > .privacy-warning")  # not the empty one in the <template> for the script
    assert warning.get("role") == "alert"
    assert "Kevin de Vries – a name" in texts(warning, "li") and "Kevin de Vries" in texts(warning, "li > q")
    assert "de jongere" in text_of(warning)
    assert one(warning, 'button[type="submit"][name="action"]')["value"] == "submit-anyway"
    answer = stored(session)
    assert answer.text == NAMED and answer.submitted_at is None  # saved, not shared with the lecturers
    assert session.exec(select(AnswerRevision)).all() == []


@pytestmark_routes
def test_submit_anyway_submits_as_it_is(client, session, student):
    post(client, NAMED, "submit")
    response = post(client, NAMED, "submit-anyway", version="1")
    assert response.status_code == 303
    answer = stored(session)
    assert answer.submitted_at is not None
    assert [r.text for r in session.exec(select(AnswerRevision))] == [NAMED]


@pytestmark_routes
def test_a_text_with_an_initial_submits_at_once(client, session, student):
    response = post(client, "Ik vond het lastig toen J. boos werd op de groep.", "submit")
    assert response.status_code == 303
    assert stored(session).submitted_at is not None


@pytestmark_routes
def test_with_htmx_the_prompt_comes_back_with_the_warning(client, session, student):
    response = post(client, NAMED, "submit", htmx=True)
    assert response.status_code == 200
    [prompt] = top_level(response.text)  # the prompt alone, to swap in for the old one
    assert (prompt.name, prompt["id"], prompt["class"]) == (
        "section",
        "prompt-proef-keuze",
        ["activity", "activity--reflection"],
    )
    assert "Kevin de Vries" in texts(prompt, "form.reflection-form > .privacy-warning li > q")
    assert stored(session).submitted_at is None


@pytestmark_routes
def test_the_cases_own_characters_do_not_warn(client, session, student):
    response = post(client, "Ik belde Sanne terug omdat ze alleen leek te zijn.", "submit")  # Sanne: the case's
    assert response.status_code == 303
    assert stored(session).submitted_at is not None


@pytestmark_routes
def test_autosave_is_never_held_up(client, session, student):
    token = csrf_from(client.get(CASUS).text)
    response = client.post(
        DRAFT, data={"text": NAMED, "version": "0"}, headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert response.status_code == 200 and select_all(response.text, ".privacy-warning") == []
    assert stored(session).text == NAMED


@pytestmark_routes
def test_a_too_short_text_gets_its_own_message_first(client, session, student):
    response = post(client, "Kevin!", "submit")
    assert response.status_code == 303  # back to the answer's own page (issue 17), kept as a draft
    page = client.get(response.headers["location"])
    assert "at least 3" in page.text
    assert "Kevin" not in texts(page.text, "q")
    assert select_all(page.text, "form.reflection-form > .privacy-warning") == []


@pytestmark_routes
def test_the_page_carries_the_servers_rules_once_and_loads_the_script(client, session, student):
    page = client.get(CASUS).text
    [script] = [s for s in select_all(page, "script[src]") if "privacy-guard" in s["src"]]
    assert re.fullmatch(r"/static/privacy-guard\.[0-9a-f]{10}\.js", script["src"]) and script.has_attr("defer")
    blocks = [s.string for s in select_all(page, 'script[type="application/json"].privacy-guard-rules')]
    assert len(blocks) == 1
    known = [s.string for s in select_all(page, 'script[type="application/json"].privacy-guard-known')]
    assert len(known) == 1 and "Sanne" in json.loads(known[0])
    embedded = json.loads(blocks[0])
    assert embedded["patterns"] == privacy_guard.PATTERNS and embedded["first_names"] == list(
        privacy_guard.first_names()
    )
    from app.i18n import current_locale

    token = current_locale.set("en")  # the page is English (the test client asks for it)
    try:
        assert embedded == json.loads(privacy_guard.rules_json())
    finally:
        current_locale.reset(token)
    assert embedded["labels"]["name"] == "a name"
    # The box the script shows is the server's own, from the same template.
    template = one(page, "#prompt-proef-keuze form.reflection-form > template.privacy-warning-template")
    assert texts(template, ".privacy-warning li") == []  # filled in by the script
    assert one(template, '.privacy-warning button[name="action"]')["value"] == "submit-anyway"
    assert (PROJECT_ROOT / "static" / "privacy-guard.js").read_text().count("fetch(") == 0  # nothing is sent


@pytestmark_routes
def test_the_rules_in_the_page_cannot_break_out_of_their_script_tag(client, session, student, monkeypatch):
    monkeypatch.setitem(privacy_guard.PATTERNS, "email", "</script><script>alert(1)</script>")
    privacy_guard._rules_json.cache_clear()
    try:
        page = client.get(CASUS).text
    finally:
        privacy_guard._rules_json.cache_clear()
    # As the browser's tokenizer reads the raw page: no script ends early, the pattern's `<` is escaped.
    assert "<script>alert(1)" not in page and "\\u003c/script\\u003e" in page
    rules = one(page, 'script[type="application/json"].privacy-guard-rules')
    assert json.loads(rules.string)["patterns"]["email"] == "</script><script>alert(1)</script>"  # intact as data
    assert [s for s in select_all(page, "script:not([src])") if s.get("type") != "application/json"] == []
