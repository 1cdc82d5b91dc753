from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


class CappedPaginator(Paginator):
    """Counts at most ``cap`` items, so a page of a filtered million-row list costs no more
    than reading ``cap`` index entries: beyond that the count reads "10,000+" and the last
    page offered is the one holding the cap-th item. ``known_count`` (cheap from elsewhere,
    such as the ledger's head row) makes the count exact instead."""

    def __init__(
        self, object_list: QuerySet[Any], per_page: int, *, cap: int, known_count: int | None = None
    ) -> None:
        super().__init__(object_list, per_page)
        self.queryset = object_list
        self.cap = cap
        self.known_count = known_count

    @cached_property
    def _bounded_count(self) -> int:
        if self.known_count is not None:
            return self.known_count
        # Any cap + 1 matches will do: no ordering, so the planner need not walk an index.
        return self.queryset.order_by()[: self.cap + 1].count()

    @cached_property
    def count(self) -> int:
        return self.cap if self.capped else self._bounded_count

    @cached_property
    def capped(self) -> bool:
        """True when more items exist than were counted."""
        return self.known_count is None and self._bounded_count > self.cap


def paginate(
    request: HttpRequest, items: Any, per_page: int, *, paginator: Paginator | None = None
) -> tuple[Page, str]:
    """The requested page of ``items``, and the query string (filters) minus the page number,
    for the page links in includes/_pagination.html."""
    pages = paginator or Paginator(items, per_page)
    page = pages.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()
