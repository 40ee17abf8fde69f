"""Simulated activity: impression -> redirect funnels for blocks of active users.

Each active user draws (user, job) pairs within their active period: jobs come mostly from
their sectors, and most of those from their home city, weighted by popularity in the current time
slice (new jobs are promoted). Each
distinct pair then gets a geometric number of impressions and, with a probability much higher
inside the user's sectors, one or more redirects; lines after the job expired or after the
reference time are censored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recommender.data.demo.words import CITIES, SECTORS
from recommender.data.demo.world import ACTIVITY_WINDOW_DAYS, DAY, World

_NEW_JOB_BOOST = 3.0
_SECOND_SECTOR_SHARE = 0.35
_IN_INTEREST_P = 0.83
_HOME_CITY_P = 0.6  # of the draws in a user's sectors, the share looking in their home city only
_IMPRESSION_GEOMETRIC_P = 0.5
_REDIRECT_P_INTEREST = 0.28
_REDIRECT_P_OTHER = 0.035
_REDIRECT_WITHOUT_IMPRESSION_P = 0.05
_EXTRA_REDIRECT_GEOMETRIC_P = 0.88
# Jobs drawn per wanted pair, so that enough distinct jobs remain after de-duplication.
_OVERSAMPLE = 2.5
_TIME_SLICES = 12

# One activity record: timestamp, user and job positions (not ids) and the redirect flag.
RECORD_DTYPE = np.dtype([("ts", "<i8"), ("user", "<i4"), ("job", "<i4"), ("redirect", "u1")])


@dataclass(frozen=True)
class JobSampler:
    """Popularity-weighted job sampling by (time slice, sector, city).

    Slice ``T`` (the last) covers the whole window; sector ``S`` (the last) means any sector and
    city ``C`` (the last) any city. Any sector in one city is no segment: it means anywhere.
    An empty segment falls back to the sector in any city, then to the sector over the whole
    window, then to any job.
    """

    cum: NDArray[np.float64]  # (T + 1) * n_jobs cumulative weights, slices concatenated
    order: NDArray[np.int64]  # job indices sorted by sector, then city
    seg_lo: NDArray[np.float64]  # [t, s, c] cumulative weight before the segment
    seg_w: NDArray[np.float64]  # [t, s, c] total weight of the segment
    seg_first: NDArray[np.int64]  # [t, s, c] first position of the segment in ``cum``
    seg_last: NDArray[np.int64]  # [t, s, c] last position of the segment in ``cum``

    def sample(
        self,
        t: NDArray[np.int64],
        s: NDArray[np.int64],
        c: NDArray[np.int64],
        u: NDArray[np.float64],
    ) -> NDArray[np.int64]:
        n_slices, n_sectors, n_cities = self.seg_w.shape
        whole, any_sector, any_city = n_slices - 1, n_sectors - 1, n_cities - 1
        c = np.where(self.seg_w[t, s, c] > 0, c, any_city)
        t = np.where(self.seg_w[t, s, c] > 0, t, whole)
        s = np.where(self.seg_w[t, s, c] > 0, s, any_sector)
        lo, w = self.seg_lo[t, s, c], self.seg_w[t, s, c]
        pos = np.searchsorted(self.cum, lo + u * w, side="right")
        pos = np.clip(pos, self.seg_first[t, s, c], self.seg_last[t, s, c])
        return self.order[pos % len(self.order)]


def job_sampler(world: World) -> JobSampler:
    """Build the sampler from job popularity, live windows and the new-job boost."""
    n_jobs = len(world.job_ids)
    n_sectors, n_cities = len(SECTORS), len(CITIES)
    order = np.lexsort((world.job_city, world.job_sector)).astype(np.int64)
    # segment (s, c) of the sorted jobs; (s, C) the whole sector; (S, any city) every job
    key = world.job_sector[order] * n_cities + world.job_city[order]
    cells = np.arange(n_sectors * n_cities + 1)
    bounds = np.searchsorted(key, cells)
    first = np.zeros((n_sectors + 1, n_cities + 1), dtype=np.int64)
    last = np.full((n_sectors + 1, n_cities + 1), n_jobs - 1, dtype=np.int64)
    first[:n_sectors, :n_cities] = bounds[:-1].reshape(n_sectors, n_cities)
    last[:n_sectors, :n_cities] = bounds[1:].reshape(n_sectors, n_cities) - 1
    first[:n_sectors, n_cities] = bounds[:-1:n_cities]
    last[:n_sectors, n_cities] = bounds[n_cities::n_cities] - 1

    slice_len = ACTIVITY_WINDOW_DAYS * DAY / _TIME_SLICES
    starts = world.window_start + slice_len * np.arange(_TIME_SLICES)
    live = (world.job_lo[None, :] < starts[:, None] + slice_len) & (
        world.job_hi[None, :] >= starts[:, None]
    )
    # Jobs posted during a slice are promoted as new during that slice.
    fresh = world.posted[None, :] >= starts[:, None]
    boost = np.vstack([live * np.where(fresh, _NEW_JOB_BOOST, 1.0), np.ones((1, n_jobs))])
    weights = boost[:, order] * world.job_weight[order][None, :]
    cum = np.cumsum(weights.ravel())
    before = np.concatenate([[0.0], cum])  # before[i] = cumulative weight before position i
    offsets = np.arange(_TIME_SLICES + 1)[:, None, None] * n_jobs
    seg_first = offsets + first[None, :, :]
    seg_last = offsets + last[None, :, :]
    seg_lo = before[seg_first]
    seg_w = before[seg_last + 1] - seg_lo
    return JobSampler(
        cum=cum,
        order=order,
        seg_lo=seg_lo,
        seg_w=seg_w,
        seg_first=seg_first.astype(np.int64),
        seg_last=seg_last.astype(np.int64),
    )


def _draw_jobs(
    world: World,
    sampler: JobSampler,
    rng: np.random.Generator,
    user: NDArray[np.int64],
    when: NDArray[np.int64],
) -> NDArray[np.int64]:
    """The job of each drawn pair at ``when``: from the user's sectors (often in their home
    city) or anywhere."""
    n = len(user)
    window = ACTIVITY_WINDOW_DAYS * DAY
    t_slice = np.minimum((when - world.window_start) * _TIME_SLICES // window, _TIME_SLICES - 1)
    s1, s2 = world.user_sector1[user], world.user_sector2[user]
    sector = np.where((s2 >= 0) & (rng.random(n) < _SECOND_SECTOR_SHARE), s2, s1)
    in_interest = rng.random(n) < _IN_INTEREST_P
    sector = np.where(in_interest, sector, len(SECTORS))
    home = in_interest & (rng.random(n) < _HOME_CITY_P)
    city = np.where(home, world.user_city[user], len(CITIES))
    return sampler.sample(t_slice, sector, city, rng.random(n))


def activity_block(
    world: World, sampler: JobSampler, rng: np.random.Generator, users: slice
) -> NDArray[np.void]:
    """Activity records (``RECORD_DTYPE``, unsorted) of a block of active users."""
    n_jobs = len(world.job_ids)
    pairs = world.active_pairs[users]
    draws = np.ceil(pairs * _OVERSAMPLE).astype(np.int64) + 2
    local = np.repeat(np.arange(users.start, users.stop), draws)
    n = len(local)

    # Pair time within the user's active period.
    lo, hi = world.active_lo[local], world.active_hi[local]
    when = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(np.int64)
    user = world.active_index[local]
    job = _draw_jobs(world, sampler, rng, user, when)

    # One funnel per distinct (user, job) pair: each user's first ``pairs`` distinct draws.
    _, keep = np.unique(local * n_jobs + job, return_index=True)
    keep = np.sort(keep)
    rank = np.arange(len(keep)) - np.searchsorted(local[keep], local[keep], side="left")
    keep = keep[rank < world.active_pairs[local[keep]]]
    local, user, job, when = local[keep], user[keep], job[keep], when[keep]
    n = len(keep)
    job_sector = world.job_sector[job]
    interest = (job_sector == world.user_sector1[user]) | (job_sector == world.user_sector2[user])
    p_redirect = np.where(interest, _REDIRECT_P_INTEREST, _REDIRECT_P_OTHER)
    p_redirect = p_redirect * world.job_appeal[job] * world.active_propensity[local]
    redirect = rng.random(n) < np.minimum(p_redirect, 0.95)
    n_imp = rng.geometric(_IMPRESSION_GEOMETRIC_P, n)
    n_imp[redirect & (rng.random(n) < _REDIRECT_WITHOUT_IMPRESSION_P)] = 0
    n_red = np.where(redirect, rng.geometric(_EXTRA_REDIRECT_GEOMETRIC_P, n), 0)
    n_lines = n_imp + n_red

    # Lines: gaps within a pair (browsing back minutes or days later, click soon after).
    pair = np.repeat(np.arange(n), n_lines)
    first = np.cumsum(n_lines) - n_lines
    pos = np.arange(len(pair)) - first[pair]
    is_redirect = pos >= n_imp[pair]
    click = is_redirect & (pos == n_imp[pair]) & (pos > 0)
    revisit = rng.random(len(pair)) < 0.5
    mean_gap = np.where(click, 60.0, np.where(revisit & ~is_redirect, 120.0, 2.0 * DAY))
    gap = np.where(pos == 0, 0, 1 + np.floor(rng.exponential(1.0, len(pair)) * mean_gap))
    cum = np.cumsum(gap)
    offset = cum - cum[first[pair]]

    # The funnel starts at the pair time (moved into the job's live window); lines that would
    # fall after the job expired or after the reference time have not happened (censoring).
    job_hi = world.job_hi[job]
    ts = np.clip(when, world.job_lo[job], job_hi)[pair] + offset.astype(np.int64)
    kept = ts <= job_hi[pair]

    records = np.empty(int(kept.sum()), dtype=RECORD_DTYPE)
    records["ts"] = ts[kept]
    records["user"] = user[pair[kept]]
    records["job"] = job[pair[kept]]
    records["redirect"] = is_redirect[kept]
    return records
