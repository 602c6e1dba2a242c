"""Parse one module.md into a rendered Module, collecting every problem with its line."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from markdown_it.token import Token

from app.content import markdown as mdx
from app.content.frontmatter import key_line, parse_front_matter
from app.content.model import (
    REFLECTION_LEVELS,
    Check,
    Choice,
    Exemplar,
    HtmlBlock,
    LecturerNote,
    Module,
    Note,
    Option,
    Problem,
    Reflection,
    Section,
    Step,
    Vignette,
)

# Caps that keep checking a module fast and its messages clear (a real module is some 30 KB,
# its longest line a few hundred characters).
MAX_FILE_BYTES = 2_000_000
MAX_LINE_CHARS = 5_000
DIRECTIVE = re.compile(r"^\{([\w-]+)\}\s*(.*)$")
OPTION = re.compile(r"^:([\w-]+):\s*(.*)$")
CHECK_MARKER = re.compile(r"^\[( |x|X)\]\s+")
RESERVED_SECTION_IDS = frozenset({"media"})

OPTIONS = {
    "reflection": {"id", "level", "min-words", "guidance", "refers-to", "rubric"},
    "vignette": {"id", "start"},
    "check": {"id"},
    "note": set(),
    "step": set(),
    "ending": set(),
    "lecturer": {"for"},
    "exemplar": {"level"},
}
TOP_LEVEL = ("reflection", "vignette", "check", "note", "lecturer")


def read_options(content: str, name: str, allowed, line: int, problems: list) -> tuple[dict, dict, str, int]:
    """A directive's leading `:key: value` lines (options, their line numbers), its body, and how many option
    lines there were; an unknown or repeated key is a problem at its own line. Modules and rubrics alike."""
    lines = content.split("\n")
    options: dict[str, str] = {}
    option_lines: dict[str, int] = {}
    n = 0
    for n, raw in enumerate(lines):
        option = OPTION.match(raw.strip()) if raw.strip() else None
        if not option:
            break
        key, value = option.group(1), option.group(2).strip()
        if key not in allowed:
            names = ", ".join(f":{o}:" for o in sorted(allowed)) or "geen"
            problems.append((line + 1 + n, f"onbekende instelling ':{key}:' in {{{name}}} (toegestaan: {names})"))
        elif key in options:
            problems.append((line + 1 + n, f"instelling ':{key}:' staat twee keer in {{{name}}}"))
        options[key] = value
        option_lines[key] = line + 1 + n
    else:
        n = len(lines)
    return options, option_lines, "\n".join(lines[n:]), n


@dataclass
class Directive:
    name: str
    argument: str
    options: dict[str, str]
    option_lines: dict[str, int]
    body: str
    body_offset: int  # 0-based file line of the body's first line
    line: int  # 1-based file line of the opening fence


class ModuleParser:
    """Builds a Module from one file; problems are collected, never raised."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[tuple[int, str]] = []
        self.env: dict = {}
        self.seen_vignettes: set[str] = set()
        self.ids: dict[str, int] = {}
        # Lecturer-only blocks, collected apart from the sections' blocks (see model.LecturerNote).
        self.lecturer_notes: list[LecturerNote] = []
        self.current_section = ""
        self.last_reflection: str | None = None
        self.reflection_ids: set[str] = set()

    # -- entry point -------------------------------------------------------------------------

    def parse(self) -> tuple[Module | None, list[Problem]]:
        try:
            size = self.path.stat().st_size
            if size > MAX_FILE_BYTES:
                return None, [
                    Problem(
                        self.path,
                        1,
                        f"bestand is te groot ({size / 1_000_000:.1f} MB; maximaal "
                        f"{MAX_FILE_BYTES // 1_000_000} MB): verdeel het over meer modules",
                    )
                ]
            text = self.path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            return None, [Problem(self.path, 1, "bestand is geen UTF-8-tekst")]
        except OSError as error:
            return None, [Problem(self.path, 1, f"bestand kan niet gelezen worden ({error.strerror or error})")]
        long_line = _first_long_line(text)
        if long_line:
            return None, [
                Problem(
                    self.path,
                    long_line,
                    f"regel is te lang (maximaal {MAX_LINE_CHARS} tekens): "
                    "zet een witregel of een regeleinde tussen de zinnen",
                )
            ]
        module = self._parse_text(text)
        problems = sorted(
            {Problem(self.path, line, msg) for line, msg in self.problems}, key=lambda p: (p.line, p.message)
        )
        return module, problems

    def _parse_text(self, text: str) -> Module | None:
        for line in mdx.raw_html_lines(text):
            self.problems.append((line, "HTML is niet toegestaan in een module; gebruik Markdown"))
        tokens = mdx.markdown().parse(text, self.env)
        if not tokens or tokens[0].type != "front_matter":
            self.problems.append((1, "voorpagina ontbreekt: begin het bestand met '---', de velden en weer '---'"))
            return None
        front, problems = parse_front_matter(tokens[0].content, first_line=2)
        self.problems.extend(problems)
        folder_slug = self.path.parent.name
        if front is not None and front.slug != folder_slug:
            self.problems.append(
                (
                    key_line(tokens[0].content, "slug", 2),
                    f"voorpagina: slug '{front.slug}' moet gelijk zijn aan de mapnaam '{folder_slug}'",
                )
            )
        body = tokens[1:]
        slug = front.slug if front else folder_slug
        self.links = mdx.LinkContext(self.path.parent, slug, self._section_ids(body))
        intro, sections = self._sections(body)
        self.problems.extend(self.links.problems)
        if not sections:
            self.problems.append((1, "de module heeft geen secties: begin elke sectie met '## Titel'"))
        if front is None:
            return None
        return Module(
            slug=front.slug,
            title=front.title,
            summary=front.summary,
            language=front.language,
            estimated_minutes=front.estimated_minutes,
            learning_goals=front.learning_goals,
            authors=front.authors,
            version=front.version,
            license=front.license,
            order=front.order,
            draft=front.draft,
            intro_html=intro,
            sections=sections,
            path=self.path,
            words=_count_words(text, tokens[0]),
            lecturer_notes=self.lecturer_notes,
        )

    # -- sections ----------------------------------------------------------------------------

    def _heading(self, inline: Token) -> tuple[str, str]:
        title = inline.content
        explicit = heading_id(title)
        if explicit is not None:
            return explicit
        return title.strip(), slugify(title)

    def _section_ids(self, tokens: list[Token]) -> set[str]:
        ids = set()
        for i, token in enumerate(tokens):
            if token.type == "heading_open" and token.tag == "h2":
                ids.add(self._heading(tokens[i + 1])[1])
        return ids

    def _sections(self, tokens: list[Token]) -> tuple[str, list[Section]]:
        intro_tokens: list[Token] = []
        sections: list[Section] = []
        current: list[Token] = intro_tokens
        headings: list[tuple[str, str, int]] = []
        bodies: list[list[Token]] = []
        i = 0
        while i < len(tokens):
            token = tokens[i]
            if token.type == "heading_open" and token.tag == "h1":
                self.problems.append(
                    (
                        mdx.start_line(token) + 1,
                        "gebruik geen kop '#': de titel staat in de voorpagina; secties beginnen met '##'",
                    )
                )
            if token.type == "heading_open" and token.tag == "h2":
                title, section_id = self._heading(tokens[i + 1])
                headings.append((title, section_id, mdx.start_line(token) + 1))
                current = []
                bodies.append(current)
                i += 3
                continue
            current.append(token)
            i += 1
        intro_html = self._blocks_html_only(intro_tokens, 0, where="de inleiding")
        for note in self.lecturer_notes:
            self.problems.append((note.line, "een {lecturer}-blok hoort in een sectie, niet in de inleiding"))
        self.lecturer_notes.clear()
        seen: dict[str, int] = {}
        for (title, section_id, line), body in zip(headings, bodies, strict=True):
            if not mdx.ID_PATTERN.match(section_id):
                self.problems.append(
                    (
                        line,
                        f"sectienaam '{{#{section_id}}}' mag alleen kleine letters, cijfers en koppeltekens bevatten",
                    )
                )
            elif section_id in RESERVED_SECTION_IDS:
                self.problems.append((line, f"sectienaam '{section_id}' is gereserveerd; kies een andere"))
            if section_id in seen:
                self.problems.append(
                    (line, f"sectienaam '{section_id}' komt twee keer voor (ook op regel {seen[section_id]})")
                )
            seen[section_id] = line
            if not title:
                self.problems.append((line, "sectie zonder titel"))
            self.current_section, self.last_reflection = section_id, None
            sections.append(Section(section_id, title, self._blocks(body, 0), line))
        self._check_lecturer_targets()
        return intro_html, sections

    def _blocks_html_only(self, tokens: list[Token], offset: int, where: str) -> str:
        blocks = self._blocks(tokens, offset)
        for block in blocks:
            if not isinstance(block, HtmlBlock):
                self.problems.append(
                    (
                        block.line if hasattr(block, "line") else 1,
                        f"interactieve blokken horen in een sectie, niet in {where}",
                    )
                )
        return "".join(b.html for b in blocks if isinstance(b, HtmlBlock | Note))

    def _blocks(self, tokens: list[Token], offset: int, allowed: tuple[str, ...] = TOP_LEVEL):
        """Turn a token stream into blocks; plain Markdown runs are rendered to HTML once."""
        blocks: list = []
        pending: list[Token] = []

        def flush() -> None:
            if pending:
                mdx.check_and_rewrite_links(pending, self.links, offset)
                blocks.append(HtmlBlock(mdx.render(pending, self.env)))
                pending.clear()

        for group in mdx.top_level_groups(tokens):
            if group[0].type != "colon_fence":
                pending.extend(group)
                continue
            flush()
            directive = self._directive(group[0], offset)
            if directive is None:
                continue
            if directive.name not in allowed:
                self.problems.append((directive.line, f"blok '{{{directive.name}}}' is hier niet toegestaan"))
                continue
            block = getattr(self, f"_{directive.name}")(directive)
            if block is not None:
                blocks.append(block)
        flush()
        return blocks

    # -- directives --------------------------------------------------------------------------

    def _directive(self, token: Token, offset: int) -> Directive | None:
        line = offset + mdx.start_line(token) + 1
        match = DIRECTIVE.match(token.info.strip())
        if not match:
            info = token.info.strip() or "(leeg)"
            self.problems.append(
                (line, f"onbekend blok '{info}': schrijf bv. ':::{{reflection}}' (telt het aantal dubbele punten?)")
            )
            return None
        name, argument = match.group(1), match.group(2).strip()
        if name not in OPTIONS:
            self.problems.append(
                (line, f"onbekend blok '{{{name}}}': gebruik reflection, vignette, check, note of lecturer")
            )
            return None
        options, option_lines, body, n = read_options(token.content, name, OPTIONS[name], line, self.problems)
        return Directive(name, argument, options, option_lines, body, offset + mdx.start_line(token) + 1 + n, line)

    def _parse_body(self, directive: Directive) -> list[Token]:
        return mdx.markdown().parse(directive.body, self.env)

    def _require_id(self, directive: Directive) -> str | None:
        value = directive.options.get("id")
        if not value:
            self.problems.append((directive.line, f"{{{directive.name}}} heeft een ':id:' nodig"))
            return None
        if not mdx.ID_PATTERN.match(value):
            self.problems.append(
                (
                    directive.option_lines["id"],
                    f"id '{value}' mag alleen kleine letters, cijfers en koppeltekens bevatten (max. 60)",
                )
            )
            return None
        if value in self.ids:
            self.problems.append(
                (
                    directive.option_lines["id"],
                    f"id '{value}' komt twee keer voor in deze module (ook op regel {self.ids[value]})",
                )
            )
            return None
        self.ids[value] = directive.option_lines["id"]
        return value

    def _reflection(self, d: Directive) -> Reflection | None:
        block_id = self._require_id(d)
        tokens = self._parse_body(d)
        blocks = self._blocks(tokens, d.body_offset, allowed=())
        prompt_html = "".join(b.html for b in blocks if isinstance(b, HtmlBlock))
        if not d.body.strip():
            self.problems.append((d.line, "{reflection} heeft geen vraag: schrijf de vraag onder de instellingen"))
        level = d.options.get("level") or None
        if level is not None and level not in REFLECTION_LEVELS:
            self.problems.append(
                (d.option_lines["level"], f"onbekend niveau '{level}' (kies uit: {', '.join(REFLECTION_LEVELS)})")
            )
        min_words = 0
        if "min-words" in d.options:
            raw = d.options["min-words"]
            if raw.isascii() and raw.isdigit() and int(raw) <= 5000:
                min_words = int(raw)
            else:
                self.problems.append(
                    (d.option_lines["min-words"], f"':min-words:' moet een geheel getal zijn, niet '{raw}'")
                )
        rubric = d.options.get("rubric") or None
        if rubric is not None and not mdx.ID_PATTERN.match(rubric):
            self.problems.append(
                (
                    d.option_lines["rubric"],
                    f"':rubric:' moet het id van een rubric zijn (de bestandsnaam in modules/_rubrics zonder .md), niet '{rubric}'",
                )
            )
            rubric = None
        if "rubric" in d.options and not d.options["rubric"]:
            self.problems.append(
                (d.option_lines["rubric"], "':rubric:' is leeg: noem een rubric, bv. ':rubric: hatton-smith'")
            )
        refers_to = d.options.get("refers-to") or None
        if refers_to is not None and refers_to not in self.seen_vignettes:
            self.problems.append(
                (
                    d.option_lines["refers-to"],
                    f"':refers-to:' verwijst naar '{refers_to}', maar er staat geen casus met dat id eerder in de module",
                )
            )
        guidance = d.options.get("guidance", "")
        guidance_html = ""
        if guidance:
            guidance_tokens = mdx.markdown().parse(guidance, self.env)
            mdx.check_and_rewrite_links(guidance_tokens, self.links, d.option_lines["guidance"] - 1)
            guidance_html = mdx.render(guidance_tokens, self.env)
        if block_id is None:
            return None
        self.last_reflection = block_id
        self.reflection_ids.add(block_id)
        return Reflection(
            id=block_id,
            title=d.argument,
            prompt_html=prompt_html,
            guidance_html=guidance_html,
            level=level,
            min_words=min_words,
            refers_to=refers_to,
            prompt_hash=prompt_hash(d.argument, d.body),
            line=d.line,
            rubric=rubric,
            rubric_line=d.option_lines.get("rubric", 0),
        )

    def _lecturer(self, d: Directive) -> None:
        """Lecturer-only material: kept apart, so it never becomes one of the section's blocks."""
        prompt_id = d.options.get("for") or self.last_reflection
        body: list[Token] = []
        exemplars: list[Exemplar] = []
        for group in mdx.top_level_groups(self._parse_body(d)):
            if group[0].type != "colon_fence":
                body.extend(group)
                continue
            sub = self._directive(group[0], d.body_offset)
            if sub is None:
                continue
            if sub.name != "exemplar":
                self.problems.append(
                    (sub.line, f"blok '{{{sub.name}}}' hoort niet in een {{lecturer}}-blok; alleen {{exemplar}}")
                )
                continue
            level = sub.options.get("level", "")
            if not level:
                self.problems.append(
                    (sub.line, "{exemplar} heeft een ':level:' nodig: het niveau dat dit voorbeeldantwoord haalt")
                )
            if not sub.body.strip():
                self.problems.append((sub.line, "{exemplar} is leeg: schrijf het voorbeeldantwoord"))
            inner = self._blocks(self._parse_body(sub), sub.body_offset, allowed=())
            exemplars.append(
                Exemplar(
                    level,
                    "".join(b.html for b in inner if isinstance(b, HtmlBlock)),
                    sub.option_lines.get("level", sub.line),
                )
            )
        mdx.check_and_rewrite_links(body, self.links, d.body_offset)
        if not d.body.strip():
            self.problems.append(
                (d.line, "{lecturer} is leeg: schrijf voorbeeldantwoorden, discussiepunten of valkuilen")
            )
        self.lecturer_notes.append(
            LecturerNote(
                prompt_id=prompt_id,
                section_id=self.current_section,
                html=mdx.render(body, self.env),
                exemplars=exemplars,
                line=d.line,
                for_line=d.option_lines.get("for", d.line),
            )
        )
        return None

    def _check_lecturer_targets(self) -> None:
        for note in self.lecturer_notes:
            if note.prompt_id is not None and note.prompt_id not in self.reflection_ids:
                self.problems.append(
                    (
                        note.for_line,
                        f"':for:' verwijst naar '{note.prompt_id}', maar er staat geen reflectievraag met dat id in deze module",
                    )
                )

    def _note(self, d: Directive) -> Note:
        blocks = self._blocks(self._parse_body(d), d.body_offset, allowed=())
        return Note(title=d.argument, html="".join(b.html for b in blocks))

    def _check(self, d: Directive) -> Check | None:
        block_id = self._require_id(d)
        tokens = self._parse_body(d)
        question: list[Token] = []
        options: list[Option] = []
        found_list = False
        for group in mdx.top_level_groups(tokens):
            line = d.body_offset + mdx.first_line(group) + 1
            if group[0].type == "bullet_list_open" and not found_list:
                found_list = True
                options = self._check_options(group, d, line)
            elif found_list:
                self.problems.append((line, "na de antwoordmogelijkheden van een {check} mag geen tekst meer staan"))
            elif group[0].type == "colon_fence":
                self.problems.append((line, "een {check} kan geen ander blok bevatten"))
            else:
                question.extend(group)
        mdx.check_and_rewrite_links(question, self.links, d.body_offset)
        question_html = mdx.render(question, self.env)
        if d.argument:
            title_tokens = mdx.markdown().parseInline(d.argument, self.env)
            mdx.check_and_rewrite_links(title_tokens, self.links, d.line - 1)
            question_html = f"<p>{mdx.render(title_tokens, self.env)}</p>" + question_html
        if not d.argument and not question:
            self.problems.append((d.line, "{check} heeft geen vraag: zet ze na {check}"))
        if not found_list:
            self.problems.append((d.line, "{check} heeft geen antwoordmogelijkheden ('- [x] …' en '- [ ] …')"))
        elif len(options) < 2:
            self.problems.append((d.line, "{check} heeft minstens twee antwoordmogelijkheden nodig"))
        elif not any(o.correct for o in options):
            self.problems.append((d.line, "{check} heeft geen juist antwoord: markeer het met '- [x]'"))
        if block_id is None:
            return None
        return Check(id=block_id, question_html=question_html, options=options, line=d.line)

    def _check_options(self, list_group: list[Token], d: Directive, list_line: int) -> list[Option]:
        options = []
        for item in mdx.top_level_groups(list_group[1:-1]):
            line = d.body_offset + mdx.first_line(item) + 1
            head, rest = _split_item(item)
            first = head[0] if head else None
            if first is None or first.type != "text" or not CHECK_MARKER.match(first.content):
                self.problems.append(
                    (line, "elke antwoordmogelijkheid begint met '[x] ' (juist) of '[ ] ' (niet juist)")
                )
                continue
            correct = first.content[1].lower() == "x"
            first.content = CHECK_MARKER.sub("", first.content, count=1)
            mdx.check_and_rewrite_inline(head, self.links, line)
            label, feedback_inline = _split_at_softbreak(head)
            feedback = self._feedback_html(feedback_inline, rest, d.body_offset)
            if not feedback:
                self.problems.append(
                    (line, "antwoordmogelijkheid zonder feedback: zet de feedback ingesprongen op de regel eronder")
                )
            options.append(Option(mdx.render_inline(label, self.env), correct, feedback))
        return options

    def _feedback_html(self, inline: list[Token], blocks: list[Token], offset: int) -> str:
        mdx.check_and_rewrite_links(blocks, self.links, offset)
        html = ""
        if any(t.content.strip() or t.type != "text" for t in inline):
            html = f"<p>{mdx.render_inline(inline, self.env)}</p>\n"
        return html + mdx.render(blocks, self.env)

    def _vignette(self, d: Directive) -> Vignette | None:
        block_id = self._require_id(d)
        if not d.argument:
            self.problems.append((d.line, "{vignette} heeft een titel nodig: ':::{vignette} Titel van de casus'"))
        tokens = self._parse_body(d)
        intro: list[Token] = []
        steps: dict[str, Step] = {}
        for group in mdx.top_level_groups(tokens):
            if group[0].type == "colon_fence":
                sub = self._directive(group[0], d.body_offset)
                if sub is None:
                    continue
                if sub.name not in ("step", "ending"):
                    self.problems.append(
                        (sub.line, f"blok '{{{sub.name}}}' hoort niet in een casus; alleen {{step}} en {{ending}}")
                    )
                    continue
                step = self._step(sub)
                if step is None:
                    continue
                if step.id in steps:
                    self.problems.append((sub.line, f"stap '{step.id}' komt twee keer voor in deze casus"))
                steps[step.id] = step
            elif steps:
                line = d.body_offset + mdx.first_line(group) + 1
                self.problems.append((line, "tekst tussen de stappen van een casus hoort in een {step}"))
            else:
                intro.extend(group)
        mdx.check_and_rewrite_links(intro, self.links, d.body_offset)
        start = d.options.get("start") or (next(iter(steps)) if steps else None)
        if steps:
            self._check_graph(d, steps, start)
        elif not d.body.strip():
            self.problems.append((d.line, "{vignette} is leeg: schrijf het verhaal van de casus"))
        if block_id is None:
            return None
        self.seen_vignettes.add(block_id)
        return Vignette(
            id=block_id, title=d.argument, intro_html=mdx.render(intro, self.env), steps=steps, start=start, line=d.line
        )

    def _step(self, d: Directive) -> Step | None:
        step_id = d.argument
        if not step_id or not mdx.ID_PATTERN.match(step_id):
            self.problems.append(
                (
                    d.line,
                    f"{{{d.name}}} heeft een naam nodig van kleine letters, cijfers en koppeltekens, bv. ':::{{{d.name}}} gesprek'",
                )
            )
            return None
        narrative: list[Token] = []
        choices: list[Choice] = []
        for group in mdx.top_level_groups(self._parse_body(d)):
            line = d.body_offset + mdx.first_line(group) + 1
            if group[0].type == "bullet_list_open" and _is_choice_list(group):
                if choices:
                    self.problems.append((line, "een stap heeft één lijst met keuzes"))
                choices.extend(self._choices(group, d.body_offset))
            elif choices:
                self.problems.append((line, "na de keuzes van een stap mag geen tekst meer staan"))
            elif group[0].type == "colon_fence":
                self.problems.append((line, f"een {{{d.name}}} kan geen ander blok bevatten"))
            else:
                narrative.extend(group)
        mdx.check_and_rewrite_links(narrative, self.links, d.body_offset)
        is_ending = d.name == "ending"
        if is_ending and choices:
            self.problems.append(
                (d.line, f"einde '{step_id}' heeft keuzes; gebruik {{step}} als het verhaal verder gaat")
            )
        if not narrative:
            self.problems.append((d.line, f"{d.name} '{step_id}' heeft geen tekst"))
        return Step(step_id, mdx.render(narrative, self.env), choices, is_ending, d.line)

    def _choices(self, list_group: list[Token], offset: int) -> list[Choice]:
        choices = []
        for item in mdx.top_level_groups(list_group[1:-1]):
            line = offset + mdx.first_line(item) + 1
            head, rest = _split_item(item)
            if len(head) < 2 or head[0].type != "link_open":
                self.problems.append((line, "elke keuze begint met een link naar de volgende stap: '- [keuze](#stap)'"))
                continue
            close = next(i for i, t in enumerate(head) if t.type == "link_close")
            href = str(head[0].attrGet("href") or "")
            label_tokens = head[1:close]
            after = head[close + 1 :]
            mdx.check_and_rewrite_inline(head, self.links, line, skip=close + 1)
            if after and after[0].type == "softbreak":
                after = after[1:]
            feedback = self._feedback_html(after, rest, offset)
            label_text = mdx.plain_text(label_tokens).strip()
            if not href.startswith("#") or len(href) < 2:
                self.problems.append((line, f"keuze '{label_text}' moet naar een stap wijzen: (#naam-van-de-stap)"))
                continue
            if not feedback:
                self.problems.append(
                    (line, f"keuze '{label_text}' heeft geen feedback: zet die ingesprongen onder de keuze")
                )
            choices.append(Choice(mdx.render_inline(label_tokens, self.env), label_text, href[1:], feedback, line))
        return choices

    def _check_graph(self, d: Directive, steps: dict[str, Step], start: str | None) -> None:
        if start not in steps:
            self.problems.append(
                (d.option_lines.get("start", d.line), f"':start:' verwijst naar onbekende stap '{start}'")
            )
            return
        if not any(s.is_ending for s in steps.values()):
            self.problems.append((d.line, "de casus heeft geen {ending}: elke weg moet op een einde uitkomen"))
        for step in steps.values():
            if not step.is_ending and not step.choices:
                self.problems.append(
                    (step.line, f"stap '{step.id}' loopt dood: geef keuzes of maak er een {{ending}} van")
                )
            for choice in step.choices:
                if choice.target not in steps:
                    self.problems.append(
                        (choice.line, f"keuze '{choice.label_text}' verwijst naar onbekende stap '{choice.target}'")
                    )
        reachable = _reachable(steps, start)
        for step in steps.values():
            if step.id not in reachable:
                self.problems.append(
                    (step.line, f"stap '{step.id}' is onbereikbaar: geen enkele keuze leidt ernaartoe")
                )
        finishing = _can_finish(steps)
        for step in steps.values():
            if step.id in reachable and step.choices and step.id not in finishing:
                self.problems.append(
                    (step.line, f"vanaf stap '{step.id}' is geen einde bereikbaar (een lus zonder uitweg)")
                )


def _split_item(item: list[Token]) -> tuple[list[Token], list[Token]]:
    """A list item's first paragraph as inline children, and the blocks after it."""
    inner = item[1:-1]
    if len(inner) >= 3 and inner[0].type == "paragraph_open" and inner[1].type == "inline":
        return list(inner[1].children or []), inner[3:]
    return [], inner


def _split_at_softbreak(children: list[Token]) -> tuple[list[Token], list[Token]]:
    for i, child in enumerate(children):
        if child.type in ("softbreak", "hardbreak"):
            return children[:i], children[i + 1 :]
    return children, []


def _is_choice_list(group: list[Token]) -> bool:
    items = list(mdx.top_level_groups(group[1:-1]))
    if not items:
        return False
    head, _ = _split_item(items[0])
    return bool(head) and head[0].type == "link_open" and str(head[0].attrGet("href") or "").startswith("#")


def _reachable(steps: dict[str, Step], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        step_id = todo.pop()
        if step_id in seen or step_id not in steps:
            continue
        seen.add(step_id)
        todo.extend(c.target for c in steps[step_id].choices)
    return seen


def _can_finish(steps: dict[str, Step]) -> set[str]:
    """Steps from which some path leads to an ending: one walk backwards from the endings (linear)."""
    leads_here: dict[str, list[str]] = {}
    for step in steps.values():
        for choice in step.choices:
            leads_here.setdefault(choice.target, []).append(step.id)
    finishing = {s.id for s in steps.values() if s.is_ending}
    todo = list(finishing)
    while todo:
        for source in leads_here.get(todo.pop(), ()):
            if source not in finishing:
                finishing.add(source)
                todo.append(source)
    return finishing


def heading_id(title: str) -> tuple[str, str] | None:
    """`Titel {#id}` as (title, id); None without an explicit id. No regex: linear in the title's length."""
    end = title.rstrip()
    if not end.endswith("}"):
        return None
    start = end.rfind("{#")
    if start < 0 or "}" in end[start + 2 : -1]:
        return None
    return end[:start].strip(), end[start + 2 : -1].strip()


def _first_long_line(text: str) -> int:
    """The 1-based number of the first line over MAX_LINE_CHARS, or 0."""
    if len(text) <= MAX_LINE_CHARS:
        return 0
    start = 0
    number = 1
    while True:
        end = text.find("\n", start)
        stop = len(text) if end < 0 else end
        if stop - start > MAX_LINE_CHARS:
            return number
        if end < 0:
            return 0
        start, number = end + 1, number + 1


def _count_words(text: str, front_matter: Token) -> int:
    body = text.split("\n")[front_matter.map[1] :] if front_matter.map else text.split("\n")
    kept = [
        ln
        for ln in _without_lecturer_blocks(body)
        if not ln.lstrip().startswith(":::") and not OPTION.match(ln.strip())
    ]
    return mdx.count_words("\n".join(kept))


def _without_lecturer_blocks(lines: list[str]) -> list[str]:
    """Students never read {lecturer} blocks: they do not count towards a module's words (study time)."""
    kept, fence = [], None
    for line in lines:
        stripped = line.strip()
        if fence is None:
            match = re.match(r"^(:{3,})\{lecturer\}", stripped)
            if match:
                fence = match.group(1)
                continue
            kept.append(line)
        elif stripped == fence:
            fence = None
    return kept


def prompt_hash(title: str, body: str) -> str:
    """A short fingerprint of a prompt's wording; whitespace changes do not count."""
    normalised = " ".join(f"{title}\n{body}".split())
    return hashlib.sha256(normalised.encode()).hexdigest()[:16]


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "sectie"


def parse_module(path: Path) -> tuple[Module | None, list[Problem]]:
    return ModuleParser(path).parse()
