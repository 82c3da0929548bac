"""Long lists in chat, a page at a time: `心愿列表 2`, `待审核 2`."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, Select, bindparam, func, select
from sqlalchemy.orm import Session

from bot.numbers import chinese_or_arabic

PAGE_SIZE = 10


@dataclass(frozen=True)
class Page:
    number: int  # 1-based

    @property
    def offset(self) -> int:
        return (self.number - 1) * PAGE_SIZE

    def more(self, total: int, command: str) -> str | None:
        """`还有N条，发「心愿列表 2」看下一页。` when the list goes on past this page."""
        rest = total - self.offset - PAGE_SIZE
        if rest <= 0:
            return None
        return f"还有{rest}条，发「{command} {self.number + 1}」看下一页。"

    def empty_note(self, total: int, command: str) -> str:
        """A page past the end of the list."""
        pages = max(1, -(-total // PAGE_SIZE))
        return f"没有第{self.number}页了，一共{pages}页。发「{command}」看第1页。"


def take_page(args: str) -> tuple[str, Page]:
    """The words before a trailing page number, and the page: `生活用品 2` -> (`生活用品`, page 2)."""
    head, _, last = args.strip().rpartition(" ")
    number = chinese_or_arabic(last.removeprefix("第").removesuffix("页")) if last else None
    if number is not None and number >= 1:
        return head.strip(), Page(number)
    return args.strip(), Page(1)


class Listing:
    """A list query built once per process (building and keying a statement costs more than
    running it), with its values as bind parameters. A page and the list's total come in one
    statement: the total rides along as an uncorrelated scalar subquery, which both databases
    evaluate once (a window count would drag every row's columns and joins through the sort).
    A page past the end has no row to carry it, so only then is the total asked on its own."""

    def __init__(self, query: Select, *, rows: bool = False, counted: Select | None = None):
        """`rows`: the query selects columns, and a page is its plain rows (which cost a fraction
        of loading mapped objects); else it selects one entity, and a page is those objects.
        `counted`: what the total counts, when the query joins what counting need not read."""
        self._total = select(func.count()).select_from((query if counted is None else counted).order_by(None).subquery())
        self._page = (query.add_columns(self._total.scalar_subquery())
                      .offset(bindparam("page_offset", type_=Integer)).limit(PAGE_SIZE))
        self._rows = rows

    def page(self, session: Session, page: Page, **values) -> tuple[list, int]:
        """The page's entities or rows (a row also carries the total, as its last column) and the total."""
        if self._rows:  # plain rows need none of the ORM's machinery: straight to the connection
            session.flush()  # what session.execute would autoflush (nothing, in a read)
            rows = session.connection().execute(self._page, {**values, "page_offset": page.offset}).all()
        else:
            rows = session.execute(self._page, {**values, "page_offset": page.offset}).all()
        if rows:
            return (rows if self._rows else [row[0] for row in rows]), rows[0][-1]
        return [], (session.scalar(self._total, values) or 0) if page.number > 1 else 0
