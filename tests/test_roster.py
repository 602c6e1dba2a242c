"""Roster files as student administrations export them (Osiris, Progress, Brightspace, a spreadsheet)."""

from app.services.roster import parse_roster


def test_a_dutch_export_with_first_middle_and_last_name_columns():
    parsed = parse_roster(
        "Studentnummer;Voornaam;Tussenvoegsel;Achternaam;E-mailadres\n"
        "123;Sanne;de;Vries;S.deVries@student.hs.nl\n"
        "124;Jonas;;Peeters;jonas.peeters@student.hs.be\n"
    )
    assert parsed.problems == []
    assert [(line.name, line.email) for line in parsed.lines] == [
        ("Sanne de Vries", "s.devries@student.hs.nl"),
        ("Jonas Peeters", "jonas.peeters@student.hs.be"),
    ]


def test_a_flemish_export_with_familienaam():
    parsed = parse_roster("Familienaam,Voornaam,E-mail\nClaes,Bo,bo.claes@student.be\n")
    assert [(line.name, line.email) for line in parsed.lines] == [("Bo Claes", "bo.claes@student.be")]


def test_a_header_without_a_name_says_which_columns_it_needs_in_both_spellings():
    parsed = parse_roster("Voornaam;E-mailadres\nSanne;sanne@student.nl\n")
    assert not parsed.lines
    message = parsed.problems[0].message
    assert "voornaam" in message and "achternaam" in message and "e-mailadres" in message


def test_a_plain_two_column_list_still_works():
    parsed = parse_roster("An Peeters,an@school.test\nbo@school.test,Bo Claes\n")
    assert [(line.name, line.email) for line in parsed.lines] == [
        ("An Peeters", "an@school.test"),
        ("Bo Claes", "bo@school.test"),
    ]
