"""Anonymised review: a lecturer reads what a class submitted, under pseudonyms, only from k students on."""

from __future__ import annotations

import csv
import io
import re

from sqlmodel import select

from app.models import (
    Answer,
    AnswerRevision,
    CourseClass,
    DiscussionMark,
    Feedback,
)
from app.services import classes, reflections, review
from app.services.pseudonyms import answer_ref, class_pseudonyms, prompt_scope
from tests.factories import (
    add_students,
    assign,
    cards_on,
    csrf,
    finish_walk,
    first_prompt,
    make_class,
    make_user,
    refs_on,
    review_url,
    submit,
    submit_all,
)
from tests.pages import (
    error_for,
    field,
    fields,
    has,
    one,
    pager_links,
    parse,
    table_rows,
    text_of,
    texts,
    top_level,
)
from tests.pages import select as select_all
from tests.querycount import count_queries

# -- the k gate -----------------------------------------------------------------------------------


def test_answers_stay_hidden_until_k_students_have_submitted(client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    students = add_students(session, course_class, 5)
    for n, student in enumerate(students[:4]):
        submit(session, student, module, prompt_id, f"Hidden answer number {n}")
    page = client.get(review_url(course_class, module, prompt_id))
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Hidden answer" not in page.text
    # Issue 12: no live count of submissions (it would change with each one); rounds are explained.
    assert "No answers to this question are shown yet." in page.text
    assert "once at least 5 students of this class have submitted since the last round" in page.text
    assert fields(page.text, "ref") == [] and refs_on(page.text) == []
    for query in ("?page=2", "?page=abc"):  # whatever the page
        other_page = client.get(review_url(course_class, module, prompt_id) + query)
        assert other_page.status_code == 200 and "Hidden answer" not in other_page.text
        assert fields(other_page.text, "ref") == [] and refs_on(other_page.text) == []
        assert "No answers to this question are shown yet." in other_page.text
    assert (
        client.get(review_url(course_class, module, prompt_id) + "/export.csv", follow_redirects=False).status_code
        == 303
    )
    overview = client.get(review_url(course_class, module)).text
    assert "waiting for the first round" in overview

    submit(session, students[4], module, prompt_id, "Hidden answer number 4")
    page = client.get(review_url(course_class, module, prompt_id)).text
    assert all(f"Hidden answer number {n}" in page for n in range(5))
    assert len(refs_on(page)) == 5


def test_a_class_can_ask_for_more_than_the_default_but_never_fewer_than_three(client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    for n, student in enumerate(add_students(session, course_class, 3)):
        submit(session, student, module, prompt_id, f"Small group answer {n}")
    settings_url = f"/classes/{course_class.id}/settings"
    form = {"name": course_class.name, "programme": "", "academic_year": "", "csrf_token": csrf(client, settings_url)}
    refused = client.post(settings_url, data={**form, "min_group_size": "2"})
    assert refused.status_code == 400 and "at least 3" in refused.text
    assert field(refused.text, "min_group_size").value == "2"  # what was typed is kept
    assert "Small group answer" not in client.get(review_url(course_class, module, prompt_id)).text
    client.post(settings_url, data={**form, "min_group_size": "3"})
    assert "Small group answer 2" in client.get(review_url(course_class, module, prompt_id)).text


# -- what is shown ------------------------------------------------------------------------------


def test_the_latest_revision_is_shown_with_a_flag_for_an_earlier_prompt_version(client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    students = add_students(session, course_class, 5)
    answers = [submit(session, s, module, prompt_id, f"First text {n}") for n, s in enumerate(students[:4])]
    submit(session, students[4], module, prompt_id, "Written for the old wording", prompt_hash="0000000000000000")
    session.add(
        AnswerRevision(
            answer_id=answers[0].id,
            text="Second, better text",
            module_version=module.version,
            prompt_hash=module.reflections[prompt_id].prompt_hash,
        )
    )
    session.commit()
    # Issue 12: a resubmission is shown with the next round, not the moment it is made.
    page = client.get(review_url(course_class, module, prompt_id)).text
    assert "First text 0" in page and "Second, better text" not in page
    submit_all(session, add_students(session, course_class, 5), module, prompt_id, text="Next round {n}")
    page = client.get(review_url(course_class, module, prompt_id)).text
    assert "Second, better text" in page and "First text 0" not in page
    assert page.count("earlier version of the question") == 1
    assert module.reflections[prompt_id].title in page  # the prompt beside the answers
    assert "Module version" in page


def test_answers_are_shuffled_not_in_the_order_of_accounts(client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    students = add_students(session, course_class, 25)  # whole rounds of 5
    submit_all(session, students, module, prompt_id, text="Ordered answer {n:02d}.")
    page = client.get(review_url(course_class, module, prompt_id)).text
    shown = [int(n) for n in re.findall(r"Ordered answer (\d\d)\.", page)]
    assert sorted(shown)[:24] == list(range(24))
    assert shown != sorted(shown) and shown != sorted(shown, reverse=True)
    again = [
        int(n)
        for n in re.findall(r"Ordered answer (\d\d)\.", client.get(review_url(course_class, module, prompt_id)).text)
    ]
    assert again == shown  # stable while the lecturer works through them


def test_a_student_has_a_new_pseudonym_per_prompt_unless_the_class_keeps_one_and_another_in_another_class(
    app, client, session, taught
):
    """Issue 12: pseudonyms per prompt by default (one across prompts lets a lecturer line up a
    student's answers); a class may keep one across prompts. Each class writes its own answers."""
    lecturer, course_class, module = taught
    other_class = make_class(session, lecturer=lecturer, name="SW2B")
    assign(session, other_class, module)
    prompts = list(module.reflections)[:2]
    classmates = add_students(session, course_class, 4)
    others = add_students(session, other_class, 4)
    shared = make_user(session, name="Shared Student")
    for course in (course_class, other_class):
        classes.enrol(session, course_class=course, student=shared)
    answers = {}
    for prompt_id in prompts:
        for student in classmates + others:
            submit(session, student, module, prompt_id, f"Filler {student.id} {prompt_id}")
        for course in (course_class, other_class):  # once per class
            answer = submit(session, shared, module, prompt_id, f"The shared student answers {prompt_id}.")
            answer.class_id = course.id
            session.add(answer)
            session.commit()
            answers[course.id, prompt_id] = answer

    def pseudonym_of_shared(course, prompt_id) -> str:
        cards = cards_on(client.get(review_url(course, module, prompt_id)).text)
        return next(label for _ref, label, text in cards if text == f"The shared student answers {prompt_id}.")

    first = pseudonym_of_shared(course_class, prompts[0])
    assert first != pseudonym_of_shared(course_class, prompts[1])
    elsewhere = pseudonym_of_shared(other_class, prompts[0])
    assert first != elsewhere
    course_class = session.get(CourseClass, course_class.id)
    course_class.shared_pseudonyms = True
    session.add(course_class)
    session.commit()
    kept = pseudonym_of_shared(course_class, prompts[0])
    assert kept == pseudonym_of_shared(course_class, prompts[1])
    expected = class_pseudonyms(
        app.state.secret, class_id=course_class.id, user_ids=[s.id for s in classmates] + [shared.id]
    )
    assert kept == expected[shared.id]


def test_only_modules_assigned_to_the_class_are_reviewed(app, client, session, taught):
    _lecturer, course_class, module = taught
    other = app.state.catalogue.published()[1]
    assert client.get(review_url(course_class, other)).status_code == 404
    assert client.get(review_url(course_class, other, first_prompt(other))).status_code == 404
    assert client.get(review_url(course_class, module, "no-such-prompt")).status_code == 404


# -- feedback and marks -------------------------------------------------------------------------


def _five_answers(session, course_class, module, prompt_id):
    students = add_students(session, course_class, 5)
    return students, [submit(session, s, module, prompt_id, f"Reflection text {n}") for n, s in enumerate(students)]


def test_feedback_reaches_the_student_and_their_reply_shows_under_the_same_pseudonym(app, client, session, taught):
    lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    students, answers = _five_answers(session, course_class, module, prompt_id)
    url = review_url(course_class, module, prompt_id)
    ref = answer_ref(app.state.secret, class_id=course_class.id, answer_id=answers[2].id)
    page = client.get(url).text
    assert ref in refs_on(page)
    response = client.post(
        f"{url}/feedback",
        data={"ref": ref, "feedback": "What did you notice in yourself?", "csrf_token": csrf(client, url)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == f"{url}#answer-{ref}"
    feedback = session.exec(select(Feedback)).one()
    revision = session.exec(select(AnswerRevision).where(AnswerRevision.answer_id == answers[2].id)).one()
    assert (feedback.answer_id, feedback.revision_id, feedback.class_id, feedback.author_id) == (
        answers[2].id,
        revision.id,
        course_class.id,
        lecturer.id,
    )

    # The student (app.services.reflections, built by the student side) replies once.
    reflections.reply_to_feedback(
        session, user_id=students[2].id, feedback_id=feedback.id, text="That I wanted to fix it too quickly."
    )
    page = client.get(url).text
    card = one(page, f"article.review-answer#answer-{ref}")
    assert text_of(one(card, ".review-answer__text")) == "Reflection text 2"
    assert texts(card, ".review-thread__item > .review-thread__text") == ["What did you notice in yourself?"]
    # Issue 12: a lone reply would tell who just replied (ask a student in class to reply, watch which
    # card changes): replies are shown in rounds of k, like answers.
    assert "That I wanted to fix it too quickly." not in str(card)  # anywhere in the card, attributes too
    assert not has(card, ".review-thread__reply")
    assert text_of(one(card, ".review-thread__item > .review-thread__meta")).startswith("Your feedback · ")
    for n, answer in enumerate(answers):
        if n != 2:
            revision = session.exec(select(AnswerRevision).where(AnswerRevision.answer_id == answer.id)).one()
            other = review.give_feedback(
                session,
                course_class=course_class,
                answer_id=answer.id,
                revision_id=revision.id,
                author=lecturer,
                text="And you?",
            )
            reflections.reply_to_feedback(session, user_id=students[n].id, feedback_id=other.id, text=f"Reply {n}")
    page = client.get(url).text
    label = class_pseudonyms(
        app.state.secret,
        class_id=course_class.id,
        user_ids=[s.id for s in students],
        scope=prompt_scope(module.slug, prompt_id),
    )[students[2].id]
    card = one(page, f"article.review-answer#answer-{ref}")
    reply = one(card, ".review-thread__reply")
    assert text_of(one(reply, ".review-thread__text")) == "That I wanted to fix it too quickly."
    assert text_of(one(reply, ".review-thread__meta")).startswith(f"Reply from {label} · ")
    overview = client.get(review_url(course_class, module)).text
    [row] = [
        row
        for row in table_rows(one(overview, 'section[aria-labelledby="prompts-title"] table'))
        if row["Question"].startswith(module.reflections[prompt_id].title)
    ]
    assert (row["Feedback"], row["Replies"]) == ("5", "5")


def test_empty_feedback_returns_the_form_with_a_message(app, client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    _students, _answers = _five_answers(session, course_class, module, prompt_id)
    url = review_url(course_class, module, prompt_id)
    ref = refs_on(client.get(url).text)[0]
    response = client.post(f"{url}/feedback", data={"ref": ref, "feedback": "   ", "csrf_token": csrf(client, url)})
    assert response.status_code == 400
    assert error_for(one(response.text, f"article#answer-{ref}"), "feedback") == "Write your feedback first."
    too_long = "x" * 5001
    response = client.post(f"{url}/feedback", data={"ref": ref, "feedback": too_long, "csrf_token": csrf(client, url)})
    assert response.status_code == 400 and too_long in response.text  # what was typed is kept
    assert session.exec(select(Feedback)).first() is None


def test_htmx_feedback_and_marks_swap_only_the_answer_card(app, client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    _students, _answers = _five_answers(session, course_class, module, prompt_id)
    url = review_url(course_class, module, prompt_id)
    ref = refs_on(client.get(url).text)[1]
    token = csrf(client, url)
    htmx = {"HX-Request": "true", "X-CSRF-Token": token}
    response = client.post(f"{url}/feedback", data={"ref": ref, "feedback": "Thank you, clear."}, headers=htmx)
    assert response.status_code == 200
    [card] = top_level(response.text)  # the card alone, to swap in for the old one
    assert (card.name, card["id"], card["class"]) == ("article", f"answer-{ref}", ["review-answer"])
    assert not select_all(response.text, "html, body")
    assert "Thank you, clear." in texts(card, ".review-thread__text")
    invalid = client.post(f"{url}/feedback", data={"ref": ref, "feedback": ""}, headers=htmx)
    assert invalid.status_code == 200 and "Write your feedback first." in invalid.text  # htmx swaps 2xx only

    marked = client.post(f"{url}/discuss", data={"ref": ref, "mark": "1"}, headers=htmx)
    assert "to discuss in class" in texts(marked.text, f"#answer-{ref} .review-answer__meta .badge")
    assert one(marked.text, f"#answer-{ref} form.review-discuss-form button")["aria-pressed"] == "true"
    assert session.exec(select(DiscussionMark)).one().class_id == course_class.id
    unmarked = client.post(f"{url}/discuss", data={"ref": ref, "mark": "0"}, headers=htmx)
    assert one(unmarked.text, f"#answer-{ref} form.review-discuss-form button")["aria-pressed"] == "false"
    session.commit()
    assert session.exec(select(DiscussionMark)).first() is None


def test_refs_of_other_classes_prompts_or_made_up_ones_are_404(app, client, session, taught):
    lecturer, course_class, module = taught
    prompt_id, second_prompt = list(module.reflections)[:2]
    _students, answers = _five_answers(session, course_class, module, prompt_id)
    url = review_url(course_class, module, prompt_id)
    token = csrf(client, url)
    other_class = make_class(session, lecturer=lecturer, name="Elsewhere")
    other_ref = answer_ref(app.state.secret, class_id=other_class.id, answer_id=answers[0].id)
    for ref in (other_ref, "0123456789abcdef", str(answers[0].id)):
        response = client.post(f"{url}/feedback", data={"ref": ref, "feedback": "Hi", "csrf_token": token})
        assert response.status_code == 404, ref
    own_ref = answer_ref(app.state.secret, class_id=course_class.id, answer_id=answers[0].id)
    wrong_prompt = review_url(course_class, module, second_prompt)
    response = client.post(f"{wrong_prompt}/feedback", data={"ref": own_ref, "feedback": "Hi", "csrf_token": token})
    assert response.status_code == 404
    assert client.post(f"{url}/discuss", data={"ref": "", "csrf_token": token}).status_code == 400
    assert session.exec(select(Feedback)).first() is None


def test_an_archived_class_can_be_read_but_takes_no_feedback(app, client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    _five_answers(session, course_class, module, prompt_id)
    url = review_url(course_class, module, prompt_id)
    ref = refs_on(client.get(url).text)[0]
    classes.archive_class(session, course_class=course_class)
    page = client.get(url)
    assert page.status_code == 200 and "Reflection text 0" in page.text and "/feedback" not in page.text
    response = client.post(f"{url}/feedback", data={"ref": ref, "feedback": "Late", "csrf_token": csrf(client, url)})
    assert response.status_code == 409


# -- a big class: the answers in pages ----------------------------------------------------------


def _thirty_answers(app, session, course_class, module, prompt_id) -> dict[str, Answer]:
    """30 submitted answers ("Paged answer 00." ...), by their ref."""
    answers = submit_all(
        session, add_students(session, course_class, 30), module, prompt_id, text="Paged answer {n:02d}."
    )
    return {answer_ref(app.state.secret, class_id=course_class.id, answer_id=a.id): a for a in answers}


def _side_panel(html: str) -> dict[str, str]:
    """The counts beside the prompt: term -> value."""
    return {
        text_of(one(pair, "dt")): text_of(one(pair, "dd"))
        for pair in select_all(html, "aside.review-prompt dl.stat-list > div")
    }


def test_a_big_class_is_read_25_answers_a_page_with_the_counts_over_all_answers(app, client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    by_ref = _thirty_answers(app, session, course_class, module, prompt_id)
    url = review_url(course_class, module, prompt_id)

    first = client.get(url).text
    second = client.get(f"{url}?page=2").text
    on_first, on_second = cards_on(first), cards_on(second)
    assert len(on_first) == 25 and len(on_second) == 5
    first_refs, second_refs = {ref for ref, _, _ in on_first}, {ref for ref, _, _ in on_second}
    assert not first_refs & second_refs  # no answer on both pages
    assert first_refs | second_refs == set(by_ref)  # together: every answer
    assert sorted(text for *_, text in on_first + on_second) == [f"Paged answer {n:02d}." for n in range(30)]
    assert cards_on(client.get(f"{url}?page=2").text) == on_second  # page 2 always holds the same answers

    # The lecturer pages through, above and below the list; page 1 has no ?page=.
    assert len(select_all(first, "nav.page-nav")) == 2 and pager_links(first) == {"next": f"{url}?page=2"}
    assert "Answers 1–25 of 30" in first
    assert len(select_all(second, "nav.page-nav")) == 2 and pager_links(second) == {"prev": url}
    assert "Answers 26–30 of 30" in second
    assert "Page 2 of 2" in second

    # The counts beside the prompt are over all 30 answers, not the page: marks and an older wording
    # on page 2's answers only still count on page 1.
    for ref in second_refs:
        answer = by_ref[ref]
        session.add(DiscussionMark(class_id=course_class.id, answer_id=answer.id))
        revision = session.exec(select(AnswerRevision).where(AnswerRevision.answer_id == answer.id)).one()
        revision.prompt_hash = "0000000000000000"
        session.add(revision)
    session.commit()
    first = client.get(url).text
    assert _side_panel(first) == {"Shown": "30", "For an earlier version": "5", "Marked to discuss": "5"}
    assert "earlier version of the question" not in first and select_all(first, '[aria-pressed="true"]') == []
    on_page_2 = client.get(f"{url}?page=2").text
    assert len(select_all(on_page_2, '[aria-pressed="true"]')) == 5
    pressed = select_all(on_page_2, 'article.review-answer form.review-discuss-form button[aria-pressed="true"]')
    assert {button.find_parent("article")["id"] for button in pressed} == {f"answer-{ref}" for ref in second_refs}

    # The exports hold all answers, whatever the page.
    rows = list(csv.reader(io.StringIO(client.get(f"{url}/export.csv").content.decode("utf-8-sig"))))
    assert sorted(row[2] for row in rows[1:]) == [f"Paged answer {n:02d}." for n in range(30)]
    assert sum(row[4] == "yes" for row in rows[1:]) == 5
    markdown = client.get(f"{url}/export.md").text
    assert all(f"> Paged answer {n:02d}." in markdown for n in range(30))


def test_a_page_number_that_does_not_exist_shows_the_nearest_page(app, client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    _thirty_answers(app, session, course_class, module, prompt_id)
    url = review_url(course_class, module, prompt_id)
    first, last = cards_on(client.get(url).text), cards_on(client.get(f"{url}?page=2").text)
    for query, expected in [
        ("abc", first),
        ("0", first),
        ("-3", first),
        ("", first),
        ("2.5", first),
        ("999", last),
        ("3", last),
    ]:
        response = client.get(f"{url}?page={query}")
        assert response.status_code == 200, query
        assert cards_on(response.text) == expected, query


def test_without_javascript_feedback_and_marks_return_to_the_page_that_holds_the_answer(app, client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    by_ref = _thirty_answers(app, session, course_class, module, prompt_id)
    url = review_url(course_class, module, prompt_id)
    token = csrf(client, url)
    on_first, on_second = refs_on(client.get(url).text), refs_on(client.get(f"{url}?page=2").text)
    ref = on_second[3]

    response = client.post(
        f"{url}/feedback",
        data={"ref": ref, "feedback": "Seen on page two.", "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == f"{url}?page=2#answer-{ref}"
    landed = client.get(response.headers["location"].split("#")[0]).text
    card = one(landed, f"article.review-answer#answer-{ref}")
    assert texts(card, ".review-thread__item > .review-thread__text") == ["Seen on page two."]
    assert text_of(one(card, ".review-answer__text")) == by_ref[ref].text

    response = client.post(
        f"{url}/discuss", data={"ref": ref, "mark": "1", "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == f"{url}?page=2#answer-{ref}"
    response = client.post(
        f"{url}/discuss", data={"ref": on_first[0], "mark": "1", "csrf_token": token}, follow_redirects=False
    )
    assert response.headers["location"] == f"{url}#answer-{on_first[0]}"  # page 1: no ?page=
    session.commit()
    assert len(session.exec(select(DiscussionMark)).all()) == 2


def test_invalid_feedback_without_javascript_shows_the_page_that_holds_the_answer_with_the_text(
    app, client, session, taught
):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    _thirty_answers(app, session, course_class, module, prompt_id)
    url = review_url(course_class, module, prompt_id)
    token = csrf(client, url)
    on_second = refs_on(client.get(f"{url}?page=2").text)
    ref = on_second[1]
    typed = "A thought I do not want to lose. " * 160  # over 5,000 characters

    response = client.post(f"{url}/feedback", data={"ref": ref, "feedback": typed, "csrf_token": token})
    assert response.status_code == 400
    assert refs_on(response.text) == on_second and "Page 2 of 2" in response.text
    card = one(response.text, f"article.review-answer#answer-{ref}")
    assert field(card, "feedback").value.strip() == typed.strip()
    assert "Use at most 5000 characters." in error_for(card, "feedback")
    assert "Your feedback was not sent." in response.text
    session.commit()
    assert session.exec(select(Feedback)).first() is None


def test_htmx_feedback_on_an_answer_of_a_later_page_swaps_its_card(app, client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    _thirty_answers(app, session, course_class, module, prompt_id)
    url = review_url(course_class, module, prompt_id)
    htmx = {"HX-Request": "true", "X-CSRF-Token": csrf(client, url)}
    ref = refs_on(client.get(f"{url}?page=2").text)[4]
    response = client.post(f"{url}/feedback", data={"ref": ref, "feedback": "Well put."}, headers=htmx)
    assert response.status_code == 200
    [card] = top_level(response.text)
    assert (card.name, card["id"], card["class"]) == ("article", f"answer-{ref}", ["review-answer"])
    assert "Well put." in texts(card, ".review-thread__text") and select_all(response.text, ".page-nav") == []
    marked = client.post(f"{url}/discuss", data={"ref": ref, "mark": "1"}, headers=htmx)
    [card] = top_level(marked.text)
    assert (card.name, card["id"], card["class"]) == (
        "article",
        f"answer-{ref}",
        ["review-answer", "review-answer--marked"],
    )


# -- exports ------------------------------------------------------------------------------------


def test_a_prompt_exports_as_markdown_and_csv_with_pseudonyms_and_days_only(app, client, session, taught):
    _lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    students = add_students(session, course_class, 5)
    texts = ['=HYPERLINK("http://evil")', "Line one\nLine two", "Plain", "Met, komma", "Laatste"]
    answers = [submit(session, s, module, prompt_id, t) for s, t in zip(students, texts, strict=True)]
    session.add(DiscussionMark(class_id=course_class.id, answer_id=answers[2].id))
    session.commit()
    url = review_url(course_class, module, prompt_id)
    labels = class_pseudonyms(
        app.state.secret,
        class_id=course_class.id,
        user_ids=[s.id for s in students],
        scope=prompt_scope(module.slug, prompt_id),
    )
    # The day in the school's time zone: between 22:00 and midnight UTC it is already tomorrow there.
    today = review.local_day(answers[0].submitted_at).isoformat()

    response = client.get(f"{url}/export.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="{prompt_id}-anonymised.csv"' in response.headers["content-disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    # Then one column per criterion of the prompt's rubric (issue 20: exports include levels).
    assert rows[0] == ["pseudonym", "date", "text", "earlier_version", "discuss", "level:diepgang"]
    assert sorted(row[0] for row in rows[1:]) == sorted(labels.values())
    assert {row[1] for row in rows[1:]} == {today}
    by_label = {row[0]: row for row in rows[1:]}
    assert by_label[labels[students[0].id]][2] == '\'=HYPERLINK("http://evil")'  # no formula in a spreadsheet
    assert by_label[labels[students[1].id]][2] == "Line one\nLine two"
    assert by_label[labels[students[2].id]][4] == "yes"

    markdown = client.get(f"{url}/export.md")
    assert markdown.headers["content-type"].startswith("text/markdown")
    text = markdown.text
    assert text.startswith(f"# {module.reflections[prompt_id].title}")
    assert all(f"## {label} · {today}" in text for label in labels.values())
    assert "> Line one\n> Line two" in text
    assert "Marked to discuss in class." in text
    for student in students:
        assert student.display_name not in text and student.email not in text


# -- choices in branching vignettes ------------------------------------------------------------


def test_choice_distributions_show_from_k_students_using_each_students_latest_walk(app, client, session, taught):
    _lecturer, course_class, module = taught
    vignette = module.branching_vignettes()[0]
    first_step = vignette.steps[vignette.start]
    students = add_students(session, course_class, 10)
    for student in students[:4]:
        finish_walk(session, student, module, vignette, [0])
    page = client.get(review_url(course_class, module)).text
    assert vignette.title in page and "The choices are shown in rounds" in page
    assert first_step.choices[0].label_html not in page

    finish_walk(session, students[0], module, vignette, [1])  # a second walk: the latest one counts
    for student in students[4:9]:
        finish_walk(session, student, module, vignette, [1])
    finish_walk(session, students[9], module, vignette, [0])  # closes the second round of 5
    page = client.get(review_url(course_class, module)).text
    assert "Based on the latest walk of 10 students." in page
    distribution = one(page, f'section.distribution[aria-labelledby="vignette-{vignette.id}-title"]')
    first_choice = select_all(distribution, ".distribution__step")[0]
    assert text_of(one(first_choice, "summary")) == "Choice 1: the situation"
    rows = table_rows(one(first_choice, "table"))
    assert [(row["Students"], row["Share"]) for row in rows][:2] == [("4", "40%"), ("6", "60%")]
    assert [row["Option"] for row in rows][:2] == [text_of(parse(c.label_html)) for c in first_step.choices[:2]]


# -- performance ------------------------------------------------------------------------------


def test_the_review_of_a_prompt_uses_a_fixed_number_of_queries(app, client, session, taught):
    lecturer, course_class, module = taught
    prompt_id = first_prompt(module)
    url = review_url(course_class, module, prompt_id)

    def grow(count: int) -> None:
        answers = submit_all(session, add_students(session, course_class, count), module, prompt_id)
        latest = {
            r.answer_id: r.id
            for r in session.exec(select(AnswerRevision).where(AnswerRevision.answer_id.in_([a.id for a in answers])))
        }
        session.add_all(
            [
                Feedback(
                    answer_id=a.id,
                    revision_id=latest[a.id],
                    class_id=course_class.id,
                    author_id=lecturer.id,
                    text="Noted.",
                    reply_text="Thanks",
                )
                for a in answers[::3]
            ]
        )
        session.add_all([DiscussionMark(class_id=course_class.id, answer_id=a.id) for a in answers[::5]])
        session.commit()

    grow(30)
    client.get(url)  # warm up
    with count_queries(app.state.engine) as small:
        page = client.get(url)
    assert len(refs_on(page.text)) == 25  # one page of them
    grow(270)
    with count_queries(app.state.engine) as changed:
        client.get(url)  # the first view since the class's work changed works out the release again
    with count_queries(app.state.engine) as large:
        page = client.get(url)
    assert len(refs_on(page.text)) == 25
    assert changed.count == large.count + 2, f"after a change:\n{changed}\nthen:\n{large}"
    with count_queries(app.state.engine) as later_page:
        page = client.get(f"{url}?page=12")
    assert len(refs_on(page.text)) == 25 and "Answers 276–300 of 300" in page.text
    assert small.count == large.count == later_page.count, f"30 answers:\n{small}\n300 answers:\n{large}"
    # measured: 10 on SQLite (with BEGIN): the page, the class's work version (the release of the rounds is
    # kept per version: app/services/work_cache.py), the lecturers' marks and assessments, the reply times,
    # the feedback and the texts of the 25 answers shown, and the access log's "read today already?" (the
    # first read of a day also writes its row, app/services/access_log.py). Texts are read (and decrypted)
    # for the page only, so the page's cost does not grow with the class (benchmarks/growth.py).
    assert large.count <= 10, str(large)
    texts_read = [s for s in large.statements if "answer_revision.text" in s or "feedback.text" in s]
    assert texts_read and all(s.count("?") <= 25 + 2 for s in texts_read), texts_read  # one page of ids
    with count_queries(app.state.engine) as overview:
        client.get(review_url(course_class, module))
    assert overview.count <= 12, str(overview)
