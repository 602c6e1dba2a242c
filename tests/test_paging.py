"""Long lists are shown a page at a time; a page number from an old link still leads somewhere."""

from app.services.paging import page_of, page_url, paginate


def test_a_list_is_cut_into_pages_that_together_hold_every_item_once():
    items = list(range(53))
    pages = [paginate(items, page=n, per_page=25) for n in (1, 2, 3)]
    assert [len(p.items) for p in pages] == [25, 25, 3]
    assert [i for p in pages for i in p.items] == items
    assert (pages[0].previous, pages[0].next, pages[2].next) == (None, 2, None)
    assert (pages[2].first_index, pages[2].last_index) == (51, 53)


def test_a_malformed_or_out_of_range_page_number_gives_the_nearest_page():
    items = list(range(30))
    assert paginate(items, page="drie", per_page=25).number == 1
    assert paginate(items, page=-4, per_page=25).number == 1
    assert paginate(items, page=99, per_page=25).number == 2
    assert paginate([], page=3, per_page=25).number == 1


def test_the_page_of_an_item_and_the_link_to_it_keep_sort_and_filter():
    assert page_of(0, per_page=25) == 1 and page_of(25, per_page=25) == 2
    assert page_url("/classes/1/progress", 2, sort="-progress", show="") == "/classes/1/progress?sort=-progress&page=2"
    assert page_url("/classes/1/progress", 1) == "/classes/1/progress"
