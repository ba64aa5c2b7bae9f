"""An open tail: new labels for a text column's rare values, made of its common words.

A column such as job titles holds a few frequent labels and thousands seen
once or twice. Pooling the rare ones into one ``(other)`` label hides them,
but leaves a label that real data never holds, on half the rows of such a
column. Instead, a word bigram chain is fitted on the column's distinct
values, over words that at least ``min_rows`` rows hold; it draws candidate
labels, and every candidate equal to a real value (ignoring case and spacing)
is dropped. What is left is a pool of labels that no training row holds, made
only of common words, that rows pooled under the rare code draw from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["common_word_share", "pool_size", "tail_pool"]

POOL_MIN, POOL_MAX = 64, 32_768  # labels kept in a pool
MAX_WORDS = 12  # longest label drawn, in words
ROUNDS = 4  # rounds of draws to fill a pool; each draws four candidates per label wanted


def _words(values: pd.Series) -> tuple[pd.Series, pd.DataFrame]:
    """Each distinct value's row count, and its words: columns ``value`` (position), ``word``."""
    counts = values.value_counts(sort=False)
    split = pd.Series(counts.index.to_numpy(dtype=object)).str.split().explode()
    words = pd.DataFrame({"value": split.index.to_numpy(), "word": split.to_numpy()}).dropna()
    return counts.reset_index(drop=True), words.reset_index(drop=True)


def _word_rows(counts: pd.Series, words: pd.DataFrame) -> pd.Series:
    """How many rows hold each word (a word counted once per row)."""
    once = words.drop_duplicates()
    return (
        pd.Series(counts.to_numpy()[once["value"].to_numpy()])
        .groupby(once["word"].to_numpy())
        .sum()
    )


def common_word_share(values: pd.Series, rare: pd.Series, min_rows: int) -> float:
    """The share of ``rare`` (rows of ``values``) made only of words ``min_rows`` rows hold."""
    counts, words = _words(values)
    rows = _word_rows(counts, words)
    common = set(rows.index[rows.to_numpy() >= min_rows])
    split = rare.reset_index(drop=True).str.split().explode()
    ok = split.isin(common) & split.notna()
    return float(ok.groupby(level=0).all().mean()) if len(rare) else 0.0


def pool_size(rows: int, distinct: int) -> int:
    """Labels a pool needs so that ``rows`` uniform draws hold about ``distinct`` labels.

    ``rows`` draws from ``P`` labels hold ``P (1 - exp(-rows / P))`` distinct ones
    on average; the real rare values' own repeat rate is kept that way, up to
    ``8 * rows`` labels (94% of draws distinct) when nearly all of them differ.
    """
    cap = float(np.clip(8 * rows, POOL_MIN, POOL_MAX))
    if distinct >= rows:
        return int(cap)
    low, high = float(min(distinct, cap)), cap
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if mid * -np.expm1(-rows / mid) < distinct else (low, mid)
    return int(np.clip(round(high), POOL_MIN, POOL_MAX))


def tail_pool(
    values: pd.Series,
    min_rows: int,
    size: int,
    rng: np.random.Generator,
    like: pd.Series | None = None,
) -> list[str]:
    """Up to ``size`` new labels for ``values`` (text, no nulls), none equal to a real value.

    Labels are words ``min_rows`` rows hold, joined by single spaces, each
    next word drawn after the one before it as often as distinct real values
    put it there (a label's first and last words likewise). The chain's
    distinct draws run long (short ones repeat, or are real values), so the
    pool is chosen from four times as many labels to hold each length in the share
    of ``like`` (the rows it stands in for) where enough labels of it exist.
    """
    counts, words = _words(values)
    rows = _word_rows(counts, words)
    vocab = pd.Index(np.sort(rows.index[rows.to_numpy() >= min_rows].to_numpy(dtype=object)))
    codes = vocab.get_indexer(words["word"])
    usable = pd.Series(codes >= 0).groupby(words["value"].to_numpy()).all()
    keep = np.isin(words["value"].to_numpy(), usable.index[usable.to_numpy()])
    if not keep.any():
        return []
    begin, end = len(vocab), len(vocab) + 1
    value, code = words["value"].to_numpy()[keep], codes[keep]
    first = np.r_[True, value[1:] != value[:-1]]
    last = np.r_[value[1:] != value[:-1], True]
    prev = np.where(first, begin, np.r_[begin, code[:-1]])
    # every step of every value (its words, then the end), each pair once per value
    ends = np.full(int(last.sum()), end)
    steps = np.column_stack([np.r_[value, value[last]], np.r_[prev, code[last]], np.r_[code, ends]])
    steps = np.unique(steps, axis=0)
    pairs, weight = np.unique(steps[:, 1:], axis=0, return_counts=True)
    chain = _Chain(pairs[:, 0], pairs[:, 1], weight, states=end + 1)
    labels = np.asarray(vocab, dtype=object)
    real = set(values.str.split().str.join(" ").str.casefold())
    found: dict[str, None] = {}
    for _ in range(ROUNDS):
        seqs = chain.draw(min(4 * size, 1_000_000), begin, end, rng)
        for text in _joined(seqs, labels, end):
            if text.casefold() not in real:
                found.setdefault(text, None)
        if len(found) >= 4 * size:
            break
    pool = np.array(list(found), dtype=object)
    if len(pool) > size:
        weight = _length_weights(pool, like if like is not None else values)
        pool = pool[np.sort(rng.choice(len(pool), size, replace=False, p=weight))]
    return pool.tolist()


def _length_weights(pool: np.ndarray, like: pd.Series) -> np.ndarray:
    """Draw weights that give the pool's word counts the shares they have in ``like``.

    A length ``like`` holds that no label has passes its share to the nearest
    lengths (a tenth per word away), so the pool still leans to it.
    """
    length = pd.Series(pool).str.count(" ").to_numpy() + 1
    have = np.bincount(length)
    target = like.str.split().str.len().value_counts(normalize=True)
    span = np.arange(max(len(have), int(target.index.max()) + 1))
    share = target.reindex(span, fill_value=0.0).to_numpy()
    near = 0.1 ** np.abs(span[:, None] - span[None, :]) @ share
    weight = near[length] / have[length]
    return weight / weight.sum()


class _Chain:
    """A first-order chain over integer states, drawn for many sequences at once."""

    def __init__(self, src: np.ndarray, dst: np.ndarray, weight: np.ndarray, states: int) -> None:
        order = np.lexsort((dst, src))
        self.src, self.dst = src[order], dst[order]
        w = weight[order].astype(np.float64)
        total = np.bincount(self.src, weights=w, minlength=states)
        steps = np.bincount(self.src, minlength=states)
        # state s owns the interval (s, s + 1] of one increasing line: a draw is a search
        within = np.cumsum(w) - np.repeat(np.cumsum(total) - total, steps)
        self.line = self.src + within / total[self.src]
        self.last = np.cumsum(steps) - 1  # each state's steps are first .. last
        self.first = self.last - steps + 1

    def draw(self, n: int, begin: int, end: int, rng: np.random.Generator) -> np.ndarray:
        """The distinct ones of ``n`` sequences after ``begin``, padded with ``end``."""
        out = np.full((n, MAX_WORDS + 1), end, dtype=np.int64)
        state = np.full(n, begin, dtype=np.int64)
        live = np.ones(n, dtype=bool)
        for j in range(MAX_WORDS + 1):
            at = np.flatnonzero(live)
            if not len(at):
                break
            now = state[at]
            pick = np.searchsorted(self.line, now + rng.random(len(at)), side="left")
            state[at] = self.dst[np.clip(pick, self.first[now], self.last[now])]
            out[at, j] = state[at]
            live[at] = state[at] != end
        done = out[~live, :MAX_WORDS]
        return done[~pd.DataFrame(done).duplicated().to_numpy()]  # hashed: no sort of rows


def _joined(seqs: np.ndarray, labels: np.ndarray, end: int) -> list[str]:
    """Each sequence of word codes (padded with ``end``) as words joined by spaces."""
    text = labels[seqs[:, 0]]
    for j in range(1, seqs.shape[1]):
        more = seqs[:, j] != end
        if not more.any():
            break
        text[more] = text[more] + " " + labels[seqs[more, j]]
    return text.tolist()
