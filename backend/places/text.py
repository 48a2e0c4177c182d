"""Text search the way Chinese users type: Chinese words, pinyin and pinyin initials.

Documents become space-separated tokens here, in Python, identically for both stores (FTS5 on
SQLite, a tsvector on PostgreSQL only index what we give them):

- Han characters: every bigram of a run, plus the run's last character, so two-character
  words match (a trigram index cannot) and a one-character prefix query finds any character;
- pinyin (pypinyin, phrase-aware for polyphones): from every character of a run, its syllables
  to the end of the run (at most MAX_SYLLABLES) joined, so "shebao" is a prefix of the token
  "shebaoka" of 社保卡 and "baozhang" one of 社会保障's "baozhang";
- initials: the same with first letters ("sbk" of 社保卡);
- Latin letters and digits: lower-cased runs.

A query is tokenised the same way; every term is required. Latin terms and single Han
characters are prefixes (people type pinyin incrementally); Han runs become their bigrams.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import CTE, Float, Integer
from sqlalchemy import text as sql_text
from sqlalchemy.sql.elements import ColumnElement

from backend.core.errors import InvalidInput

MAX_SYLLABLES = 8
MAX_QUERY_LENGTH = 64
MAX_QUERY_TERMS = 16

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUNS = re.compile(rf"[{_HAN}]+|[a-z0-9]+")
_IS_HAN = re.compile(rf"[{_HAN}]")


def _normalize(text: str) -> str:
    # NFKC folds full-width Latin and digits (ＡＢＣ１２３) into ASCII.
    return unicodedata.normalize("NFKC", text).lower()


@lru_cache(maxsize=65_536)
def _han_tokens(run: str) -> tuple[str, ...]:
    # Imported here: its dictionaries take ~55 MB, and only writing documents needs them (a
    # query is Han bigrams and the Latin letters the user typed), so serving workers never do.
    from pypinyin import lazy_pinyin

    tokens = [run[i:i + 2] for i in range(len(run) - 1)]
    tokens.append(run[-1])
    syllables = lazy_pinyin(run)
    initials = [syllable[0] for syllable in syllables]
    for i in range(len(run)):
        tokens.append("".join(syllables[i:i + MAX_SYLLABLES]))
        tokens.append("".join(initials[i:i + MAX_SYLLABLES]))
    return tuple(tokens)


def search_document(*texts: str | None) -> str:
    """The search tokens of a document made of these texts (name, address, aliases …)."""
    tokens: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        for run in _RUNS.findall(_normalize(text)):
            if _IS_HAN.match(run):
                tokens.update(dict.fromkeys(_han_tokens(run)))
            else:
                tokens[run] = None
    return " ".join(tokens)


@dataclass(frozen=True)
class TextQuery:
    """Required terms: (token, is_prefix)."""

    terms: tuple[tuple[str, bool], ...]

    def fts5(self) -> str:
        """An FTS5 MATCH expression (tokens hold only letters and digits: quoting is safe)."""
        return " AND ".join(f'"{token}"*' if prefix else f'"{token}"'
                            for token, prefix in self.terms)

    def tsquery(self) -> str:
        """A tsquery literal, read without a parser so lexemes stay as we made them."""
        return " & ".join(f"'{token}':*" if prefix else f"'{token}'"
                          for token, prefix in self.terms)


def parse_text_query(text: str | None, field: str = "text") -> TextQuery | None:
    """The query of a user's search text; None when there is nothing to search for."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"搜索词过长：最多 {MAX_QUERY_LENGTH} 个字符", field)
    terms: dict[tuple[str, bool], None] = {}
    for run in _RUNS.findall(_normalize(text)):
        if not _IS_HAN.match(run) or len(run) == 1:
            terms[(run, True)] = None
        else:
            terms.update(dict.fromkeys((run[i:i + 2], False) for i in range(len(run) - 1)))
    if not terms:
        raise InvalidInput("搜索词中没有可检索的文字（汉字、拼音或数字）", field)
    if len(terms) > MAX_QUERY_TERMS:
        raise InvalidInput("搜索词过长：请精简关键词", field)
    return TextQuery(tuple(terms))


# Both stores index `<table>.search_text`: SQLite through the FTS5 table `<table>_fts`
# (migration 0002), PostgreSQL through the generated tsvector `<table>.search_vector`.


def text_condition(dialect: str, table: str, query: TextQuery) -> ColumnElement[bool]:
    """Rows of `table` whose search tokens hold every term of the query."""
    if dialect == "sqlite":
        return sql_text(
            f"{table}.id IN (SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH :text_query)"
        ).bindparams(text_query=query.fts5())
    return sql_text(f"{table}.search_vector @@ CAST(:text_query AS tsquery)").bindparams(
        text_query=query.tsquery()
    )


def ranked_matches(dialect: str, table: str, query: TextQuery) -> CTE:
    """(id, score) of the matching rows of `table`; a lower score is a better match."""
    if dialect == "sqlite":
        # bm25() only works inside the full-text query itself: rank there, materialized.
        statement = sql_text(
            f"SELECT rowid AS id, bm25({table}_fts) AS score FROM {table}_fts"
            f" WHERE {table}_fts MATCH :text_query"
        ).bindparams(text_query=query.fts5())
        return statement.columns(id=Integer, score=Float).cte("matches").prefix_with(
            "MATERIALIZED"
        )
    statement = sql_text(
        # float8: a float4 score printed for the cursor would not compare equal to itself.
        f"SELECT id, -CAST(ts_rank(search_vector, CAST(:text_query AS tsquery)) AS float8)"
        f" AS score"
        f" FROM {table} WHERE search_vector @@ CAST(:text_query AS tsquery)"
    ).bindparams(text_query=query.tsquery())
    return statement.columns(id=Integer, score=Float).cte("matches")
