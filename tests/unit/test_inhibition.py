import pytest
from pydantic import ValidationError

from router.inhibition import InhibitRule, source_groups, target_groups

CLUSTER_DOWN = InhibitRule(
    source_matchers=["alertname=ClusterDown"],
    target_matchers=['severity=~"warning|critical"'],
    equal=["cluster"],
)


def test_a_source_and_its_targets_share_a_group_only_with_equal_labels() -> None:
    source = {"alertname": "ClusterDown", "cluster": "eu1", "severity": "critical"}
    target = {"alertname": "PaymentsDown", "cluster": "eu1", "severity": "critical"}
    elsewhere = {**target, "cluster": "us1"}
    [group] = source_groups([CLUSTER_DOWN], source)
    assert target_groups([CLUSTER_DOWN], target) == [group]
    assert target_groups([CLUSTER_DOWN], elsewhere) != [group]
    assert target_groups([CLUSTER_DOWN], {**target, "severity": "info"}) == []


def test_a_source_is_never_its_own_target() -> None:
    source = {"alertname": "ClusterDown", "cluster": "eu1", "severity": "critical"}
    assert source_groups([CLUSTER_DOWN], source)
    assert target_groups([CLUSTER_DOWN], source) == []


def test_a_rule_is_the_same_group_wherever_it_stands() -> None:
    other = InhibitRule.model_validate(CLUSTER_DOWN.model_dump() | {"equal": ["region"]})
    labels = {"alertname": "ClusterDown", "cluster": "eu1"}
    both = source_groups([other, CLUSTER_DOWN], labels)
    assert both[1] == source_groups([CLUSTER_DOWN], labels)[0]
    assert both[0] != both[1]


def test_a_bad_matcher_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        InhibitRule(source_matchers=["cluster"], target_matchers=["a=b"])
    assert "is not a matcher" in str(caught.value)
