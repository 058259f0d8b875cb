"""The student flow: browse, search, details, save, begin an application, autosave, read it
back. It searches for a word from a title the target lists, never for a fixed word."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.b2c, pytest.mark.critical]

SCHOLARSHIP = "/api/v1/scholarships/{scholarship_id}"
SAVED_ITEM = "/api/v1/me/saved/{scholarship_id}"
APPLICATION = "/api/v1/applications/{application_id}"
DRAFT = "/api/v1/applications/{application_id}/draft"


def test_student_searches_saves_and_drafts_an_application(api, student, word_from, cleanup):
    token = student.access_token
    listing = api.get("/api/v1/scholarships", expect=200, schema="scholarship-search")
    listed = listing.json()["items"]
    listing.ensure(listed, "the target to list at least one scholarship")
    title = listed[0]["title"]
    word = word_from(title)
    listing.ensure(word, f"a word in the title of the first listed scholarship ({title!r})")
    search = api.get("/api/v1/scholarships", params={"q": word}, expect=200,
                     schema="scholarship-search")
    items = search.json()["items"]
    search.ensure(items, f"a search for {word!r}, a word of the listed title {title!r}, to "
                         f"find at least one")
    sid = items[0]["id"]

    details = api.get(SCHOLARSHIP, path_params={"scholarship_id": sid}, expect=200,
                      schema="scholarship")
    details.ensure(details.json()["id"] == sid, f"the details of {sid}")

    cleanup.remove(lambda: api.delete(SAVED_ITEM, path_params={"scholarship_id": sid},
                                      token=token, expect={204, 404}))
    api.post("/api/v1/me/saved", json={"scholarship_id": sid}, token=token,
             expect={200, 201}, schema="saved-item")
    saved = api.get("/api/v1/me/saved", token=token, expect=200, schema="saved-list")
    saved.ensure(sid in {i["scholarship_id"] for i in saved.json()["items"]},
                 f"the saved list to hold {sid}")

    withdraw = cleanup.remove_created(lambda created: api.delete(
        APPLICATION, path_params={"application_id": created["id"]}, token=token,
        expect={204, 404}))
    begun = api.post("/api/v1/applications", json={"scholarship_id": sid}, token=token,
                     expect=201, schema="application", learn=withdraw)
    application = begun.json()
    app_id = application["id"]
    begun.ensure(application["status"] == "draft" and application["draft"]["version"] == 0,
                 "a new application to be a draft at version 0")

    content = {"essay": f"Synthetic draft {begun.synthetic_id}: why this matters to me.",
               "answers": {"gpa": 3.7, "levels": ["undergraduate"], "first_generation": True}}
    put = api.put(DRAFT, path_params={"application_id": app_id},
                  json={"version": 0, "content": content}, token=token, expect=200,
                  schema="draft")
    put.ensure(put.json()["version"] == 1, "the autosave to bump the version to 1")

    back = api.get(DRAFT, path_params={"application_id": app_id}, token=token, expect=200,
                   schema="draft")
    draft = back.json()
    back.ensure(draft["content"] == content, "the draft read back exactly as autosaved")
    back.ensure(draft["version"] == 1, "the draft read back at version 1")
