"""Validate the reader evaluation sets (stdlib only).

    python eval/check_reader_sets.py

Checks eval/reader_seed.jsonl, eval/reader_xquad.jsonl and eval/reader_out_of_scope.jsonl:
JSON shape and required fields, unique ids, that every gold answer occurs (case-insensitive)
in its gold paragraph and not in the question, context_sha1 for xquad, the split rules, and
minimum counts. Prints a summary table per file (language x kind x split). Exits 1 on errors.
"""

import collections
import hashlib
import json
import re
import sys
from pathlib import Path

EVAL = Path(__file__).resolve().parent
ROOT = EVAL.parent
SEED_ARTICLE = ROOT / "seeds" / "000_93de25b234f683de.txt"
XQUAD_DIR = EVAL / "xquad-dev" / "articles"

ANSWER_KINDS = {
    "paraphrase",
    "pronoun",
    "indirect_name",
    "synonym",
    "spelling",
    "short",
    "typo",
    "casual",
    "yes_no",
    "why_how",
}
OOS_KINDS = {"near_miss", "off_topic"}
LANGS = {"en", "ru"}
SPLITS = {"tune", "report"}

FIELDS = {
    "seed": ["id", "lang", "question", "answers", "paragraph", "kind", "split"],
    "xquad": [
        "id",
        "lang",
        "question",
        "answers",
        "article",
        "paragraph",
        "context_sha1",
        "kind",
        "split",
    ],
    "oos": ["id", "lang", "question", "answers", "paragraph", "article", "corpus", "kind", "split"],
}
PREFIX = {"seed": "rs-", "xquad": "rx-", "oos": "ro-"}
MIN_COUNT = {"seed": 70, "xquad": 90, "oos": 50}

errors = []
warnings = []


def err(msg):
    errors.append(msg)


def warn(msg):
    warnings.append(msg)


def norm(s):
    return " ".join(s.casefold().split())


def seed_paragraphs():
    """1-based paragraphs of the seed article; the title line is not counted."""
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    body = text.split("\n", 1)[1] if "\n" in text else ""
    return [p.strip() for p in re.split(r"\n[ \t]*\n", body) if p.strip()]


def article_paragraphs(path):
    """0-based paragraphs of an xquad-dev article: blocks after the `# Title` line."""
    text = path.read_text(encoding="utf-8")
    body = text.split("\n", 1)[1] if "\n" in text else ""
    return [p.strip() for p in re.split(r"\n[ \t]*\n", body) if p.strip()]


def xquad_split(article):
    return (
        "tune" if int(hashlib.sha1(article.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "report"
    )


def id_split(qid):
    n = int(qid.split("-")[1])
    return "tune" if n % 2 == 1 else "report"


def load(path, kind):
    rows = []
    if not path.exists():
        err(f"{path.name}: missing")
        return rows
    with path.open(encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            if not line.strip():
                err(f"{path.name}:{ln}: blank line")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                err(f"{path.name}:{ln}: bad JSON ({e})")
                continue
            if not isinstance(obj, dict):
                err(f"{path.name}:{ln}: not an object")
                continue
            missing = [k for k in FIELDS[kind] if k not in obj]
            extra = [k for k in obj if k not in FIELDS[kind]]
            if missing:
                err(f"{path.name}:{ln}: missing fields {missing}")
                continue
            if extra:
                err(f"{path.name}:{ln}: unknown fields {extra}")
            obj["_ln"] = ln
            rows.append(obj)
    return rows


def common_checks(name, rows, kind, kinds):
    ids = collections.Counter(r["id"] for r in rows)
    for qid, n in ids.items():
        if n > 1:
            err(f"{name}: id {qid} used {n} times")
    for r in rows:
        where = f"{name}:{r['_ln']} {r['id']}"
        if not isinstance(r["id"], str) or not re.fullmatch(
            re.escape(PREFIX[kind]) + r"\d{3,}", r["id"]
        ):
            err(f"{where}: id must look like {PREFIX[kind]}001")
            continue
        if r["lang"] not in LANGS:
            err(f"{where}: lang {r['lang']!r}")
        if r["kind"] not in kinds:
            err(f"{where}: kind {r['kind']!r}")
        if r["split"] not in SPLITS:
            err(f"{where}: split {r['split']!r}")
        if not isinstance(r["question"], str) or not r["question"].strip():
            err(f"{where}: empty question")
        if not isinstance(r["answers"], list) or not all(isinstance(a, str) for a in r["answers"]):
            err(f"{where}: answers must be a list of strings")
        if r["lang"] == "ru" and not re.search("[а-яё]", r["question"], re.I):
            err(f"{where}: lang ru but no Cyrillic in the question")
        if r["lang"] == "en" and re.search("[а-яё]", r["question"], re.I):
            err(f"{where}: lang en but Cyrillic in the question")
    if len(rows) < MIN_COUNT[kind]:
        err(f"{name}: {len(rows)} lines, need at least {MIN_COUNT[kind]}")
    langs = collections.Counter(r["lang"] for r in rows)
    if rows and not (0.4 <= langs["en"] / len(rows) <= 0.6):
        err(f"{name}: language mix en={langs['en']} ru={langs['ru']} is not about half and half")


def answer_checks(where, r, gold, others):
    if not r["answers"]:
        err(f"{where}: no answers")
        return
    q = norm(r["question"])
    for a in r["answers"]:
        na = norm(a)
        if not na:
            err(f"{where}: empty answer string")
            continue
        if na not in norm(gold):
            err(f"{where}: answer {a!r} not in gold paragraph")
        if na in q:
            err(f"{where}: question contains the answer {a!r}")
        hits = [i for i, p in others if na in norm(p)]
        if hits:
            yield a, hits


# --- overlap with the gold sentence (English questions only) -----------------------------
STOP = set(
    """a about above after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing done down during each few for
from further get gets got had has have having he her here hers him his how i if in into is it its
itself just me more most much my no nor not now of off on once only or other our out over own
really said same say says she should so some such than that the their them then there these they
this those through to too under until up very was we were what when where which while who whom
whose why will with would you your yes ok so lol wait like thing things actually going gonna one
many""".split()
)


def stem(w):
    for suf in ("ing", "ed", "es", "s"):
        if len(w) > len(suf) + 3 and w.endswith(suf):
            return w[: -len(suf)]
    return w


def content_words(text):
    words = re.findall(r"[a-z0-9]+", text.casefold().replace("’", "'"))
    return {stem(w) for w in words if w not in STOP and len(w) > 2}


GENERIC = set(
    """first second last early late year years named called used use work usually ever
make made take took new old people time way part high low long big small number""".split()
)


def distinctive_words(paragraphs, title=""):
    """Content words of a document that are not in its title, not generic and occur in at most
    two of its paragraphs (a word in most paragraphs, like "Putin" in the seed, is the topic,
    not the wording of one sentence)."""
    tw = content_words(title)
    df = collections.Counter(w for p in paragraphs for w in content_words(p))
    return {w for w, n in df.items() if n <= 2 and w not in tw and w not in GENERIC}


def max_sentence_overlap(question, paragraph, distinctive):
    """Largest number of distinctive words the question shares with one sentence of the gold
    paragraph."""
    qw = content_words(question) & distinctive
    sentences = re.split(r"(?<=[.!?])\s+", paragraph)
    return max(len(qw & content_words(s)) for s in sentences) if sentences else 0


# --- files -------------------------------------------------------------------------------
def check_seed():
    name = "reader_seed.jsonl"
    rows = load(EVAL / name, "seed")
    common_checks(name, rows, "seed", ANSWER_KINDS)
    paras = seed_paragraphs()
    title = SEED_ARTICLE.read_text(encoding="utf-8").split("\n", 1)[0]
    distinctive = distinctive_words(paras, title)
    overlapping = []
    for r in rows:
        where = f"{name}:{r['_ln']} {r['id']}"
        p = r["paragraph"]
        if not isinstance(p, int) or isinstance(p, bool) or not 1 <= p <= len(paras):
            err(f"{where}: paragraph {p!r} not in 1..{len(paras)}")
            continue
        others = [(i + 1, t) for i, t in enumerate(paras) if i + 1 != p]
        for a, hits in answer_checks(where, r, paras[p - 1], others):
            err(f"{where}: answer {a!r} also occurs in paragraph(s) {hits}: not unique")
        if r.get("id", "").startswith("rs-") and r["split"] != id_split(r["id"]):
            err(f"{where}: split must be {id_split(r['id'])} (odd ids tune, even ids report)")
        if (
            r["lang"] == "en"
            and max_sentence_overlap(r["question"], paras[p - 1], distinctive) >= 2
        ):
            overlapping.append(r["id"])
    return rows, overlapping


def check_xquad():
    name = "reader_xquad.jsonl"
    rows = load(EVAL / name, "xquad")
    common_checks(name, rows, "xquad", ANSWER_KINDS)
    articles = {p.name: article_paragraphs(p) for p in sorted(XQUAD_DIR.glob("*.md"))}
    distinctive = {
        name: distinctive_words(
            paras, (XQUAD_DIR / name).read_text(encoding="utf-8").split("\n", 1)[0]
        )
        for name, paras in articles.items()
    }
    overlapping = []
    for r in rows:
        where = f"{name}:{r['_ln']} {r['id']}"
        art = r["article"]
        if art not in articles:
            err(f"{where}: unknown article {art!r}")
            continue
        paras = articles[art]
        p = r["paragraph"]
        if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p < len(paras):
            err(f"{where}: paragraph {p!r} not in 0..{len(paras) - 1}")
            continue
        gold = paras[p]
        if hashlib.sha1(gold.encode("utf-8")).hexdigest() != r["context_sha1"]:
            err(f"{where}: context_sha1 does not match {art} paragraph {p}")
        others = [(i, t) for i, t in enumerate(paras) if i != p]
        for a, hits in answer_checks(where, r, gold, others):
            warn(f"{where}: answer {a!r} also occurs in {art} paragraph(s) {hits}")
        if r["split"] != xquad_split(art):
            err(f"{where}: split must be {xquad_split(art)} for {art} (sha1 of the file name % 2)")
        if r["lang"] == "en" and max_sentence_overlap(r["question"], gold, distinctive[art]) >= 2:
            overlapping.append(r["id"])
    per_article = collections.Counter(r["article"] for r in rows)
    for art in articles:
        n = per_article.get(art, 0)
        if not 3 <= n <= 5:
            err(f"{name}: {art} has {n} questions, want 3-5")
    return rows, overlapping


def check_oos(answerable):
    name = "reader_out_of_scope.jsonl"
    rows = load(EVAL / name, "oos")
    common_checks(name, rows, "oos", OOS_KINDS)
    seen = {norm(r["question"]) for r in answerable}
    for r in rows:
        where = f"{name}:{r['_ln']} {r['id']}"
        if r["answers"] != []:
            err(f"{where}: answers must be []")
        if r["paragraph"] is not None or r["article"] is not None:
            err(f"{where}: paragraph and article must be null")
        if r["corpus"] not in {"seed", "xquad"}:
            err(f"{where}: corpus {r['corpus']!r}")
        if norm(r["question"]) in seen:
            err(f"{where}: same question as an answerable line")
        if r.get("id", "").startswith("ro-") and r["split"] != id_split(r["id"]):
            err(f"{where}: split must be {id_split(r['id'])} (odd ids tune, even ids report)")
    near = sum(r["kind"] == "near_miss" for r in rows)
    if rows and near * 2 < len(rows):
        err(f"{name}: only {near} of {len(rows)} are near misses, want at least half")
    return rows


# --- report ------------------------------------------------------------------------------
def table(name, rows, kinds, extra=None):
    print(f"\n{name}: {len(rows)} lines")
    c = collections.Counter((r["kind"], r["lang"], r["split"]) for r in rows)
    cols = [(lang, s) for lang in ("en", "ru") for s in ("tune", "report")]
    head = (
        "  {:<14}".format("kind")
        + "".join(f"{lang + '/' + s:>11}" for lang, s in cols)
        + f"{'total':>8}"
    )
    print(head)
    for k in sorted(kinds):
        vals = [c[(k, lang, s)] for lang, s in cols]
        if sum(vals):
            print(f"  {k:<14}" + "".join(f"{v:>11}" for v in vals) + f"{sum(vals):>8}")
    tot = [sum(c[(k, lang, s)] for k in kinds) for lang, s in cols]
    print("  {:<14}".format("total") + "".join(f"{v:>11}" for v in tot) + f"{sum(tot):>8}")
    # balance of tune/report within each language and kind
    worst = max(
        (abs(c[(k, lang, "tune")] - c[(k, lang, "report")]) for k in kinds for lang in LANGS),
        default=0,
    )
    print(f"  largest tune/report gap within one language and kind: {worst}")
    if extra:
        for line in extra:
            print("  " + line)


def main():
    seed, seed_ov = check_seed()
    xq, xq_ov = check_xquad()
    oos = check_oos(seed + xq)

    seed_en = sum(r["lang"] == "en" for r in seed)
    xq_en = sum(r["lang"] == "en" for r in xq)
    table(
        "reader_seed.jsonl",
        seed,
        ANSWER_KINDS,
        [
            "paragraphs: "
            + str(dict(sorted(collections.Counter(r["paragraph"] for r in seed).items()))),
            "English questions sharing 2+ distinctive words with a gold sentence: "
            f"{len(seed_ov)}/{seed_en}" + (f" ({', '.join(seed_ov)})" if seed_ov else ""),
        ],
    )
    arts = collections.Counter(r["article"] for r in xq)
    table(
        "reader_xquad.jsonl",
        xq,
        ANSWER_KINDS,
        [
            f"articles: {len(arts)}, questions per article "
            f"{min(arts.values(), default=0)}-{max(arts.values(), default=0)}",
            "articles per split: " + str(dict(collections.Counter(xquad_split(a) for a in arts))),
            "English questions sharing 2+ distinctive words with a gold sentence: "
            f"{len(xq_ov)}/{xq_en}" + (f" ({', '.join(xq_ov)})" if xq_ov else ""),
        ],
    )
    corp = collections.Counter((r["corpus"], r["kind"]) for r in oos)
    table(
        "reader_out_of_scope.jsonl",
        oos,
        OOS_KINDS,
        [
            "corpus x kind: " + ", ".join(f"{c}/{k}={n}" for (c, k), n in sorted(corp.items())),
        ],
    )
    for name, ov, n in (
        ("reader_seed.jsonl", seed_ov, seed_en),
        ("reader_xquad.jsonl", xq_ov, xq_en),
    ):
        if n and len(ov) * 3 > n:
            warn(
                f"{name}: {len(ov)} of {n} English questions reuse 2+ distinctive words of the "
                "gold sentence (more than a third)"
            )

    for w in warnings:
        print("warning:", w)
    if errors:
        print(f"\n{len(errors)} error(s):")
        for e in errors:
            print("  " + e)
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
