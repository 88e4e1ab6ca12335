"""Article texts several test modules write into the articles folder or serve over loopback."""

from __future__ import annotations

VOLCANO_TITLE = "Volcano Erupts Near Reykjavik"
VOLCANO = f"""{VOLCANO_TITLE}

A volcano on the Reykjanes peninsula erupted on Monday night, sending lava fountains 50 metres high.

Authorities evacuated the fishing town of Grindavik as a precaution; no injuries were reported.
"""
VOLCANO_QUESTION = "Which town was evacuated after the eruption?"

BEE_PARAGRAPHS = [
    "Beekeepers at the Ljubljana Apiculture Institute have trained a colony of Carniolan "
    "honeybees to detect the scent of white truffles buried under oak trees, the institute "
    "announced on Tuesday.",
    "The bees were rewarded with sugar water whenever they hovered over soil samples containing "
    "truffle spores, and after six weeks they found buried truffles with 92 percent accuracy, "
    "according to lead researcher Mojca Kranjc.",
    "Truffle hunters in Istria traditionally rely on dogs and pigs; the institute hopes bee "
    "swarms could survey whole forests in a single afternoon.",
]
