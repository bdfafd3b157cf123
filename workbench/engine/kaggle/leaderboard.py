"""Where a public score places on the public leaderboard, and the day's submissions against
Kaggle's daily limit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from workbench.engine.errors import WorkbenchError, printable
from workbench.engine.kaggle import calls
from workbench.engine.kaggle.history import utc
from workbench.engine.results.submission import COMPETITION

LEADERBOARD_PAGE = 200  # entries asked for per leaderboard call
LEADERBOARD_PAGES = 25  # calls at most: a score below the first 5,000 is said to be so


@dataclass(frozen=True)
class Standing:
    """Where a public score places on the public leaderboard (a tie shares the place)."""

    position: int | None  # None: below every entry read
    read: int  # leaderboard entries read

    def __str__(self) -> str:
        if self.position is None:
            return f"below the top {self.read:,} of the public leaderboard"
        return f"#{self.position:,} on the public leaderboard"


@dataclass(frozen=True)
class Quota:
    """The day's submissions: Kaggle's daily limit (None: unknown) and how many of today's
    (UTC, when Kaggle's day turns) the history holds."""

    limit: int | None
    used: int

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    def __str__(self) -> str:
        if self.limit is None:
            return f"{self.used} sent today (Kaggle's daily limit unknown)"
        return (f"{self.left} of {self.limit} submissions left today (Kaggle's day ends at "
                "00:00 UTC)")


def quota(competition: str = COMPETITION) -> Quota:
    """Today's submissions against Kaggle's daily limit, read through the client (the
    competition's listing holds the limit; the history, today's submissions)."""
    api = calls.api()
    listed = calls.call("reading the competition", competition,
                   lambda: api.competitions_list(search=competition)) or []
    found = [item for item in getattr(listed, "competitions", listed) or []
             if str(getattr(item, "ref", "")).rstrip("/").rsplit("/", 1)[-1] == competition]
    limit = getattr(found[0], "max_daily_submissions", None) if found else None
    items = calls.call("listing submissions", competition,
                  lambda: api.competition_submissions(competition)) or []
    today = datetime.now(UTC).date()
    days = [utc(getattr(item, "date", None)) for item in items]
    used = sum(1 for date in days if date is not None and date.date() == today)
    return Quota(limit if isinstance(limit, int) and limit > 0 else None, used)


def _score(text) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def standing(score: str, competition: str = COMPETITION) -> Standing:
    """Where ``score`` places on the public leaderboard, read best first (one page at a time,
    until a worse score; LEADERBOARD_PAGES pages at most) through the official client's
    leaderboard call: the request ``competition_leaderboard_view`` makes, whose next-page token
    that method prints instead of returning."""
    from kagglesdk.competitions.types.competition_api_service import ApiGetLeaderboardRequest

    value = _score(score)
    if value is None:
        raise WorkbenchError(f"'{printable(str(score))[:40]}' is not a score to place on the "
                             "leaderboard.")
    api = calls.api()

    def page(token: str):
        with api.build_kaggle_client() as client:
            request = ApiGetLeaderboardRequest()
            request.competition_name = competition
            request.page_size = LEADERBOARD_PAGE
            request.page_token = token
            return client.competitions.competition_api_client.get_leaderboard(request)

    ahead = read = 0
    token, higher_is_better = "", None
    for _ in range(LEADERBOARD_PAGES):
        response = calls.call("reading the leaderboard", competition,
                         lambda token=token: page(token))
        scores = [found for found in (_score(getattr(entry, "score", None))
                                      for entry in response.submissions or [])
                  if found is not None]
        if higher_is_better is None and scores:  # the list is best first
            higher_is_better = scores[0] >= scores[-1]
        for other in scores:
            read += 1
            if not (other > value if higher_is_better else other < value):
                return Standing(ahead + 1, read)
            ahead += 1
        token = response.next_page_token
        if not token:
            return Standing(ahead + 1, read)
    return Standing(None, read)

