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

ERUPTION_TITLE = "Icelandic volcano Fagradalsfjall erupts for the fifth time"

ERUPTION = [
    "The Fagradalsfjall volcano on Iceland's Reykjanes peninsula erupted again on Sunday, "
    "sending a curtain of lava three hundred metres long across the Geldingadalir valley.",
    "The Icelandic Met Office said the town of Grindavik was not in danger, but hikers were "
    "told to keep away from the new fissure while gas levels remain high.",
]

ORCHID_TITLE = "Botanists rediscover the ghost orchid of Sumatra"

ORCHID = [
    "A team of botanists from Bogor has rediscovered the leafless ghost orchid of Sumatra, "
    "last seen in 1932, growing on a single fig tree in the Kerinci Seblat national park.",
    "The orchid blooms for only two nights a year and is pollinated by a moth whose name the "
    "botanists are keeping secret to protect the plant from collectors.",
]
