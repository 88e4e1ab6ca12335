"""The articles folder as a place to write: safe file names, atomic saves, duplicate lookup."""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import logging
import os
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from index._fs import FileSignature, fsync_dir, scan_folder, write_temp
from index.articles import ARTICLE_SUFFIXES, clean_title, read_article_file
from index.errors import ArticleError
from index.models import Article

logger = logging.getLogger(__name__)

STEM_MAX_CHARS = 80  # well under the 255-byte name limit even for Cyrillic (2 bytes a letter)
TEMP_PREFIX = ".tmp-"  # load_articles skips dot-files, so a build never sees a half-written one
_TRACKING_PARAMS = frozenset(
    "fbclid gclid dclid gbraid wbraid msclkid yclid igshid mc_cid mc_eid _ga _gl _hsenc _hsmi "
    "mkt_tok oly_anon_id oly_enc_id vero_id rb_clickid s_cid".split()
)
_NOT_WORD = re.compile(r"[\W_]+")
_WORDS = re.compile(r"\w+")


def clean_url(url: str) -> str:
    """``url`` with scheme and host lower-cased, default port, fragment and tracking parameters
    (``utm_*``, ``fbclid``, ...) dropped; the form saved and compared.

    Not ``courlan.normalize_url``: it keeps the fragment, and its tracker list also drops
    parameters such as ``cid``, ``ref`` and ``source``, which some sites use as the article id,
    so different articles would compare equal and all but the first be skipped as duplicates.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    default_port = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port is None or port == default_port else f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not (key.lower().startswith("utm_") or key.lower() in _TRACKING_PARAMS)
    ]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def text_fingerprint(paragraphs: tuple[str, ...] | list[str]) -> str:
    """A hash of an article's words, blind to case, punctuation and paragraph breaks."""
    words = _WORDS.findall(" ".join(paragraphs).casefold())
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()


def file_stem(article: Article, today: dt.date | None = None) -> str:
    """A safe file stem: ``<date>-<title-slug>``; only letters, digits and hyphens.

    The date is the publication date when it starts with YYYY-MM-DD, else today. The slug comes
    from the title, else the URL's last path segment; it cannot contain a path separator or
    start with a dot, so it cannot leave the folder or hide from builds.
    """
    published = article.published or ""
    date = published[:10] if re.match(r"\d{4}-\d{2}-\d{2}", published) else None
    date = date or (today or dt.date.today()).isoformat()
    slug = _slug(article.title)
    if not slug and article.url:
        slug = _slug(urlsplit(article.url).path.rstrip("/").rsplit("/", 1)[-1])
    stem = f"{date}-{slug or 'article'}"
    return stem[:STEM_MAX_CHARS].rstrip("-")


def _slug(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return _NOT_WORD.sub("-", text).strip("-")


def save_article(article: Article, folder: Path) -> Article:
    """Write ``article`` as a new JSON file in ``folder``; never overwrite, never half-write.

    The file is written under a hidden temporary name, flushed to disk, then hard-linked to the
    first free name (``<stem>.json``, ``<stem>-2.json``, ...): linking fails rather than replace
    an existing file, so two writers cannot clobber each other.

    Returns:
        The article as saved: ``article_id`` is the file stem, ``file`` the file name.

    Raises:
        ArticleError: the file cannot be written (the message has the system's reason).
    """
    if not clean_title(article.title) or not article.paragraphs:
        raise ArticleError("an article needs a title and at least one paragraph to be saved")
    payload = {
        "title": article.title,
        "url": article.url,
        "published": article.published,
        "source": article.source,
        "paragraphs": list(article.paragraphs),
    }
    text = json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temp = write_temp(folder, text, prefix=TEMP_PREFIX, suffix=".part")
        try:
            name = _link_to_free_name(temp, folder, file_stem(article))
        finally:
            temp.unlink(missing_ok=True)
        fsync_dir(folder)
    except OSError as exc:
        raise ArticleError(f"cannot save into {folder}: {exc.strerror or exc}") from exc
    return replace(article, article_id=Path(name).stem, file=name)


def _link_to_free_name(temp: Path, folder: Path, stem: str) -> str:
    taken = {p.stem.casefold() for p in folder.iterdir() if p.suffix.lower() in ARTICLE_SUFFIXES}
    for number in range(1, 10_000):
        candidate = stem if number == 1 else f"{stem}-{number}"
        if candidate.casefold() in taken:
            continue  # the same stem with another suffix would give two articles one id
        target = folder / f"{candidate}.json"
        try:
            os.link(temp, target)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            # No hard links on this file system: a rename after the existence check above.
            if target.exists():
                continue
            os.replace(temp, target)
        return target.name
    raise ArticleError(f"no free file name for {stem!r} in {folder}")


@dataclass
class _FileKeys:
    signature: FileSignature
    urls: tuple[str, ...]
    texts: tuple[str, ...]


@dataclass
class ArticleCatalog:
    """The URLs and text fingerprints of the articles in a folder, to recognise duplicates.

    ``refresh`` stats every file and re-reads only the ones whose signature changed, so calling
    it before each save stays cheap on a large folder.
    """

    folder: Path
    _files: dict[str, _FileKeys] = field(default_factory=dict)
    _by_url: dict[str, str] = field(default_factory=dict)
    _by_text: dict[str, str] = field(default_factory=dict)

    def refresh(self) -> None:
        """Bring the catalog up to date with the folder."""
        current = scan_folder(self.folder, ARTICLE_SUFFIXES)
        changed = {
            n
            for n, sig in current.items()
            if n not in self._files or self._files[n].signature != sig
        }
        if not changed and current.keys() == self._files.keys():
            return
        for name in set(self._files) - set(current):
            del self._files[name]
        for name in changed:
            self._files[name] = self._read(name, current[name])
        self._by_url = {u: n for n, keys in self._files.items() for u in keys.urls}
        self._by_text = {t: n for n, keys in self._files.items() for t in keys.texts}

    def _read(self, name: str, signature: FileSignature) -> _FileKeys:
        try:
            articles = read_article_file(self.folder / name)
        except ArticleError:
            return _FileKeys(signature, (), ())  # the build reports broken files
        urls = tuple(clean_url(a.url) for a in articles if a.url)
        return _FileKeys(signature, urls, tuple(text_fingerprint(a.paragraphs) for a in articles))

    def find_url(self, url: str) -> str | None:
        """The file that holds an article with this URL (compared cleaned), if any."""
        return self._by_url.get(clean_url(url))

    def find_duplicate(self, article: Article) -> str | None:
        """The file holding an article with the same URL or the same text, if any."""
        if article.url and (name := self.find_url(article.url)):
            return name
        return self._by_text.get(text_fingerprint(article.paragraphs))

    def remember(self, saved: Article) -> None:
        """Note an article just saved (its next refresh would find it anyway)."""
        if saved.url:
            self._by_url[clean_url(saved.url)] = saved.file or saved.article_id
        self._by_text[text_fingerprint(saved.paragraphs)] = saved.file or saved.article_id
