"""The student's flow in the browser, over the pages a student meets: search, details,
save, begin an application, type the draft, see it autosaved, reload, find it there. It
searches for a word from a title the search page lists, never for a fixed word."""

from __future__ import annotations

import pytest

# A browser check takes seconds, a throttled phone more: its own timeout, not the suite's 30 s.
pytestmark = [pytest.mark.browser, pytest.mark.b2c, pytest.mark.critical, pytest.mark.timeout(120)]

DETAILS = "/scholarships/{scholarship_id}"
DRAFT_PAGE = "/applications/{application_id}/draft"
SAVED_ITEM = "/api/v1/me/saved/{scholarship_id}"
APPLICATION = "/api/v1/applications/{application_id}"


def test_student_saves_and_drafts_an_application_in_the_browser(web, sign_in, api, cleanup,
                                                                   student_token, word_from,
                                                                   run_context):
    sign_in("student")  # lands on the search page, which lists what there is
    # The second listed scholarship: the API flow takes its word from the first one and
    # saves for the same account meanwhile.
    listed = web.by_test_id("search-result").nth(1)
    sid = listed.get_attribute("data-scholarship-id")
    title = listed.get_by_test_id("search-result-link").inner_text()
    word = word_from(title)
    web.ensure(sid and word, "the search page to list a second scholarship, with a word in its "
                             "title to search for")
    with web.step("search", lands_on="/search"):
        web.fill("search-input", word)
        web.click("search-submit")
        web.expect("search-total", f"results for {word!r}, a word of {title!r}", text=word)
    found = web.page.locator(f'[data-testid=search-result][data-scholarship-id="{sid}"]')

    with web.step("open_details", lands_on=DETAILS):
        found.get_by_test_id("search-result-link").click()
        web.expect("scholarship-title", "the scholarship's details", text=title)
    cleanup.remove(lambda: api.delete(SAVED_ITEM, path_params={"scholarship_id": sid},
                                      token=student_token(), expect={204, 404}))
    with web.step("save"):
        web.click("save-button")
        web.expect("save-status", "the save to be acknowledged", state="saved")

    def withdraw() -> None:  # the application the editor opened, however far the check got
        app_id = web.param(DRAFT_PAGE, "application_id")
        if app_id:
            api.delete(APPLICATION, path_params={"application_id": app_id},
                       token=student_token(), expect={204, 404})

    cleanup.remove(withdraw)
    with web.step("begin_application", lands_on=DRAFT_PAGE):
        web.click("apply-button")
        web.expect("autosave-status", "the new draft to open", state="loaded")

    essay = f"Synthetic draft, run {run_context.run_id}: why it matters."
    web.type("draft-essay", essay)  # key by key, as a student types: INP measures each key
    with web.step("autosave"):  # from the last key to the acknowledgement
        web.expect("autosave-status", "the autosave to be acknowledged", state="saved")
    with web.step("reload_draft", lands_on=DRAFT_PAGE):
        web.page.reload()
        web.expect("autosave-status", "the draft to open again", state="loaded")
        web.expect("draft-essay", "the typed text after a reload", value=essay)
