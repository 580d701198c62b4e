"""Search (§9): ``GET /api/libraries/{id}/_search?q=&limit=&fileId=`` and ``GET /api/search?q=&limit=``.

Both answer ``{"_links": {"self"}, "_embedded": {"inf:search-result": [...]}, "count", "q"}``, best first;
``q`` is echoed as searched (without surrounding whitespace). There is no paging (no ``start``, no
``total``): a nearest-neighbour search has no stable "next page", so ``limit`` (1..100) is the whole
answer. A library's ``_search`` needs ``view_library`` on it (another tenant's, or one not shared with
the caller, is a 404); ``/api/search`` covers exactly the libraries the caller may read, and refuses
``fileId`` (a 400) rather than ignore a filter it cannot apply across libraries.
"""

from __future__ import annotations

import uuid

from django.urls import URLPattern, path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from informer.api.exceptions import DomainError
from informer.api.pagination import parse_int_param
from informer.api.permissions import ObjectPermission
from informer.api.schema import CollectionLinksField
from informer.api.serializers import ApiSerializer
from library import selectors
from library.api.libraries import DETAIL, LibraryLookupMixin
from library.models import Library
from library.services.search import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    SearchHit,
    search_libraries,
    search_query_clean,
)

REL = "inf:search-result"


class SearchResultSerializer(ApiSerializer):
    """One chunk found (built from a ``SearchHit``)."""

    library_id = serializers.UUIDField(read_only=True)
    file_id = serializers.UUIDField(read_only=True)
    filename = serializers.CharField(read_only=True)
    path = serializers.CharField(read_only=True)
    page = serializers.IntegerField(read_only=True, allow_null=True, help_text="The PDF page (from 1), else null.")
    chunk = serializers.IntegerField(read_only=True, help_text="The chunk's ordinal in its file, from 0.")
    text = serializers.CharField(read_only=True)
    score = serializers.FloatField(read_only=True, help_text="Cosine similarity to the query; higher is nearer.")


SEARCH_RESULTS = inline_serializer(
    "SearchResults",
    {
        "_links": CollectionLinksField(),
        "_embedded": inline_serializer("SearchResultsEmbedded", {REL: SearchResultSerializer(many=True)}),
        "count": serializers.IntegerField(min_value=0, max_value=MAX_LIMIT),
        "q": serializers.CharField(),
    },
)
Q_PARAMETER = OpenApiParameter(
    "q",
    {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS},
    required=True,
    description=f"The text to search for, by meaning (not blank; at most {MAX_QUERY_CHARS} characters).",
)
LIMIT_PARAMETER = OpenApiParameter(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    description=f"How many results at most (1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}).",
)
SEARCHED = (
    "Only files indexed with the service's current embedding model are searched (a library not indexed yet "
    "contributes nothing). Results are chunks of text, best first, with their cosine similarity as `score`."
)


def _limit(request: Request) -> int:
    return parse_int_param(request, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)


def _file_id(request: Request) -> uuid.UUID | None:
    raw = request.query_params.get("fileId")
    if raw is None or raw == "":
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise DomainError(f"fileId '{raw[:40]}' is not a UUID.", field="fileId") from None


def _answer(request: Request, q: str, hits: list[SearchHit]) -> Response:
    items = SearchResultSerializer(hits, many=True).data
    return Response(
        {
            "_links": {"self": {"href": request.build_absolute_uri()}},
            "_embedded": {REL: items},
            "count": len(hits),
            "q": q,
        }
    )


class LibrarySearchView(LibraryLookupMixin, APIView):
    """Search one library (``view_library``), optionally one file of it."""

    permission_classes = [ObjectPermission]

    def required_permission(self, library: Library) -> str:
        """What ``ObjectPermission`` asks of the caller: reading the library is enough."""
        return "view_library"

    @extend_schema(
        summary="Search a library's files by meaning",
        description=SEARCHED + " `fileId` keeps the search to one file of the library (another is a 400).",
        operation_id="library_search",
        parameters=[
            Q_PARAMETER,
            LIMIT_PARAMETER,
            OpenApiParameter("fileId", {"type": "string", "format": "uuid"}, description="Only this file."),
        ],
        responses=SEARCH_RESULTS,
    )
    def get(self, request: Request, pk: str) -> Response:
        library = self.get_library(pk)  # unreadable: a 404 before the query is even looked at
        q = search_query_clean(request.query_params.get("q"))
        limit = _limit(request)
        file_id = _file_id(request)
        return _answer(request, q, search_libraries([library], q, limit=limit, file_id=file_id))


class SearchView(APIView):
    """Search every library the caller may read."""

    @extend_schema(
        summary="Search every library you can read, by meaning",
        description=SEARCHED,
        operation_id="search",
        parameters=[Q_PARAMETER, LIMIT_PARAMETER],
        responses=SEARCH_RESULTS,
    )
    def get(self, request: Request) -> Response:
        if "fileId" in request.query_params:
            raise DomainError("fileId applies to one library's _search, not to /api/search.", field="fileId")
        q = search_query_clean(request.query_params.get("q"))
        limit = _limit(request)
        return _answer(request, q, search_libraries(selectors.library_list_for_user(request.user), q, limit=limit))


urlpatterns: list[URLPattern] = [
    path(f"{DETAIL}/_search", LibrarySearchView.as_view(), name="library-search"),
    path("search", SearchView.as_view(), name="search"),
]
