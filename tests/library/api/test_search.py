"""``GET /api/libraries/{id}/_search`` and ``GET /api/search`` (§9): the answer, ranking, limits, bad input, rights."""

from __future__ import annotations

from typing import Any

import pytest

from library.models import Chunk, Library, LibraryFile
from library.services import shares as share_services
from tests.conftest import client_for
from tests.factories import TenantFactory, UserFactory
from tests.library.api.roles import ROLES, assert_error, library_state, make_library, make_roles
from tests.library.factories import LibraryFactory
from tests.library.searching import HASHING, index_texts, result_libraries, result_paths

REL = "inf:search-result"
HIT_KEYS = {"libraryId", "fileId", "filename", "path", "page", "chunk", "text", "score"}


@pytest.fixture(autouse=True)
def _hashing(settings: Any) -> None:
    settings.INFORMER_EMBEDDER = HASHING


@pytest.fixture
def roles(tenant: Any, owner: Any) -> Any:
    library = make_library(owner)
    index_texts(
        library,
        {
            "guides/otters.pdf": [(1, "otters hold hands while sleeping"), (2, "sea otters eat urchins")],
            "notes.txt": ["meeting notes about budgets"],
        },
    )
    return make_roles(tenant, owner, library)


def url(library: Library, query: str = "") -> str:
    return f"/api/libraries/{library.pk}/_search{query}"


def state(db_state: Any) -> dict[str, Any]:
    return {**db_state(), **library_state(), "chunks": list(Chunk.objects.order_by("pk").values())}


def test_the_answer_is_the_envelope_with_each_hit(roles):
    # when
    query = "?q=%20otters%20sleeping%20&limit=1"
    response = roles.clients["view"].get(url(roles.obj, query))

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"_links", "_embedded", "count", "q"}
    assert body["_links"] == {
        "self": {"href": f"http://testserver{url(roles.obj, '?q=%20otters%20sleeping%20&limit=1')}"}
    }
    assert (body["count"], body["q"]) == (1, "otters sleeping")
    (hit,) = body["_embedded"][REL]
    file = LibraryFile.objects.get(library=roles.obj, path="guides/otters.pdf")
    assert set(hit) == HIT_KEYS
    assert {key: value for key, value in hit.items() if key != "score"} == {
        "libraryId": str(roles.obj.pk),
        "fileId": str(file.pk),
        "filename": "otters.pdf",
        "path": "guides/otters.pdf",
        "page": 1,
        "chunk": 0,
        "text": "otters hold hands while sleeping",
    }
    assert isinstance(hit["score"], float) and 0.5 < hit["score"] <= 1.0 + 1e-6


def test_results_come_best_first_with_a_page_only_for_paged_files(roles):
    response = roles.clients["owner"].get(url(roles.obj, "?q=sea+otters+eat+urchins+while+sleeping"))

    assert response.status_code == 200, response.content
    hits = response.json()["_embedded"][REL]
    assert [(hit["path"], hit["chunk"], hit["page"]) for hit in hits][:2] == [
        ("guides/otters.pdf", 1, 2),
        ("guides/otters.pdf", 0, 1),
    ]
    assert [hit["score"] for hit in hits] == sorted((hit["score"] for hit in hits), reverse=True)
    notes = [hit for hit in hits if hit["path"] == "notes.txt"]
    assert all(hit["page"] is None for hit in notes)


def test_limit_caps_the_results_and_defaults_to_ten(roles):
    # given: twelve more chunks that all match
    index_texts(roles.obj, {"many.txt": [f"otters number {n}" for n in range(12)]})
    client = roles.clients["view"]

    # when
    two = client.get(url(roles.obj, "?q=otters&limit=2")).json()
    default = client.get(url(roles.obj, "?q=otters")).json()
    hundred = client.get(url(roles.obj, "?q=otters&limit=100")).json()

    # then
    assert two["count"] == len(two["_embedded"][REL]) == 2
    assert default["count"] == 10
    assert hundred["count"] == 15  # every chunk of the library: 3 + 12
    assert hundred["_embedded"][REL][:2] == default["_embedded"][REL][:2]


def test_file_id_keeps_the_search_to_one_file(roles):
    notes = LibraryFile.objects.get(library=roles.obj, path="notes.txt")

    response = roles.clients["view"].get(url(roles.obj, f"?q=otters+sleeping&fileId={notes.pk}"))

    assert response.status_code == 200, response.content
    assert result_paths(response.json()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "q"),
        ("?q=", "q"),
        ("?q=%20%20%09", "q"),
        ("?q=" + "x" * 1001, "q"),
        ("?q=otters&limit=0", "limit"),
        ("?q=otters&limit=101", "limit"),
        ("?q=otters&limit=-1", "limit"),
        ("?q=otters&limit=ten", "limit"),
        ("?q=otters&limit=1.5", "limit"),
        ("?q=otters&limit=%D9%A3", "limit"),  # an Arabic-Indic three
        ("?q=otters&limit=" + "9" * 400, "limit"),
        ("?q=otters&fileId=not-a-uuid", "fileId"),
        ("?q=otters&fileId=%00", "fileId"),
        ("?q=otters&fileId=6f1f6a3e-0000-4000-8000-000000000000", "fileId"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(roles, db_state, query, field):
    before = state(db_state)

    response = roles.clients["owner"].get(url(roles.obj, query))

    assert_error(response, 400, field)
    assert state(db_state) == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("", "q"),
        ("?q=%20", "q"),
        ("?q=" + "x" * 1001, "q"),
        ("?q=otters&limit=0", "limit"),
        ("?q=otters&limit=101", "limit"),
        ("?q=otters&limit=abc", "limit"),
        ("?q=otters&fileId=6f1f6a3e-0000-4000-8000-000000000000", "fileId"),
    ],
)
def test_bad_input_to_the_search_of_everything_is_a_400_naming_the_field(roles, query, field):
    assert_error(roles.clients["owner"].get(f"/api/search{query}"), 400, field)


def test_the_longest_query_and_a_query_holding_nul_are_searched(roles):
    client = roles.clients["view"]

    longest = client.get(url(roles.obj, "?q=otters+" + "x" * 993))
    nul = client.get(url(roles.obj, "?q=otters%00sleeping"))

    assert longest.status_code == 200, longest.content
    assert len(longest.json()["q"]) == 1000
    assert nul.status_code == 200, nul.content
    assert result_paths(nul.json())[0] == "guides/otters.pdf"


def test_a_folder_or_another_librarys_file_is_no_file_id(roles, owner):
    folder = LibraryFile.objects.create(library=roles.obj, path="guides", filename="guides", directory=True)
    elsewhere = index_texts(LibraryFactory(owner=owner), {"x.txt": ["otters"]})["x.txt"]

    for file_id in (folder.pk, elsewhere.pk):
        body = assert_error(roles.clients["owner"].get(url(roles.obj, f"?q=otters&fileId={file_id}")), 400, "fileId")
        assert body["message"] == f"fileId '{file_id}' is no file of this library."


def test_the_librarys_natural_id_finds_it_too(roles):
    response = roles.clients["view"].get("/api/libraries/alpha:handbook/_search?q=otters")

    assert response.status_code == 200, response.content
    assert result_libraries(response.json()) == {str(roles.obj.pk)}


@pytest.mark.parametrize(
    ("role", "status_code"),
    [("anonymous", 401), ("other_tenant", 404), ("no_share", 404)],
)
def test_search_of_a_library_permission_matrix_denied(roles, db_state, role, status_code):
    before = state(db_state)

    # Even a bad query is not looked at before the library: a 404 (or 401), never a 400 that tells it exists.
    for query in ("?q=otters", "?q=", "?q=otters&limit=0"):
        response = roles.clients[role].get(url(roles.obj, query))
        assert_error(response, status_code)
    assert state(db_state) == before


@pytest.mark.parametrize("role", ["view", "edit", "admin", "owner"])
def test_search_of_a_library_permission_matrix_allowed(roles, role):
    response = roles.clients[role].get(url(roles.obj, "?q=otters"))

    assert response.status_code == 200, response.content
    assert result_libraries(response.json()) == {str(roles.obj.pk)}


@pytest.mark.parametrize("role", ROLES)
def test_search_of_everything_permission_matrix(roles, db_state, role):
    before = state(db_state)

    response = roles.clients[role].get("/api/search?q=otters")

    if role == "anonymous":
        assert_error(response, 401)
    else:
        assert response.status_code == 200, response.content
        found = result_libraries(response.json())
        assert found == (set() if role in ("other_tenant", "no_share") else {str(roles.obj.pk)})
    assert state(db_state) == before


def test_two_tenants_and_a_share_never_show_what_the_caller_cannot_read(tenant, owner):
    # given: the same text in the owner's library, a colleague's shared with the owner, a colleague's
    # not shared, and a library of another tenant
    colleague = UserFactory(username="colleague", tenant=tenant)
    stranger = UserFactory(username="stranger", tenant=TenantFactory(slug="beta"))
    mine = make_library(owner, name="Mine", slug="mine")
    shared = make_library(colleague, name="Shared", slug="shared")
    private = make_library(colleague, name="Private", slug="private")
    foreign = make_library(stranger, name="Foreign", slug="foreign")
    for library in (mine, shared, private, foreign):
        index_texts(library, {f"{library.slug}.txt": ["otters hold hands while sleeping"]})
    share_services.share_set(library=shared, principal=owner, level=1)
    client = client_for(owner)

    # when
    everything = client.get("/api/search?q=otters+sleeping&limit=100")
    stranger_sees = client_for(stranger).get("/api/search?q=otters+sleeping&limit=100")
    foreign_direct = client.get(url(foreign, "?q=otters"))
    private_direct = client.get(url(private, "?q=otters"))

    # then
    assert everything.status_code == 200, everything.content
    assert result_libraries(everything.json()) == {str(mine.pk), str(shared.pk)}
    assert result_libraries(stranger_sees.json()) == {str(foreign.pk)}
    assert_error(foreign_direct, 404)
    assert_error(private_direct, 404)

    # when: the share is revoked
    share_services.share_set(library=shared, principal=owner, level=0)
    after = client.get("/api/search?q=otters+sleeping&limit=100")

    # then
    assert result_libraries(after.json()) == {str(mine.pk)}
    assert_error(client.get(url(shared, "?q=otters")), 404)


def test_a_library_indexed_by_another_model_is_not_searched(roles, owner):
    # given: a library whose chunks (a perfect match) were made by another model
    other = make_library(owner, name="Old", slug="old")
    index_texts(other, {"old.txt": ["otters hold hands while sleeping"]}, model="another-model-v1")
    client = roles.clients["owner"]

    # when
    everything = client.get("/api/search?q=otters+hold+hands+while+sleeping&limit=100")
    direct = client.get(url(other, "?q=otters+hold+hands+while+sleeping"))

    # then
    assert result_libraries(everything.json()) == {str(roles.obj.pk)}
    assert direct.status_code == 200, direct.content
    assert (direct.json()["count"], direct.json()["_embedded"][REL]) == (0, [])
