"""HTML to article: main text, title, publication date and canonical URL (trafilatura).

This is the only module that imports ``trafilatura``. Extracted articles have an empty
``article_id``: the id is the file name, chosen when the article is saved (``index.intake.ingest``).
"""

from __future__ import annotations

import copy
import logging
import re
from urllib.parse import urljoin, urlsplit

import lxml.etree
import lxml.html

from index.articles import clean_title, split_paragraphs
from index.errors import ExtractError
from index.models import Article
from index.text import normalize_text

logger = logging.getLogger(__name__)

TITLE_MAX_CHARS = 200
# Block elements after which a feed summary's text starts a new paragraph.
_BLOCKS = frozenset(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote pre table tr section article".split()
)
_WORD = re.compile(r"\w+")
# The meta tags that can carry the page's date (article:published_time, date, dc.date.issued,
# og:updated_time, datePublished, ...), and what marks a <time> as the publication date.
_META_KEYS = ("name", "property", "itemprop", "http-equiv")
_DATE_META = re.compile(r"date|time|publish|issued|created|modified", re.IGNORECASE)
_PUBLISHED = re.compile(r"publish|pubdate|created|issued", re.IGNORECASE)


def extract_article(html: bytes | str, url: str | None = None) -> Article:
    """Reduce an HTML page to its article.

    Args:
        html: the page, as fetched (bytes: trafilatura detects the encoding) or decoded.
        url: where the page came from; the fallback when it declares no canonical URL.

    Returns:
        An ``Article`` with an empty ``article_id``; ``url`` is the page's canonical URL, else
        ``url``; ``published`` is an ISO date when one was found; ``source`` the site name.

    Raises:
        ExtractError: the page holds no article text.
    """
    from trafilatura import bare_extraction, load_html

    tree = load_html(html)  # decodes bytes by their declared or detected charset
    if tree is None:
        raise ExtractError("no article text found in the page")
    canonical = _canonical_link(tree)  # read before extraction, which prunes the tree
    published = _published(tree)
    try:
        document = bare_extraction(
            tree,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=False,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except (ValueError, lxml.etree.LxmlError) as exc:
        raise ExtractError(f"cannot parse the page as HTML: {exc}") from exc
    if document is None or isinstance(document, dict) or not (document.text or "").strip():
        raise ExtractError("no article text found in the page")
    lines = [normalize_text(line) for line in (document.text or "").split("\n")]
    paragraphs = [line for line in lines if line]
    title = _title(document.title, paragraphs)
    if paragraphs and _same_words(paragraphs[0], title):
        paragraphs = paragraphs[1:]  # the page's <h1> repeats the title
    if not paragraphs:
        raise ExtractError("the page has a title but no article text")
    return Article(
        article_id="",
        title=title,
        paragraphs=tuple(paragraphs),
        url=_canonical_url(canonical, url) or _canonical_url(document.url, url),
        published=published,
        source=document.sitename or document.hostname or None,
    )


def paragraphs_from_html(fragment: str) -> list[str]:
    """The text of a small HTML fragment (a feed entry's summary), one item per block."""
    if not fragment.strip():
        return []
    if "<" not in fragment:
        return split_paragraphs(fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, lxml.etree.LxmlError):
        return split_paragraphs(fragment)
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCKS:
            element.tail = "\n\n" + (element.tail or "")
    return split_paragraphs(root.text_content())


def _title(found: str | None, paragraphs: list[str]) -> str:
    title = clean_title(found or "")
    if not title and paragraphs:
        title = paragraphs[0]
    if len(title) > TITLE_MAX_CHARS:
        title = title[:TITLE_MAX_CHARS].rsplit(" ", 1)[0] + "…"
    return title or "Untitled"


def _same_words(first: str, second: str) -> bool:
    return _WORD.findall(first.casefold()) == _WORD.findall(second.casefold())


def _published(tree: lxml.html.HtmlElement) -> str | None:
    """The publication date the page declares in its own metadata (date meta tags, JSON-LD, a
    ``<time>`` marked as the publication's), or None.

    Never a date found in the text: htmldate, even without its extensive search, falls back to
    dates in the body ("Construction began in 2021" became 2021-01-01, in the file name too), and
    no date is better than a wrong one. So it is shown a page of the metadata alone.
    """
    from htmldate import find_date

    page = lxml.html.fromstring("<html><head></head><body></body></html>")
    head, body = page[0], page[1]
    for meta in tree.iterfind(".//meta"):
        if any(_DATE_META.search(meta.get(key) or "") for key in _META_KEYS):
            head.append(copy.deepcopy(meta))
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        head.append(copy.deepcopy(script))
    for time in tree.iterfind(".//time"):
        marks = " ".join(time.get(key) or "" for key in ("itemprop", "class", "pubdate"))
        if "pubdate" in time.attrib or _PUBLISHED.search(marks):
            body.append(copy.deepcopy(time))
    found = find_date(page, extensive_search=False, original_date=True, url=None)
    return found or None


def _canonical_link(tree: lxml.html.HtmlElement) -> str | None:
    for link in tree.iterfind(".//link[@href]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            return str(link.get("href"))
    return None


def _canonical_url(declared: str | None, fetched: str | None) -> str | None:
    """``declared`` made absolute against ``fetched`` if it is then an http(s) URL, else
    ``fetched``."""
    if declared:
        absolute = urljoin(fetched or "", declared.strip())
        parts = urlsplit(absolute)
        if parts.scheme in ("http", "https") and parts.netloc:
            return absolute
    return fetched
