"""A guard for clients' privacy: does a reflection seem to name or identify someone?

Students write about young people they work with. Before a reflection is submitted, this finds what
looks like an identifying detail: a (full) name, a Dutch BSN or Belgian national register number (with
their checksums), a phone number, an e-mail or street address, an exact birth date. The student sees the
matches and is asked to use an initial or a role ("J.", "de jongere") instead; they may submit anyway.
It is a warning, never a block, and it runs entirely here and in the browser: nothing is sent anywhere.

The browser runs the same rules (static/privacy-guard.js). So that they cannot drift apart, every
pattern and word list lives here once: :func:`rules` exports them as JSON, which the reflection form
embeds and the script reads; the script only re-implements the few steps below that are not a pattern
(the name chain and the checksums), and tests/test_privacy_guard.py runs both on the same samples.
Patterns are therefore written in the subset that Python's `re` and JavaScript's RegExp read alike:
no \\d, \\s, \\b or \\w (they differ on non-ASCII text), no named groups, fixed-width look-behinds.

Names are the hard part. A capitalised word followed by another is a name in the middle of a sentence
("ik sprak met Jurre Bakker"), but at the start of one it is usually not ("Gisteren Kevin…", a heading
"Reflectie Stage"). So: a first name from the shipped list (app/data/first_names.txt) counts anywhere,
alone or with a surname; an unknown capitalised pair counts only in the middle of a sentence; a title
("mevrouw Jansen") or an initial ("J. de Vries") with a surname counts anywhere. A name made only of
words from the module's own text (its case characters, the authors it cites: module_words) is the
case's, not a client's, and is not reported.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.i18n import gettext as _

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

# Letters as both engines read them: ASCII, Latin-1 and Latin Extended-A (é, ë, ç, ş, ł, ő…).
UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de"
LOWER = "a-z\u00df-\u00f6\u00f8-\u00ff"
LETTER = f"{UPPER}{LOWER}\u0100-\u017f"
# A word: letters, joined by a hyphen or apostrophe (Jan-Willem, D'Hondt, Kevin's), or the particle 't.
WORD = f"[{LETTER}]+(?:['\u2019-][{LETTER}]+)*|['\u2019]t(?![{LETTER}])"
CAPITALISED = f"^[{UPPER}](?=.*[{LOWER}\u0100-\u017f])"  # first letter capital, not all capitals (GGZ, AZC)
NAME_GAP = "^[ \u00a0]+$"  # words of one name: spaces only, no punctuation, no line break
INITIAL_GAP = "^\\.[ \u00a0]*$"  # "J. de Vries"
TITLE_GAP = "^\\.?[ \u00a0]+$"  # "dhr. Jansen", "mevrouw Jansen"
# Before a word, going back over spaces and list markers: a sentence starts here if we reach the start
# of the text, a line break, an opening quote or bracket, or the end of a previous sentence.
SENTENCE_END = ".!?\u2026\n\r\"'\u201c\u201d\u2018\u2019([{\u00ab\u00bb"
SKIP_BEFORE_WORD = " \t\u00a0*_\u2022\u2013\u2014-"

_NOT_AFTER = "(?<![0-9A-Za-z])"
_NOT_BEFORE = "(?![0-9A-Za-z])"

MONTHS = {
    "januari": 1,
    "jan": 1,
    "februari": 2,
    "feb": 2,
    "maart": 3,
    "mrt": 3,
    "april": 4,
    "apr": 4,
    "mei": 5,
    "juni": 6,
    "jun": 6,
    "juli": 7,
    "jul": 7,
    "augustus": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "oktober": 10,
    "okt": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
    # English, for the odd reflection or quote in English.
    "january": 1,
    "february": 2,
    "march": 3,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "october": 10,
}


def _month_alternation() -> str:
    # Longest first, so "sept" is not read as "sep" + "t"; first letter either case ("12 Maart 2009").
    names = sorted(MONTHS, key=len, reverse=True)
    return "|".join(f"[{n[0].upper()}{n[0]}]{n[1:]}" for n in names)


# Each pattern finds candidates; a check (below, and the same in the script) decides.
PATTERNS: dict[str, str] = {
    "email": "(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}(?![A-Za-z0-9-])",
    # +31 6 12345678, 0031 20 1234567, +32 (0)470 12 34 56 …; national 06-12345678, 020 123 4567, 09/123.45.67.
    "phone_international": _NOT_AFTER + "(?:\\+|00)3[12](?:[ .-]?\\(0\\))?(?:[ .-]?[0-9]){8,9}(?![0-9])",
    "phone_national": "(?<![0-9A-Za-z+.,/-])(?:\\(0[1-9][0-9]{0,2}\\)[ ]?[0-9](?:[ .-]?[0-9]){4,7}"
    "|0[1-9](?:[ ./-]?[0-9]){7,8})(?![0-9])",
    # BSN: nine digits, also as 1234.56.782 or 123 456 782.
    "bsn": "(?<![0-9A-Za-z.,/-])(?:[0-9]{9}|[0-9]{4}\\.[0-9]{2}\\.[0-9]{3}|[0-9]{3}[ .][0-9]{3}[ .][0-9]{3})"
    "(?![0-9]|[.,-][0-9])",
    # Rijksregisternummer: 85.07.30-033.28, 850730 033 28, 85073003328.
    "rrn": _NOT_AFTER + "[0-9]{2}\\.?[0-9]{2}\\.?[0-9]{2}[ .-]?[0-9]{3}[ .-]?[0-9]{2}(?![0-9])",
    # Dates with a four-digit year; the check keeps those that look like a birth date.
    "date_numeric": _NOT_AFTER + "(0?[1-9]|[12][0-9]|3[01])([-/.])(0?[1-9]|1[0-2])\\2((?:19|20)[0-9]{2})(?![0-9])",
    "date_iso": _NOT_AFTER + "((?:19|20)[0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(?![0-9])",
    "date_written": _NOT_AFTER + f"(0?[1-9]|[12][0-9]|3[01])(?:ste|de|e)?[ \u00a0]+({_month_alternation()})\\.?"
    "[ \u00a0]+((?:19|20)[0-9]{2})(?![0-9])",
    "postcode": _NOT_AFTER + "[1-9][0-9]{3}[ \u00a0]?(?!SA|SD|SS|KB|MB|GB|TB)[A-Z]{2}" + _NOT_BEFORE,
    # Matched right after a street name (Python: pattern.match(text, pos); JavaScript: the sticky flag).
    "house_number": "[ \u00a0]+[1-9][0-9]{0,3}(?:[ -]?[a-zA-Z](?![A-Za-z]))?(?![0-9])",
    "word": WORD,
    "capitalised": CAPITALISED,
    "name_gap": NAME_GAP,
    "initial_gap": INITIAL_GAP,
    "title_gap": TITLE_GAP,
}

PARTICLES = [
    "van",
    "de",
    "der",
    "den",
    "het",
    "ter",
    "ten",
    "te",
    "'t",
    "\u2019t",
    "la",
    "le",
    "du",
    "da",
    "dos",
    "del",
    "della",
    "von",
    "zu",
    "el",
    "al",
    "ben",
    "bin",
    "ibn",
    "abou",
    "abu",
]
TITLES = [
    "meneer",
    "mijnheer",
    "mevrouw",
    "mevr",
    "mw",
    "mvr",
    "dhr",
    "heer",
    "juf",
    "juffrouw",
    "meester",
    "mr",
    "mrs",
    "ms",
    "dr",
    "tante",
    "oom",
    "opa",
    "oma",
]
# Street names end in one of these ("-ring", "-veld", "-wijk" would also catch "Ervaring 2", "Werkveld 3").
STREET_SUFFIXES = [
    "straat",
    "laan",
    "weg",
    "plein",
    "gracht",
    "kade",
    "dijk",
    "singel",
    "steenweg",
    "lei",
    "dreef",
    "baan",
    "pad",
    "hof",
    "markt",
    "park",
    "kaai",
    "wal",
    "dam",
    "steeg",
    "plantsoen",
    "vest",
    "boulevard",
    "allee",
]
# Words after which a birth date is meant (within BIRTH_CONTEXT characters before the date).
BIRTH_WORDS = [
    "geboren",
    "geb.",
    "geboortedatum",
    "geboortedag",
    "verjaardag",
    "jarig",
    "born",
    "birthday",
    "date of birth",
    "\u00b0",
]
BIRTH_CONTEXT = 40
# A full date this many years back is a birth date rather than the day of a placement event.
BIRTH_YEARS_BACK = 4

# Common words that start Dutch (and English) sentences or follow a name without being one: never a
# first name of a pair, never a surname. Lower case.
OPENERS = """
ik je jij u hij zij ze we wij jullie men het de een dit dat deze die daar hier er mijn jouw zijn haar ons
onze hun toen daarna daarom daardoor daarbij daarnaast daaruit daarin daarmee daarop daarvoor vervolgens
eerst eerder later nu straks gisteren vandaag morgen vanochtend vanmorgen vanmiddag vanavond vannacht
vorige volgende tijdens na voor voordat nadat omdat doordat hoewel als wanneer terwijl zodra sinds tot
totdat bij met zonder in op aan uit van naar over onder boven door om tegen tussen volgens ondanks dankzij
ook zo dan maar en of want dus echter toch wel niet geen nooit altijd soms vaak meestal misschien
waarschijnlijk gelukkig helaas jammer eigenlijk achteraf uiteindelijk opnieuw samen alleen ieder iedereen
elke elk alle veel weinig meer minder beide sommige andere wat wie waar waarom hoe welke hoeveel ja nee oké
oke goed mooi fijn leuk lastig moeilijk zelf zelfs vooral bovendien verder kortom concreet persoonlijk
bijvoorbeeld zoals hierdoor hierbij hierna hiermee hierin waardoor waarbij waarna ben heb had hadden was
waren is kan kon wil zou moet mag ga ging kom kwam laat zeg zei denk dacht vind vond weet wist zie zag voel
voelde merk merkte probeer let neem geef wees blijf hoor kijk lees schrijf stel vraag beste lieve hallo
hoi dag groeten dank bedankt sorry opvallend belangrijk duidelijk natuurlijk blijkbaar inmiddels
ondertussen intussen nog al pas net even zowel noch indien mits tenzij zodat aangezien vanwege wegens
rond eens één twee drie vier vijf eerste tweede derde laatste reflectie casus stage week dus hierover
the a i he she they it this that when then after before my our his her their at with for but and so
also
"""

# Capitalised words that are not names of people: places, organisations, days, languages, methods.
NON_NAMES = """
maandag dinsdag woensdag donderdag vrijdag zaterdag zondag monday tuesday wednesday thursday friday
saturday sunday januari februari maart april mei juni juli augustus september oktober november december
nederland belgië belgie vlaanderen wallonië brussel amsterdam rotterdam utrecht haag antwerpen gent
leuven brugge eindhoven groningen tilburg breda nijmegen zwolle arnhem almere haarlem leiden delft
maastricht hasselt mechelen kortrijk oostende genk aalst limburg brabant holland zeeland friesland
drenthe gelderland overijssel flevoland europa marokko turkije syrië suriname curaçao polen
veilig thuis jeugdzorg jeugdhulp jeugdbescherming kinderbescherming raad ggz wmo cjg centrum jeugd gezin
buurtteam wijkteam politie rode kruis leger heils kindertelefoon awel tejo caw jac ocmw vzw
vertrouwenscentrum william schrikker hogeschool universiteit hbo mbo school
sociaal werk social work motivational interviewing signs safety solution focused positive behaviour
support youth care nabij teams zoom google instagram snapchat tiktok whatsapp youtube facebook netflix
kerst kerstmis pasen ramadan suikerfeest offerfeest sinterklaas sint koningsdag nieuwjaar god allah
jezus nederlands vlaams engels frans duits arabisch turks pools marokkaans marokkaanse turkse
nederlandse belgische surinaamse onderweg halfweg edam volendam zaandam schiedam leerdam monnickendam
"""


def _words(block: str) -> list[str]:
    return sorted(set(block.split()))


@lru_cache
def first_names() -> tuple[str, ...]:
    lines = (DATA_DIR / "first_names.txt").read_text(encoding="utf-8").splitlines()
    return tuple(sorted({line.strip() for line in lines if line.strip() and not line.startswith("#")}))


def labels() -> dict[str, str]:
    """What each kind of match is called, for the list the student sees (here and in the browser)."""
    return {
        "name": _("a name"),
        "email": _("an e-mail address"),
        "phone": _("a phone number"),
        "bsn": _("a citizen service number (BSN)"),
        "rrn": _("a national register number"),
        "address": _("an address"),
        "birthdate": _("a birth date"),
    }


def rules(reference_year: int | None = None) -> dict:
    """Everything the browser needs to find the same matches; embedded in the reflection form as JSON."""
    return {
        "version": 1,
        "reference_year": reference_year or _this_year(),
        "patterns": PATTERNS,
        "first_names": list(first_names()),
        "particles": PARTICLES,
        "titles": TITLES,
        "openers": _words(OPENERS),
        "non_names": _words(NON_NAMES),
        "street_suffixes": STREET_SUFFIXES,
        "months": MONTHS,
        "birth_words": BIRTH_WORDS,
        "birth_context": BIRTH_CONTEXT,
        "birth_years_back": BIRTH_YEARS_BACK,
        "sentence_end": SENTENCE_END,
        "skip_before_word": SKIP_BEFORE_WORD,
        "labels": labels(),
    }


def rules_json(reference_year: int | None = None) -> str:
    from app.i18n import current_locale

    return _rules_json(current_locale.get(), reference_year or _this_year())


@lru_cache(maxsize=8)
def _rules_json(_locale: str, reference_year: int) -> str:  # per language (the labels) and year
    return json.dumps(rules(reference_year), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _this_year() -> int:
    from app.models import school_today

    return school_today().year


# -- finding -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    kind: str  # name, email, phone, bsn, rrn, address, birthdate
    text: str
    start: int
    end: int

    @property
    def label(self) -> str:
        return labels().get(self.kind, self.kind)


@dataclass(frozen=True)
class _Word:
    text: str
    start: int
    end: int


@lru_cache
def _compiled() -> dict[str, re.Pattern]:
    return {name: re.compile(pattern) for name, pattern in PATTERNS.items()}


@lru_cache
def _sets() -> dict[str, frozenset[str]]:
    return {
        "first_names": frozenset(first_names()),
        "particles": frozenset(PARTICLES),
        "titles": frozenset(TITLES),
        "openers": frozenset(_words(OPENERS)),
        "non_names": frozenset(_words(NON_NAMES)),
    }


def module_words(path: Path) -> list[str]:
    """The capitalised words of a module's own text (its characters, the authors it cites): a name made
    only of these is the case's, not a client's, and is not reported. Read again when the file changes."""
    try:
        info = path.stat()
    except OSError:
        return []
    return list(_module_words(str(path), info.st_mtime_ns, info.st_size))


@lru_cache(maxsize=64)
def _module_words(path: str, _mtime_ns: int, _size: int) -> tuple[str, ...]:
    sets = _sets()
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    return tuple(
        sorted(
            {
                word
                for word in _compiled()["word"].findall(text)
                if _is_capitalised(word)
                and word.lower() not in sets["openers"]
                and word.lower() not in sets["non_names"]
            }
        )
    )


def _base(word: str) -> str:
    for suffix in ("'s", "’s"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _known_name(finding: Finding, known: frozenset[str]) -> bool:
    """Every part of the name (not its particles, title or initial) occurs in the module's text."""
    sets = _sets()
    parts = [
        w
        for w in _compiled()["word"].findall(finding.text)
        if len(w) > 1 and w.lower() not in sets["particles"] and w.lower() not in sets["titles"]
    ]
    return bool(parts) and all(_base(w) in known or (w.endswith("s") and w[:-1] in known) or w in known for w in parts)


def find(text: str, *, reference_year: int | None = None, known: Iterable[str] = ()) -> list[Finding]:
    """Every identifying detail found, in text order, none overlapping another. `known`: the words of
    the module the text answers (module_words); names made only of those are not reported."""
    year = reference_year or _this_year()
    known_words = frozenset(known)
    patterns = _compiled()
    found = [Finding("email", match.group(0), match.start(), match.end()) for match in patterns["email"].finditer(text)]
    for name in ("phone_international", "phone_national"):
        found.extend(
            Finding("phone", match.group(0), match.start(), match.end())
            for match in patterns[name].finditer(text)
            if is_phone(match.group(0))
        )
    found.extend(
        Finding("bsn", match.group(0), match.start(), match.end())
        for match in patterns["bsn"].finditer(text)
        if is_bsn(_digits(match.group(0)))
    )
    found.extend(
        Finding("rrn", match.group(0), match.start(), match.end())
        for match in patterns["rrn"].finditer(text)
        if is_rrn(_digits(match.group(0)))
    )
    for name, order in (("date_numeric", (1, 3, 4)), ("date_iso", (3, 2, 1)), ("date_written", (1, 2, 3))):
        for match in patterns[name].finditer(text):
            day, month, yyyy = (match.group(i) for i in order)
            month_number = MONTHS[month.lower()] if name == "date_written" else int(month)
            if is_birth_date(text, match.start(), int(day), month_number, int(yyyy), year):
                found.append(Finding("birthdate", match.group(0), match.start(), match.end()))
    found.extend(
        Finding("address", match.group(0), match.start(), match.end()) for match in patterns["postcode"].finditer(text)
    )
    words = [_Word(m.group(0), m.start(), m.end()) for m in patterns["word"].finditer(text)]
    found += _addresses(text, words)
    found += [name for name in _names(text, words) if not _known_name(name, known_words)]
    return _without_overlaps(found)


def _without_overlaps(found: list[Finding]) -> list[Finding]:
    kept: list[Finding] = []
    for finding in sorted(found, key=lambda f: (f.start, -(f.end - f.start))):
        if kept and finding.start < kept[-1].end:
            continue
        kept.append(finding)
    return kept


def _digits(value: str) -> str:
    return "".join(c for c in value if "0" <= c <= "9")


def is_bsn(digits: str) -> bool:
    """The Dutch 11-proof: 9·d1 + 8·d2 + … + 2·d8 − 1·d9 is a multiple of 11 (and not 0)."""
    if len(digits) != 9:
        return False
    total = sum(int(d) * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1), strict=True))
    return total != 0 and total % 11 == 0


def is_rrn(digits: str) -> bool:
    """Belgian national register number: the last two digits are 97 − (first nine mod 97); for people
    born in 2000 or later, 97 − ((2 followed by the first nine) mod 97)."""
    if len(digits) != 11:
        return False
    base, check = int(digits[:9]), int(digits[9:])
    return check in (97 - base % 97, 97 - (2_000_000_000 + base) % 97)


def is_phone(value: str) -> bool:
    """NL: +31 and nine digits, or 0 and nine; BE: +32 and eight or nine, or 0 and eight or nine."""
    digits = _digits(value.replace("(0)", ""))
    if value.startswith(("+", "00")):
        if digits.startswith("00"):
            digits = digits[2:]
        country, rest = digits[:2], digits[2:]
        if not rest or rest[0] == "0":
            return False
        return (country == "31" and len(rest) == 9) or (country == "32" and len(rest) in (8, 9))
    return digits.startswith("0") and digits[1:2] != "0" and len(digits) in (9, 10)


def is_birth_date(text: str, start: int, day: int, month: int, year: int, reference_year: int) -> bool:
    if not 1900 <= year <= reference_year or not 1 <= month <= 12:
        return False
    if day > calendar.monthrange(year, month)[1]:
        return False
    before = text[max(0, start - BIRTH_CONTEXT) : start].lower()
    return any(word in before for word in BIRTH_WORDS) or year <= reference_year - BIRTH_YEARS_BACK


def _is_capitalised(word: str) -> bool:
    return _compiled()["capitalised"].search(word) is not None


def _gap(text: str, left: _Word, right: _Word, kind: str) -> bool:
    # fullmatch: "$" alone would also match before a final line break, where JavaScript's does not.
    return _compiled()[kind].fullmatch(text[left.end : right.start]) is not None


def sentence_start(text: str, position: int) -> bool:
    index = position - 1
    while index >= 0 and text[index] in SKIP_BEFORE_WORD:
        index -= 1
    return index < 0 or text[index] in SENTENCE_END


def _first_name(word: str, names: frozenset[str]) -> bool:
    """A listed first name, also as a possessive (Kevin's, Sannes) or double name (Jan-Willem)."""
    if word in names:
        return True
    if "-" in word and word.split("-")[0] in names and all(_is_capitalised(p) for p in word.split("-")):
        return True
    for suffix in ("'s", "\u2019s", "s"):
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= 3 and base in names:
            return True
    return False


def _surname_after(text: str, words: list[_Word], index: int, gap: str) -> int | None:
    """The index of the last word of a surname that starts after words[index] (particles first), or None."""
    sets = _sets()
    current, position = words[index], index + 1
    particles = 0
    while position < len(words):
        word = words[position]
        if not _gap(text, current, word, gap if position == index + 1 else "name_gap"):
            return None
        lowered = word.text.lower()
        if lowered in sets["particles"] and particles < 3:
            particles += 1
            current, position = word, position + 1
            continue
        if (
            _is_capitalised(word.text)
            and lowered not in sets["openers"]
            and lowered not in sets["non_names"]
            and not (particles == 0 and word.text in sets["first_names"])
        ):
            return position
        return None
    return None


def _names(text: str, words: list[_Word]) -> list[Finding]:
    sets = _sets()
    found: list[Finding] = []
    index = 0
    while index < len(words):
        word = words[index]
        lowered = word.text.lower()
        end: int | None = None
        if lowered in sets["titles"]:
            end = _surname_after(text, words, index, "title_gap")
            if end is None:
                index += 1
                continue
        elif len(word.text) == 1 and "A" <= word.text <= "Z":
            end = _surname_after(text, words, index, "initial_gap")
            if end is None:
                index += 1
                continue
        elif (
            not _is_capitalised(word.text)
            or lowered in sets["openers"]
            or lowered in sets["non_names"]
            or lowered in sets["particles"]
        ):
            index += 1
            continue
        elif _first_name(word.text, sets["first_names"]):
            end = _surname_after(text, words, index, "name_gap")
            if end is None:
                end = index
        elif not sentence_start(text, word.start):
            end = _surname_after(text, words, index, "name_gap")
        if end is None:
            index += 1
            continue
        found.append(Finding("name", text[word.start : words[end].end], word.start, words[end].end))
        index = end + 1
    return found


def _addresses(text: str, words: list[_Word]) -> list[Finding]:
    sets = _sets()
    house_number = _compiled()["house_number"]
    found: list[Finding] = []
    for index, word in enumerate(words):
        lowered = word.text.lower()
        if (
            not _is_capitalised(word.text)
            or lowered in sets["non_names"]
            or not any(lowered.endswith(suffix) for suffix in STREET_SUFFIXES)
        ):
            continue
        last = index
        if lowered in STREET_SUFFIXES:  # "Laan van Meerdervoort 55", "Grote Markt 1"
            following = _surname_after(text, words, index, "name_gap")
            if following is not None and following - index <= 3:
                last = following
        number = house_number.match(text, words[last].end)
        if number is None and last != index:  # "Laan 12" after all
            last = index
            number = house_number.match(text, word.end)
        if number is None:
            continue
        first = index
        if index > 0:  # one word of the name before it: "Grote Markt 1", "Van Goghstraat 3"
            before = words[index - 1]
            lowered_before = before.text.lower()
            part_of_name = (
                _is_capitalised(before.text)
                and lowered_before not in sets["openers"]
                and lowered_before not in sets["non_names"]
                and not sentence_start(text, before.start)
            )
            if (part_of_name or before.text in ("Van", "De", "Sint")) and _gap(text, before, word, "name_gap"):
                first = index - 1
        end = number.end()
        found.append(Finding("address", text[words[first].start : end], words[first].start, end))
    return found


def summary(findings: list[Finding]) -> list[Finding]:
    """Each distinct match once, for the list the student sees."""
    seen: set[tuple[str, str]] = set()
    distinct = []
    for finding in findings:
        key = (finding.kind, finding.text)
        if key not in seen:
            seen.add(key)
            distinct.append(finding)
    return distinct
