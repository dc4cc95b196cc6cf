"""The score book (rulesengine.scores) and the contributions its scores share with it."""

from __future__ import annotations

import pickle
from decimal import Decimal

from rulesengine.results import Contribution, Contributions
from rulesengine.scores import Scores


def _c(n: int) -> Contribution:
    return Contribution(f"e{n}", "2023-05", "pts", Decimal(n), {"n": n})


def test_contributions_read_like_the_tuple_of_their_chunks() -> None:
    c = Contributions([[_c(1), _c(2)], [], [_c(3)], []])
    flat = (_c(1), _c(2), _c(3))
    assert c == flat and flat == c and c == Contributions([flat])
    assert c != (_c(1), _c(2)) and c != [_c(1), _c(2), _c(3)]  # a list is not a tuple
    assert len(c) == 3 and list(c) == list(flat) and c[1] == _c(2) and c[-1] == _c(3)
    assert c[1:] == flat[1:] and bool(Contributions()) is False
    assert pickle.loads(pickle.dumps(c)) == flat  # results cross process boundaries (--workers)
    assert repr(c) == f"Contributions({flat!r})"
    # a score without contributions stays hashable, like the empty tuple it replaces
    assert hash(Contributions([[], []])) == hash(()) and Contributions([[], []]) == ()


def test_a_score_keeps_its_contributions_when_the_book_grows_later() -> None:
    month, quarter = Scores(), Scores()
    month.add("pts", "a", "person", Decimal(1), _c(1))
    (month_score,) = month.records()
    month.add("pts", "a", "person", Decimal(3), _c(3))  # the chunk the score reads stays
    assert month_score.contributions == (_c(1),) and month_score.points == 1
    assert month.records()[0].contributions == (_c(1), _c(3))
    quarter.merge(month)
    (score,) = quarter.records()
    quarter.add("pts", "a", "person", Decimal(2), _c(2))
    month.add("pts", "a", "person", Decimal(5), _c(5))
    assert score.contributions == (_c(1), _c(3)) and score.points == 4
    (later,) = quarter.records()
    assert later.contributions == (_c(1), _c(3), _c(2)) and later.points == 6
    assert month.records()[0].contributions == (_c(1), _c(3), _c(5))
