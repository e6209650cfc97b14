"""Protocols: fixed, versioned seen/unseen splits as data files, and their resolution to index arrays.

A protocol file ``protocols/<name>.toml`` lists class NAMES (never positions)::

    name = "shapes-zsh"
    version = "2"
    dataset = "shapes"
    seed = 0
    seen_query_source = "rest"   # optional: "rest" (default) or "xlsa17-test-seen"
    provenance = "..."
    seen = ["...", ...]
    unseen = ["...", ...]
    [counts]
    train_per_class = 100        # seen classes only
    query_per_class = 20         # unseen classes only
    seen_query_per_class = 20    # optional: held-out queries of every SEEN class (absent = none)
    database = "rest"            # every item not in train or a query set (or an int: that many per class)

Resolution is deterministic: the items of each class are permuted by a generator seeded with
``sha256(seed, class name)``, so a class's split does not depend on the other classes or their order. Train
takes the first ``train_per_class`` items of each seen class, then the seen queries the next
``seen_query_per_class`` items of that class (so adding seen queries to a protocol leaves its train set as it
was); query takes the first ``query_per_class`` items of each unseen class, and the database the remaining items
of all classes. With ``seen_query_source = "xlsa17-test-seen"`` a seen class's items are split by the
dataset's ``item_set("xlsa17-test-seen")`` (the images of xlsa17's ``test_seen_loc``, the standard generalized
zero-shot test images): train takes the first ``train_per_class`` items of the permutation OUTSIDE that set,
the seen queries the first ``seen_query_per_class`` items INSIDE it, in permutation order.

The resolver then asserts the invariants that make leaks impossible: train, query, seen_query and database
are pairwise disjoint, train and seen_query hold seen classes only, query unseen classes only (so the
database's seen and unseen parts, `Split.parts`, are disjoint from every query). The split fingerprint is
sha256 over the sorted index arrays of train, query and database, followed by seen_query only when there are
seen queries: the fingerprints of protocols without seen queries are those of before seen queries existed.

Versions: the file ``<name>.toml`` is a protocol's newest version, which loading by name gives; older versions
stay, byte for byte, as ``<name>@<version>.toml`` and load as ``name@version`` (``load_protocol("shapes-zsh@1")``).

Every built-in protocol file's content is pinned in ``pins.json`` (sha256 per name and version). The pin is
checked wherever a protocol enters, by name or by path: a protocol whose ``name`` is a built-in protocol's
name must match one of its pins exactly (name, version and content sha256), or it is refused; so records of
one (name, version) always mean one split. ``Protocol.pinned`` says whether a protocol matched a pin (users'
own protocols and ad-hoc ones never do), and `check_pin` checks a (name, version, sha256) triple, e.g. a
record's. Pins are written by maintainers only: `archive_protocol` (before editing a file for a new version),
then `pin_protocol`.

Protocol files are validated strictly (types, counts >= 1, safe names): a mistake gives one `UserError`
naming the file, the key, the value and what is expected.

Beyond the index invariants, `resolve` compares the CONTENT of the items (`Dataset.content_hashes`: file
bytes, or image/feature bytes): a byte-identical item in two parts (e.g. a class folder symlinked to
another) is a leak the indices cannot show. For user data (folder datasets) and unpinned protocols it is
refused with a `DataError` listing the pairs; for pinned protocols on registered datasets, whose published
splits are fixed, the split carries the count (``Split.content_duplicates``) and a
`DuplicateContentWarning` is issued.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import replace

import numpy as np

from zshbench.errors import DataError
from zshbench.protocols.load import (  # noqa: F401 - the protocol API, re-exported from its historic home
    _EXTRA_DIRS,
    _protocol_files,
    add_protocol_dir,
    archive_path,
    list_protocols,
    load_protocol,
    parse_protocol_file,
    protocol_versions,
)
from zshbench.protocols.model import (  # noqa: F401
    PROTOCOL_DIR,
    DuplicateContentWarning,
    Protocol,
    Split,
    content_sha256,
    protocol_dir,
)
from zshbench.protocols.pins import (  # noqa: F401
    _pins,
    archive_protocol,
    check_pin,
    is_pinned_name,
    pin_protocol,
    pinned_versions,
)

__all__ = [
    "Protocol",
    "Split",
    "list_protocols",
    "load_protocol",
    "resolve",
    "protocol_dir",
    "check_pin",
    "is_pinned_name",
    "pinned_versions",
    "DuplicateContentWarning",
    "find_content_duplicates",
    "fingerprint",
    "check_split",
    "pin_protocol",
    "parse_protocol_file",
    "add_protocol_dir",
    "content_sha256",
    "protocol_versions",
    "archive_protocol",
    "archive_path",
]


def _class_rng(seed: int, class_name: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}|{class_name}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def fingerprint(
    train: np.ndarray, query: np.ndarray, database: np.ndarray, seen_query: np.ndarray | None = None
) -> str:
    """sha256 over the sorted index arrays (int64) of train, query and database, each followed by ``|``, then of
    ``seen_query`` only when it is non-empty: splits without seen queries keep their historic fingerprints."""
    h = hashlib.sha256()
    parts = [train, query, database]
    if seen_query is not None and len(seen_query):
        parts.append(seen_query)
    for part in parts:
        h.update(np.sort(np.asarray(part, dtype=np.int64)).tobytes())
        h.update(b"|")
    return h.hexdigest()


def _item_set(protocol: Protocol, dataset) -> np.ndarray | None:
    """The items a protocol's ``seen_query_source`` draws seen queries from (None for "rest")."""
    if not protocol.seen_query_per_class or protocol.seen_query_source == "rest":
        return None
    source = protocol.seen_query_source
    get = getattr(dataset, "item_set", None)
    names = tuple(getattr(dataset, "item_sets", ()))
    if get is None or source not in names:
        raise DataError(
            f"Protocol '{protocol.name}' draws its seen queries from '{source}' (xlsa17's test_seen_loc images), "
            f"which dataset '{dataset.name}' cannot tell (its item sets: {', '.join(names) or 'none'}). Use a dataset "
            "that knows them (awa2, cub, sun and their -res101 versions), or a protocol whose seen queries come from "
            'the rest of each class (seen_query_source = "rest"; for a built-in protocol, e.g. its version 1: '
            f"{protocol.name}@1)."
        )
    items = np.asarray(get(source))
    if items.ndim != 1 or (
        items.size and (items.dtype.kind not in "iu" or items.min() < 0 or items.max() >= len(dataset.labels))
    ):
        raise DataError(
            f"Dataset '{dataset.name}' returned an invalid item set '{source}' (expected item indices "
            f"0..{len(dataset.labels) - 1})."
        )
    return np.unique(items.astype(np.int64))


def resolve(protocol: Protocol, dataset, *, check_content: bool = True) -> Split:
    """Resolve ``protocol`` on ``dataset`` into train / query / database index arrays.

    Args:
        protocol: the protocol.
        dataset: a `zshbench.datasets.Dataset`.
        check_content: compare the items' content across the parts (`find_content_duplicates`; image files
            are hashed once and cached). Byte-identical items in two parts are refused for user data (folder
            datasets) and unpinned protocols; for a pinned protocol on a registered dataset they are counted
            in ``Split.content_duplicates`` and a `DuplicateContentWarning` is issued.

    Raises:
        DataError: class names missing from the dataset, a class with too few items for the counts, a violated
            leak invariant, or byte-identical items in two parts (see ``check_content``).
    """
    names = dataset.class_names
    index = {n: i for i, n in enumerate(names)}
    missing = [c for c in (*protocol.seen, *protocol.unseen) if c not in index]
    if missing:
        import difflib

        hints = []
        for m in missing[:3]:
            close = difflib.get_close_matches(m, names, n=1)
            hints.append(f"'{m}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise DataError(
            f"Protocol '{protocol.name}' names {len(missing)} class(es) that dataset '{dataset.name}' does not have: "
            f"{', '.join(hints)}{' ...' if len(missing) > 3 else ''}. Is this the right dataset for the protocol "
            f"(it was written for '{protocol.dataset}')?"
        )
    labels = dataset.labels
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(len(names) + 1))
    db_fixed = protocol.database if isinstance(protocol.database, int) else None
    sq_n, tr_n, q_n = protocol.seen_query_per_class, protocol.train_per_class, protocol.query_per_class

    def items_of(cname: str) -> np.ndarray:
        c = index[cname]
        return order[bounds[c] : bounds[c + 1]]

    # counts first (they need no item set): a short class is named before any extra file is asked for
    need = {
        **{c: tr_n + sq_n + (db_fixed or 0) for c in protocol.seen},
        **{c: q_n + (db_fixed or 0) for c in protocol.unseen},
    }
    _refuse_short(
        protocol,
        dataset,
        [f"'{c}' has {len(items_of(c))} items, needs {n}" for c, n in need.items() if len(items_of(c)) < n],
    )
    pool = _item_set(protocol, dataset)
    train, query, seen_query, database, problems = [], [], [], [], []
    for cname in protocol.seen:
        perm = items_of(cname)[_class_rng(protocol.seed, cname).permutation(len(items_of(cname)))]
        if pool is None:
            tr, sq, rest = perm[:tr_n], perm[tr_n : tr_n + sq_n], perm[tr_n + sq_n :]
        else:
            inside = np.isin(perm, pool)
            if (~inside).sum() < tr_n or inside.sum() < sq_n:
                problems.append(
                    f"'{cname}' has {len(perm)} items, {int(inside.sum())} of them in "
                    f"{protocol.seen_query_source}, needs {tr_n} outside it for train, {sq_n} inside it "
                    "for seen queries"
                )
                continue
            tr, sq = perm[~inside][:tr_n], perm[inside][:sq_n]
            rest = perm[~np.isin(perm, np.concatenate([tr, sq]))]
        train.append(tr)
        seen_query.append(sq)
        database.append(rest[:db_fixed] if db_fixed else rest)
    _refuse_short(protocol, dataset, problems)
    for cname in protocol.unseen:
        perm = items_of(cname)[_class_rng(protocol.seed, cname).permutation(len(items_of(cname)))]
        query.append(perm[:q_n])
        database.append(perm[q_n : q_n + db_fixed] if db_fixed else perm[q_n:])
    if db_fixed is None:
        # "rest" means every other item of the dataset, including classes the protocol does not list
        listed = set(protocol.seen) | set(protocol.unseen)
        for c, cname in enumerate(names):
            if cname not in listed:
                database.append(order[bounds[c] : bounds[c + 1]])
    cat = lambda parts: np.sort(np.concatenate(parts)).astype(np.int64) if parts else np.zeros(0, np.int64)  # noqa: E731
    tr, qu, db, sq = cat(train), cat(query), cat(database), cat(seen_query)
    seen_idx = np.array([index[c] for c in protocol.seen], dtype=np.int64)
    unseen_idx = np.array([index[c] for c in protocol.unseen], dtype=np.int64)
    check_split(tr, qu, db, labels, seen_idx, unseen_idx, protocol.name, seen_query=sq)
    if pool is not None and (np.isin(tr, pool).any() or not np.isin(sq, pool).all()):
        raise DataError(
            f"Split '{protocol.name}': train must lie outside and the seen queries inside {protocol.seen_query_source}."
        )
    split = Split(protocol, tr, qu, db, seen_idx, unseen_idx, fingerprint(tr, qu, db, sq), seen_query=sq)
    return _check_content(split, dataset) if check_content else split


def _refuse_short(protocol: Protocol, dataset, problems: list[str]) -> None:
    if problems:
        raise DataError(
            f"Protocol '{protocol.name}' cannot be met by dataset '{dataset.name}': {len(problems)} class(es) have too "
            f"few items ({'; '.join(problems[:5])}{'; ...' if len(problems) > 5 else ''}). Check "
            f"the data root holds the "
            "complete dataset, or use a protocol with smaller per-class counts."
        )


def find_content_duplicates(
    dataset,
    parts: dict[str, np.ndarray],
    limit: int = 5,
) -> tuple[int, list[tuple[str, str, str, str]]]:
    """Items with byte-identical content in two or more of ``parts`` (`Dataset.content_hashes`).

    Args:
        dataset: the dataset the indices point into.
        parts: part name -> item indices (e.g. {"train": ..., "query": ..., "database": ...}).
        limit: how many example pairs to return.

    Returns:
        (the number of items whose content also occurs in another part, up to ``limit`` example pairs
        (item, part, item, part) with items named by `Dataset.item_name`: a path for file datasets).
    """
    names = list(parts)
    idx = np.concatenate([np.asarray(parts[k], dtype=np.int64) for k in names]) if names else np.zeros(0, np.int64)
    part_of = np.concatenate([np.full(len(parts[k]), j) for j, k in enumerate(names)]) if names else idx
    groups: dict[str, list[int]] = {}
    for pos, h in enumerate(dataset.content_hashes(idx)):
        groups.setdefault(h, []).append(pos)
    count, examples = 0, []
    for members in groups.values():
        if len(members) < 2 or len({int(part_of[m]) for m in members}) < 2:
            continue
        count += len(members)
        if len(examples) < limit:
            a = members[0]
            b = next(m for m in members if part_of[m] != part_of[a])
            examples.append(
                (
                    dataset.item_name(int(idx[a])),
                    names[int(part_of[a])],
                    dataset.item_name(int(idx[b])),
                    names[int(part_of[b])],
                )
            )
    return count, examples


def _check_content(split: Split, dataset) -> Split:
    if not hasattr(dataset, "content_hashes"):
        return split
    parts = {"train": split.train, "query": split.query, "database": split.database}
    if len(split.seen_query):
        parts["seen_query"] = split.seen_query
    count, examples = find_content_duplicates(dataset, parts)
    if not count:
        return split
    proto = split.protocol
    shown = "; ".join(f"{a} ({pa}) = {b} ({pb})" for a, pa, b, pb in examples)
    more = " and more" if count > len(examples) else ""
    what = (
        f"{count} item(s) of the split of protocol '{proto.name}' on dataset '{dataset.name}' are byte-identical "
        f"to an item in another part ({'/'.join(parts)}), e.g. {shown}{more}"
    )
    if getattr(dataset, "user_data", False) or not proto.pinned:
        raise DataError(
            f"{what}. A copy of a training image among the queries (or a query among the database) makes the "
            "retrieval numbers meaningless. Remove the duplicate files (a class folder that is a symlink to "
            "another, or the same photo under two classes, are the usual causes) and run again."
        )
    warnings.warn(
        f"{what}. The protocol is pinned, so its published split is used as is; the record notes "
        f"content_duplicates = {count}.",
        DuplicateContentWarning,
        stacklevel=3,
    )
    return replace(split, content_duplicates=count, duplicate_examples=tuple(examples))


def check_split(train, query, database, labels, seen_idx, unseen_idx, name: str = "", *, seen_query=None) -> None:
    """The leak invariants; raise `DataError` naming the first violation.

    No set lists an item twice; train, query, seen_query (when given) and database are pairwise disjoint; train
    and seen_query hold seen classes only, query unseen classes only.
    """
    sets = [("train", train), ("query", query), ("database", database)]
    if seen_query is not None:
        sets.insert(2, ("seen_query", seen_query))
    for a_name, a in sets:
        if len(np.unique(a)) != len(a):
            raise DataError(f"Split '{name}': the {a_name} set lists an item twice.")
    for i, (an, a) in enumerate(sets):
        for bn, b in sets[i + 1 :]:
            both = np.intersect1d(a, b)
            if both.size:
                raise DataError(
                    f"Split '{name}': {both.size} item(s) are in both {an} and {bn} (first: item {both[0]})."
                )
    if not np.isin(labels[train], seen_idx).all():
        raise DataError(f"Split '{name}': the train set holds items of classes that are not seen classes.")
    if not np.isin(labels[query], unseen_idx).all():
        raise DataError(f"Split '{name}': the query set holds items of classes that are not unseen classes.")
    if seen_query is not None and not np.isin(labels[seen_query], seen_idx).all():
        raise DataError(f"Split '{name}': the seen_query set holds items of classes that are not seen classes.")
