"""Pseudonyms: keyed, readable, stable within a class, different across classes, never colliding."""

import re

from app.services import pseudonyms
from app.services.pseudonyms import answer_ref, class_pseudonyms, pseudonym, shuffle_key

SECRET = b"a-secret-key-of-at-least-thirty-two-bytes!"
LABEL = re.compile(r"^(?P<word>[A-Z][A-Za-z]+) (?P<code>[0-9A-HJKMNP-TV-Z]{3,})$")


def test_a_pseudonym_is_a_dutch_word_and_three_readable_characters():
    label = pseudonym(SECRET, class_id=1, user_id=42)
    match = LABEL.match(label)
    assert match, label
    assert match["word"] in pseudonyms.WORDS
    assert len(match["code"]) == 3
    assert not set(match["code"]) & set("ILOU")  # nothing to misread when it is said aloud


def test_the_same_student_keeps_the_same_pseudonym_within_a_class():
    first = class_pseudonyms(SECRET, class_id=7, user_ids=[3, 4, 5])
    again = class_pseudonyms(SECRET, class_id=7, user_ids=[5, 4, 3])
    assert first == again
    # A classmate joining does not change anyone else's pseudonym (barring a collision with them).
    bigger = class_pseudonyms(SECRET, class_id=7, user_ids=[3, 4, 5, 6])
    assert {uid: bigger[uid] for uid in (3, 4, 5)} == first


def test_the_same_student_has_different_pseudonyms_in_different_classes():
    in_one = class_pseudonyms(SECRET, class_id=1, user_ids=range(1, 51))
    in_two = class_pseudonyms(SECRET, class_id=2, user_ids=range(1, 51))
    assert sum(in_one[uid] == in_two[uid] for uid in range(1, 51)) == 0


def test_pseudonyms_depend_on_the_secret_not_only_on_the_ids():
    assert class_pseudonyms(SECRET, class_id=1, user_ids=range(20)) != class_pseudonyms(
        b"another-secret-key-of-thirty-two-bytes", class_id=1, user_ids=range(20)
    )


def test_pseudonyms_do_not_follow_the_roster_order():
    labels = class_pseudonyms(SECRET, class_id=3, user_ids=range(1, 41))
    by_id = [labels[uid] for uid in range(1, 41)]
    assert by_id != sorted(by_id) and by_id != sorted(by_id, reverse=True)


def test_collisions_within_a_class_are_resolved_with_longer_codes_deterministically():
    user_ids = list(range(1, 20001))  # enough students that short labels collide
    labels = class_pseudonyms(SECRET, class_id=9, user_ids=user_ids)
    assert len(set(labels.values())) == len(user_ids)
    longer = [label for label in labels.values() if len(LABEL.match(label)["code"]) > 3]
    assert longer, "expected at least one collision among 20,000 students"
    assert class_pseudonyms(SECRET, class_id=9, user_ids=reversed(user_ids)) == labels
    # The students who did not collide keep the label they would have on their own.
    plain = [uid for uid in user_ids[:200] if len(LABEL.match(labels[uid])["code"]) == 3]
    assert all(labels[uid] == pseudonym(SECRET, class_id=9, user_id=uid) for uid in plain)


def test_answer_refs_are_opaque_per_class_and_do_not_contain_the_id():
    ref = answer_ref(SECRET, class_id=1, answer_id=1234)
    assert re.fullmatch(r"[0-9a-f]{16}", ref)
    assert "1234" not in ref
    assert ref == answer_ref(SECRET, class_id=1, answer_id=1234)
    assert ref != answer_ref(SECRET, class_id=2, answer_id=1234)
    assert ref != answer_ref(SECRET, class_id=1, answer_id=1235)


def test_the_shuffle_is_not_the_order_of_ids():
    ids = list(range(1, 61))
    shuffled = sorted(ids, key=lambda i: shuffle_key(SECRET, class_id=1, prompt_id="p", answer_id=i))
    assert shuffled != ids and shuffled != ids[::-1]
    other_prompt = sorted(ids, key=lambda i: shuffle_key(SECRET, class_id=1, prompt_id="q", answer_id=i))
    assert other_prompt != shuffled
