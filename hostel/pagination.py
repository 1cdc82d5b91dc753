from functools import cached_property
from typing import Any

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest


class CappedPaginator(Paginator):
    """Counts at most ``cap`` items, so a page of a filtered million-row list costs no more
    than reading ``cap`` index entries: beyond that the count reads "more than 10,000", and
    pages past the counted ones are still served, each reading one row more than it shows
    to know whether another follows. ``known_count`` (cheap from elsewhere, such as the
    ledger's head row) makes the count exact instead."""

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

    def validate_number(self, number: Any) -> int:
        if not self.capped:
            return super().validate_number(number)
        # No upper bound: the pages past the count exist as long as items do.
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number

    def get_page(self, number: Any) -> Page:
        try:
            return super().get_page(number)
        except EmptyPage:  # past the last item, beyond the count: the last counted page
            return self.page(self.num_pages)

    def page(self, number: Any) -> Page:
        if not self.capped:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.queryset[bottom : bottom + self.per_page + 1])
        if not rows:
            raise EmptyPage(self.error_messages["no_results"])
        return CappedPage(rows[: self.per_page], number, self, more=len(rows) > self.per_page)


class CappedPage(Page):
    """A page of a capped list: whether another follows is read, not computed."""

    def __init__(self, object_list: Any, number: int, paginator: Paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self.more = more

    def has_next(self) -> bool:
        return self.more


def paginate(request: HttpRequest, pages: Paginator) -> tuple[Page, str]:
    """The requested page, and the query string (filters) minus the page number, for the
    page links in includes/_pagination.html."""
    page = pages.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return page, query.urlencode()
