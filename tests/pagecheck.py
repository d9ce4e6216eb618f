"""An HTML validity and self-containment check for generated reports (standard library
only): balanced tags, unique ids, a doctype, language, charset and title, and nothing loaded
from another file or site."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class PageChecker(HTMLParser):
    """A small HTML validity check: balanced tags, unique ids, nothing fetched from
    elsewhere (no src/href to another file or site), one <html lang> with a charset and a
    title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: dict[str, int] = {}
        self.tags: dict[str, int] = {}
        self.charset = False
        self.lang = ""
        self.title = ""
        self._in_title = False
        self.doctype = ""

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if "id" in a:
            self.ids[a["id"]] = self.ids.get(a["id"], 0) + 1
        for key in ("src", "href", "action", "data", "poster"):
            value = (a.get(key) or "").strip()
            if value and not value.startswith(("#", "data:")):
                self.errors.append(f"<{tag} {key}={value!r}> loads something")
        if tag == "meta" and (a.get("charset") or "").lower() == "utf-8":
            self.charset = True
        if tag == "html":
            self.lang = a.get("lang", "")
        if tag == "title":
            self._in_title = True
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def check_page(page: str) -> PageChecker:
    """Parse ``page`` and assert it is a valid, self-contained HTML document."""
    checker = PageChecker()
    checker.feed(page)
    checker.close()
    assert checker.doctype.lower() == "doctype html"
    assert checker.lang == "en" and checker.charset and checker.title.strip()
    assert checker.errors == []
    assert checker.stack == [], f"unclosed: {checker.stack}"
    assert [i for i, n in checker.ids.items() if n > 1] == [], "duplicate ids"
    assert checker.tags.get("html") == 1 and checker.tags.get("body") == 1
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE)
    assert not re.search(r"<link\b", page, re.IGNORECASE)
    assert "@import" not in page.split("<script", 1)[0]
    return checker
