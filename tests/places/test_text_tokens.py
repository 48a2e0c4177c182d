"""Search tokens and queries: what a resident types must meet what the index holds."""

import pytest

from backend.core.errors import InvalidInput
from backend.places.text import MAX_QUERY_LENGTH, parse_text_query, search_document


def matches(document: str, text: str) -> bool:
    """The index's semantics, spelled out: every term equals a token or prefixes one."""
    tokens = document.split()
    return all(
        any(token.startswith(term) if prefix else token == term for token in tokens)
        for term, prefix in parse_text_query(text).terms
    )


@pytest.mark.parametrize("query", ["社保", "社保卡", "shebao", "shebaoka", "sb", "sbk", "SheBao",
                                   "社会保障", "保障卡", "baozhang", "shbzk", "社", "卡"])
def test_text__social_security_card__found_by_chinese_pinyin_and_initials(query):
    document = search_document("社会保障卡申领", "社保卡")
    assert matches(document, query)


@pytest.mark.parametrize("query", ["医保", "yibao", "社区医院", "gongjijin", "保社", "shebaoyi"])
def test_text__unrelated_query__does_not_match(query):
    assert not matches(search_document("社会保障卡申领", "社保卡"), query)


def test_text__two_character_word_inside_a_longer_name__matches():
    document = search_document("杭州市西湖区北山街道社区卫生服务中心")
    for word in ["卫生", "西湖", "北山", "街道", "服务中心", "weisheng", "xihu", "wsfwzx"]:
        assert matches(document, word), word


def test_text__full_width_and_case__are_folded():
    document = search_document("ＡＢＣ养老院１２３号")
    assert matches(document, "abc") and matches(document, "123") and matches(document, "Abc")


def test_text__polyphone__read_as_in_the_phrase():
    # 重庆 is "chongqing", not "zhongqing"; 银行 is "yinhang".
    assert matches(search_document("重庆银行"), "chongqing")
    assert matches(search_document("重庆银行"), "yinhang")


def test_text__query_terms__bigrams_exact_latin_prefix():
    assert parse_text_query("社会保障 sb").terms == (
        ("社会", False), ("会保", False), ("保障", False), ("sb", True)
    )
    assert parse_text_query("社").terms == (("社", True),)
    assert parse_text_query("  ") is None and parse_text_query(None) is None


@pytest.mark.parametrize("text", ["！！！", "...", "—", "x" * (MAX_QUERY_LENGTH + 1)])
def test_text__unsearchable_or_too_long_query__refused_in_chinese(text):
    with pytest.raises(InvalidInput) as error:
        parse_text_query(text)
    assert error.value.field == "text" and "搜索词" in error.value.message


def test_text__query_literals__hold_only_index_safe_tokens():
    query = parse_text_query("社保' OR 1=1 -- \"x\"*")
    assert query.fts5() == '"社保" AND "or"* AND "1"* AND "x"*'
    assert query.tsquery() == "'社保' & 'or':* & '1':* & 'x':*"
