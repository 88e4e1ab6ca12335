"""Check eval/followups.jsonl (follow-up conversations) and print a summary.

Run from the repository root: ``python eval/check_followups.py [path]``. Standard library only.
Exit status 1 if any check fails.

Checks:
- shape: fields, types, unique ids ``fu-NNN``, 2-3 turns, lang/corpus/kind/split values;
- split rule: odd id -> "tune", even id -> "report"; every kind x lang x corpus group has both;
- gold: every answerable turn names an existing article and paragraph, and each answer string
  occurs (case-insensitively) in that paragraph. Seed article: paragraphs 1-based, title not
  counted. XQuAD articles (eval/xquad-dev/articles/): 0-based, title excluded, plus
  ``context_sha1`` = sha1 of the stripped paragraph text;
- language: Russian questions contain Cyrillic, English ones do not;
- "followup" conversations: every turn answerable and in one article; every later turn carries
  a context cue (pronoun/demonstrative, a leading "and"/"а"/"what about", or at most 4 words);
- "topic_switch" conversations: earlier turns as above; the last turn is either out of scope
  (answers [], article and paragraph null) or has its own gold in a different article or
  paragraph than every earlier turn, and reads as a stand-alone question (no leading
  continuation word, no pronoun pointing back);
- the first turn of every conversation stands alone (no leading continuation word).
"""

import hashlib
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "eval" / "followups.jsonl"
SEED_DIR = ROOT / "seeds"
XQUAD_DIR = ROOT / "eval" / "xquad-dev" / "articles"
SEED_ARTICLE = "000_93de25b234f683de.txt"

KEYS = {"id", "lang", "corpus", "kind", "split", "turns"}
TURN_KEYS = {"question", "answers", "article", "paragraph"}
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
WORD = re.compile(r"[\w'-]+")

# Words that point back to an earlier turn.
ANAPHORA = {
    "it",
    "its",
    "he",
    "him",
    "his",
    "she",
    "her",
    "they",
    "them",
    "their",
    "that",
    "this",
    "those",
    "these",
    "there",
    "then",
    "one",
    "он",
    "она",
    "оно",
    "они",
    "его",
    "её",
    "ее",
    "их",
    "ему",
    "ей",
    "им",
    "нему",
    "ней",
    "ним",
    "это",
    "этот",
    "эта",
    "эти",
    "этого",
    "этом",
    "этим",
    "там",
    "тут",
    "оттуда",
    "туда",
    "тогда",
    "сам",
    "сама",
    "сами",
    "самим",
    "самим-то",
}
# Words that, in a stand-alone switch, would point back (not "it": "will it rain"; not
# possessives or "this", which a stand-alone question uses too: "his speech", "this year").
BACK_POINTERS = {
    "he",
    "him",
    "she",
    "they",
    "them",
    "those",
    "these",
    "there",
    "он",
    "она",
    "оно",
    "они",
    "ему",
    "ей",
    "им",
    "нему",
    "ней",
    "ним",
    "это",
    "там",
    "тут",
    "оттуда",
    "туда",
    "тогда",
}
LEADING_CONTINUATION = ("and ", "so ", "what about", "how about", "а ", "и ", "ну ", "так ")


def paragraphs(article):
    """The article's paragraphs (stripped, in file order) and the numbering base."""
    if article == SEED_ARTICLE:
        path, base = SEED_DIR / article, 1
    else:
        path, base = XQUAD_DIR / article, 0
    if "/" in article or not path.is_file():
        return None, base
    text = path.read_text(encoding="utf-8")
    body = text.split("\n", 1)[1] if "\n" in text else ""
    return [p.strip() for p in re.split(r"\n[ \t]*\n", body) if p.strip()], base


def words(question):
    return WORD.findall(question.lower())


def has_cue(question):
    q = question.lower().strip()
    w = words(q)
    return q.startswith(LEADING_CONTINUATION) or bool(ANAPHORA & set(w)) or len(w) <= 4


def main(argv):
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT
    errors = []
    cache = {}
    convs = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            errors.append(f"line {lineno}: empty line")
            continue
        try:
            convs.append((lineno, json.loads(line)))
        except json.JSONDecodeError as e:
            errors.append(f"line {lineno}: not JSON ({e})")

    ids = Counter()
    groups = {}
    turn_stats = Counter()
    xquad_followup_articles = set()
    switch_groups = {
        (lang, corpus): Counter() for lang in ("en", "ru") for corpus in ("seed", "xquad")
    }
    for lineno, c in convs:
        where = f"line {lineno} ({c.get('id')})"

        def err(msg, where=where):
            errors.append(f"{where}: {msg}")

        if set(c) != KEYS:
            err(f"keys {sorted(c)} != {sorted(KEYS)}")
            continue
        ids[c["id"]] += 1
        m = re.fullmatch(r"fu-(\d{3})", str(c["id"]))
        if not m:
            err("id is not fu-NNN")
            continue
        if c["lang"] not in ("en", "ru"):
            err(f"lang {c['lang']!r}")
        if c["corpus"] not in ("seed", "xquad"):
            err(f"corpus {c['corpus']!r}")
        if c["kind"] not in ("followup", "topic_switch"):
            err(f"kind {c['kind']!r}")
        want_split = "tune" if int(m.group(1)) % 2 else "report"
        if c["split"] != want_split:
            err(f"split {c['split']!r}, odd ids are tune and even ids report")
        groups.setdefault((c["kind"], c["lang"], c["corpus"]), Counter())[c["split"]] += 1
        turns = c["turns"]
        if not isinstance(turns, list) or not 2 <= len(turns) <= 3:
            err("needs 2 or 3 turns")
            continue

        golds = []
        for k, t in enumerate(turns):
            tw = f"turn {k + 1}"
            if (
                not isinstance(t, dict)
                or not set(t) >= TURN_KEYS
                or set(t) - TURN_KEYS - {"context_sha1"}
            ):
                err(f"{tw}: keys {sorted(t) if isinstance(t, dict) else t}")
                golds.append(None)
                continue
            q = t["question"]
            if not isinstance(q, str) or not q.strip():
                err(f"{tw}: empty question")
            elif c["lang"] == "ru" and not CYRILLIC.search(q):
                err(f"{tw}: Russian conversation, question has no Cyrillic")
            elif c["lang"] == "en" and CYRILLIC.search(q):
                err(f"{tw}: English conversation, question has Cyrillic")
            if not isinstance(t["answers"], list) or not all(
                isinstance(a, str) and a for a in t["answers"]
            ):
                err(f"{tw}: answers must be a list of non-empty strings")
                golds.append(None)
                continue
            if t["article"] is None:
                if t["answers"] or t["paragraph"] is not None or "context_sha1" in t:
                    err(
                        f"{tw}: out-of-scope turn must have answers [], paragraph null, "
                        "no context_sha1"
                    )
                golds.append(None)
                continue
            art, n = t["article"], t["paragraph"]
            if art not in cache:
                cache[art] = paragraphs(art)
            paras, base = cache[art]
            if paras is None:
                err(f"{tw}: no article {art!r}")
                golds.append(None)
                continue
            if not isinstance(n, int) or isinstance(n, bool) or not base <= n < base + len(paras):
                err(
                    f"{tw}: paragraph {n!r} out of range for {art} "
                    f"({base}..{base + len(paras) - 1})"
                )
                golds.append(None)
                continue
            text = paras[n - base]
            if not t["answers"]:
                err(f"{tw}: answerable turn without answers")
            for a in t["answers"]:
                if a.lower() not in text.lower():
                    err(f"{tw}: answer {a!r} not in {art} paragraph {n}")
            if art != SEED_ARTICLE:
                sha = hashlib.sha1(text.encode("utf-8")).hexdigest()
                if t.get("context_sha1") != sha:
                    err(f"{tw}: context_sha1 {t.get('context_sha1')!r} != {sha}")
            elif "context_sha1" in t:
                err(f"{tw}: context_sha1 is only for xquad turns")
            golds.append((art, n))

        first_art = golds[0][0] if golds[0] else None
        if golds[0] is None:
            err("first turn must be answerable")
        elif (first_art == SEED_ARTICLE) != (c["corpus"] == "seed"):
            err(f"corpus {c['corpus']!r} but the first turn is on {first_art}")
        if turns[0]["question"].lower().strip().startswith(LEADING_CONTINUATION):
            err("first turn starts like a continuation; it must stand alone")
        if c["corpus"] == "xquad" and c["kind"] == "followup" and first_art:
            xquad_followup_articles.add(first_art)

        later = turns[1:] if c["kind"] == "followup" else turns[1:-1]
        later_golds = golds[1:] if c["kind"] == "followup" else golds[1:-1]
        for k, (t, g) in enumerate(zip(later, later_golds, strict=True), 2):
            if g is None:
                err(f"turn {k}: follow-up turn needs gold")
                continue
            if g[0] != first_art:
                err(f"turn {k}: follow-up turn leaves the conversation's article")
            if not has_cue(t["question"]):
                err(
                    f"turn {k}: follow-up has no context cue (pronoun, ellipsis, 'and'/'а' ...): "
                    f"{t['question']!r}"
                )
            if c["kind"] == "followup":
                turn_stats["same paragraph" if golds[k - 2] == g else "other paragraph"] += 1

        if c["kind"] == "topic_switch":
            last, g = turns[-1], golds[-1]
            q = last["question"].lower().strip()
            if q.startswith(LEADING_CONTINUATION):
                err("topic switch: last turn starts like a continuation")
            back = BACK_POINTERS & set(words(q))
            if back:
                err(f"topic switch: last turn has words pointing back {sorted(back)}")
            if last["article"] is None:
                turn_stats["switch: out of scope"] += 1
                switch_groups[(c["lang"], c["corpus"])]["out of scope"] += 1
            elif g is None:
                pass  # already reported
            elif g in golds[:-1]:
                err("topic switch: last turn has the same gold paragraph as an earlier turn")
            else:
                turn_stats[
                    "switch: other article"
                    if g[0] not in {x[0] for x in golds[:-1] if x}
                    else "switch: same article, other paragraph"
                ] += 1
                switch_groups[(c["lang"], c["corpus"])]["other source"] += 1

    for i, n in ids.items():
        if n > 1:
            errors.append(f"id {i} occurs {n} times")
    for key, splits in sorted(groups.items()):
        if not (splits["tune"] and splits["report"]):
            errors.append(f"group {'/'.join(key)} lacks a split: {dict(splits)}")

    # Summary
    by = Counter(
        (c["kind"], c["lang"], c["corpus"], c["split"]) for _, c in convs if set(c) == KEYS
    )
    print(f"{path}: {len(convs)} conversations, {sum(len(c['turns']) for _, c in convs)} turns")
    print(f"{'kind':<13} {'lang':<4} {'corpus':<6} {'tune':>5} {'report':>6} {'total':>5}")
    for kind, lang, corpus in sorted({k[:3] for k in by}):
        tu, re_ = by[(kind, lang, corpus, "tune")], by[(kind, lang, corpus, "report")]
        print(f"{kind:<13} {lang:<4} {corpus:<6} {tu:>5} {re_:>6} {tu + re_:>5}")
    for label, key in (("kind", 0), ("lang", 1), ("corpus", 2), ("split", 3)):
        cnt = Counter()
        for k, v in by.items():
            cnt[k[key]] += v
        print(f"by {label}: " + ", ".join(f"{a} {b}" for a, b in sorted(cnt.items())))
    print(
        "follow-up turns (kind followup), gold vs the previous turn's: "
        + ", ".join(f"{k} {v}" for k, v in sorted(turn_stats.items()) if not k.startswith("switch"))
    )
    print(
        "topic switches: "
        + ", ".join(f"{k[8:]} {v}" for k, v in sorted(turn_stats.items()) if k.startswith("switch"))
    )
    print(
        "topic switches by lang/corpus: "
        + ", ".join(
            f"{lang}/{corpus} {v['out of scope']} out of scope + {v['other source']} other source"
            for (lang, corpus), v in sorted(switch_groups.items())
        )
    )
    print(f"xquad articles opening follow-up conversations: {len(xquad_followup_articles)}")
    if errors:
        print(f"\n{len(errors)} problem(s):")
        for e in errors:
            print("  " + e)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
