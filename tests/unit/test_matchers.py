import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.matchers import Matcher, MatcherError, Op, matches_all, parse_matcher

LABELS = {"severity": "critical", "env": "preprod", "msg": 'say "hi"\n'}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("severity=critical", Matcher.of("severity", Op.EQUAL, "critical")),
        ('severity="critical"', Matcher.of("severity", Op.EQUAL, "critical")),
        ("  severity = critical  ", Matcher.of("severity", Op.EQUAL, "critical")),
        ('severity=~"critical|error"', Matcher.of("severity", Op.REGEX, "critical|error")),
        ("env!=prod", Matcher.of("env", Op.NOT_EQUAL, "prod")),
        ('env!~"pre.*"', Matcher.of("env", Op.NOT_REGEX, "pre.*")),
        ('msg="say \\"hi\\"\\n"', Matcher.of("msg", Op.EQUAL, 'say "hi"\n')),
        ('path="C:\\dir"', Matcher.of("path", Op.EQUAL, "C:\\dir")),
        ("team=", Matcher.of("team", Op.EQUAL, "")),
    ],
)
def test_parse(text: str, expected: Matcher) -> None:
    assert parse_matcher(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("severity", "is not a matcher"),
        ("1abc=x", "is not a matcher"),
        ("=x", "is not a matcher"),
        ('a="unclosed', "closing double quote is missing"),
        ('a="in"side"', 'must be written \\"'),
        ('a=~"(unbalanced"', "invalid regex"),
    ],
)
def test_what_is_not_a_matcher_says_why(text: str, message: str) -> None:
    with pytest.raises(MatcherError) as caught:
        parse_matcher(text)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("severity=critical", True),
        ("severity!=critical", False),
        ('severity=~"crit.*"', True),
        ('severity=~"crit"', False),  # the whole value, not a part of it
        ('env=~"prod"', False),
        ('env!~"prod"', True),
        ("team=", True),  # a missing label is the empty string
        ("team!=", False),
        ('team=~".*"', True),
        ('team=~".+"', False),
        ('msg="say \\"hi\\"\\n"', True),
    ],
)
def test_matching(text: str, matches: bool) -> None:
    assert parse_matcher(text).matches(LABELS) is matches


def test_every_matcher_must_match() -> None:
    both = [parse_matcher("severity=critical"), parse_matcher('env=~"pre.*"')]
    assert matches_all(both, LABELS)
    assert not matches_all([*both, parse_matcher("env=prod")], LABELS)
    assert matches_all([], LABELS)


@given(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True),
    st.sampled_from(list(Op)),
    st.text(max_size=20),
)
def test_a_matcher_reads_back_as_written(name: str, op: Op, value: str) -> None:
    try:
        matcher = Matcher.of(name, op, value)
    except MatcherError:
        return  # not a regex
    assert parse_matcher(str(matcher)) == matcher
