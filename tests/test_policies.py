"""One contract, every policy: what select_victims must guarantee whichever policy orders it."""

from __future__ import annotations

import random

import pytest

from pkcache._housekeeping.policies import POLICIES, Candidate, Policy, select_victims
from pkcache._store.protocol import EntryStat


def candidate(
    index: int, *, size: int = 10, created: float = 0.0, last: float = 0.0, hits: int = 0, **flags: bool
) -> Candidate:
    entry = EntryStat("ns", "v", f"{index:064x}", size, created, f"/x/{index}")
    return Candidate(
        entry,
        last_access=max(created, last),
        hits=hits,
        stale=flags.get("stale", False),
        expired=flags.get("expired", False),
    )


def random_candidates(rng: random.Random, count: int) -> list[Candidate]:
    return [
        candidate(
            i,
            size=rng.randint(1, 100),
            created=rng.uniform(0, 100),
            last=rng.uniform(0, 200),
            hits=rng.randint(0, 5),
            stale=rng.random() < 0.2,
            expired=rng.random() < 0.1,
        )
        for i in range(count)
    ]


@pytest.fixture(params=sorted(POLICIES))
def policy(request: pytest.FixtureRequest) -> Policy:
    return POLICIES[request.param]


def test_nothing_goes_when_within_limits(policy: Policy) -> None:
    found = [candidate(i) for i in range(5)]
    assert select_victims(found, policy, max_entries=5, max_size=50) == []
    assert select_victims(found, policy, max_entries=None, max_size=None) == []


def test_expired_entries_always_go(policy: Policy) -> None:
    found = [candidate(0, expired=True), candidate(1), candidate(2, expired=True)]
    victims = select_victims(found, policy, max_entries=None, max_size=None)
    assert {v.entry.key for v in victims} == {found[0].entry.key, found[2].entry.key}


def test_old_code_versions_go_before_current_ones(policy: Policy) -> None:
    current = [candidate(i, created=100 + i, last=100 + i, hits=0) for i in range(3)]
    stale = [candidate(10 + i, created=200 + i, last=300, hits=99, stale=True) for i in range(2)]
    victims = select_victims(current + stale, policy, max_entries=3, max_size=None)
    assert {v.entry.key for v in victims} == {c.entry.key for c in stale}


@pytest.mark.parametrize("seed", range(20))
def test_what_is_left_fits_and_only_lower_priorities_went(policy: Policy, seed: int) -> None:
    rng = random.Random(seed)
    found = random_candidates(rng, 40)
    max_entries, max_size = rng.randint(1, 40), rng.randint(50, 2000)
    victims = select_victims(found, policy, max_entries=max_entries, max_size=max_size)
    gone = {v.entry.key for v in victims}
    left = [c for c in found if c.entry.key not in gone]
    assert len(left) <= max_entries
    assert sum(c.entry.size for c in left) <= max_size
    assert all(v.expired or v.stale or not c.stale for v in victims for c in left)  # stale before current
    evicted = [v for v in victims if not v.expired and not v.stale]
    survivors = [c for c in left if not c.stale]
    if evicted and survivors:  # every evicted entry ranks below every survivor
        assert max(policy.priority(v) for v in evicted) <= min(policy.priority(c) for c in survivors)
    old = [v for v in victims if v.stale and not v.expired]
    kept_old = [c for c in left if c.stale]
    if old and kept_old:  # old code versions go oldest first
        assert max(v.entry.created for v in old) <= min(c.entry.created for c in kept_old)
    evictions = [v for v in victims if not v.expired]
    if evictions:  # and no more went than needed: keeping the last one would break a limit
        last = evictions[-1]
        assert len(left) + 1 > max_entries or sum(c.entry.size for c in left) + last.entry.size > max_size


@pytest.mark.parametrize("seed", range(30))
def test_ties_are_broken_by_the_next_field_then_by_listing_order(policy: Policy, seed: int) -> None:
    rng = random.Random(seed)
    found = [
        candidate(i, created=rng.choice([1.0, 2.0, 3.0]), last=rng.choice([0.0, 2.0, 4.0]), hits=rng.randint(0, 2))
        for i in range(60)
    ]
    keep = rng.randint(1, 59)
    victims = select_victims(found, policy, max_entries=keep, max_size=None)
    ranked = sorted(range(len(found)), key=lambda at: (policy.priority(found[at]), at))
    assert [v.entry.key for v in victims] == [found[at].entry.key for at in ranked[: len(found) - keep]]


def test_policy_orders() -> None:
    old_hot = candidate(0, created=1, last=50, hits=9)
    new_cold = candidate(1, created=10, last=10, hits=0)
    found = [old_hot, new_cold]
    pick = {name: select_victims(found, policy, max_entries=1, max_size=None)[0] for name, policy in POLICIES.items()}
    assert pick["lru"] is new_cold  # least recently used
    assert pick["lfu"] is new_cold  # fewest hits
    assert pick["fifo"] is old_hot  # oldest written, however hot
