"""The real-text sources: where each lives, at which commit, under which license."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """One source repository and the recipe that extracts its documents."""

    name: str
    repo: str  #: GitHub owner/name
    commit: str  #: the default commit; a pointer row may name another (RSS history)
    #: a key of training.sources.extract.EXTRACTORS
    extractor: str
    license: str
    attribution: str
    genre: str


SOURCES: dict[str, Source] = {s.name: s for s in [
    Source("wikinews-geovirus", "milangritta/Pragmatic-Guide-to-Geoparsing-Evaluation",
           "6947d464da1904e5ce68e90ea906997eb02ea73f", "geovirus",
           "CC BY 2.5 (Wikinews; public domain before 2005-09-25)",
           "Wikinews contributors, the article named by each record's URL, via the GeoVirus "
           "corpus of Gritta et al. (2018)", "wire news (disease outbreaks)"),
    Source("wikinews-2019-20", "vanatteveldt/wikinews", "347254178bf343f3801aac1d03c41cc09c35decb",
           "wikinews_csv", "CC BY 2.5 (Wikinews)",
           "Wikinews contributors, the article named by each record's URL, via the sample "
           "collected by W. van Atteveldt", "general news 2019-2020"),
    Source("whitehouse-2017", "R030t1/speech-dl", "e7a161bf79053f05534bbd94e91c9e4b102c659b",
           "whitehouse_html", "public domain (US federal work, 17 USC 105)",
           "The White House, whitehouse.gov remarks and statements, 2017", "remarks and statements"),
    Source("state-dept-pr", "markschaver/State-Department-PR",
           "cd530c3f052fb81ae5ecc187d0c335100d3de922", "rss_items",
           "public domain (US federal work, 17 USC 105)",
           "US Department of State, Office of the Spokesperson, press releases 2021-22",
           "press releases"),
    Source("crs-reports", "ProfAmiot/crs-reports", "12265120e33ab237acd3f178b1d697ece3ac188f",
           "crs_markdown", "public domain (US federal work; each product says so)",
           "Congressional Research Service, Library of Congress", "policy analysis"),
    Source("presidential-speeches", "kfogel/presidential-speeches",
           "a4c8b38eeba49703f515a701db03e60417e042e6", "speech_txt",
           "public domain (US federal work; the repository's LICENSE.md)",
           "Presidents of the United States, via the Miller Center collection", "speeches"),
    Source("fomc-statements", "fomc/statements", "5b4df02e8952ec612313e0d02907483dd1827300",
           "wrapped_txt", "public domain (Federal Reserve Board, federal agency work)",
           "Federal Open Market Committee, Board of Governors of the Federal Reserve System",
           "policy statements"),
    # the sentence-boundary gold set (training/sources/boundaries.py) and, from pool v2, labels
    Source("gum-wikinews", "amir-zeldes/gum", "72ce5ac14978a324c2fd18d49484e65292cbe316",
           "gum_conllu", "CC BY 2.5 (Wikinews)",
           "Wikinews contributors via the GUM corpus, Zeldes (2017)",
           "news and interviews (dep/GUM_news_*, dep/GUM_interview_* only)"),
]}
