"""Result records: one typed, frozen, versioned `Record` per run, stored as one JSON file, the leaderboard's only
measured input.

**Identity.** A run is identified by everything that can change one of its numbers (`run_identity`): the method
and its version, the full resolved config (files named in it, such as weights, by their sha256, never by path),
the feature spec (extractor, model, weights by sha256, library version), the dataset identity (registered name,
version and content fingerprint; for a ``folder:`` dataset a fingerprint of its files that does not depend on
where the folder lives; the image size in use), the protocol (name, version, content sha256, whether it matched
a pin), the evaluation settings (k, evaluator ``metric_version``, the metric set, the evaluation variant), the
training world size, the code length and the seed. Its sha256 is the record's ``identity_hash``, and the file
name carries it::

    <results>/<dataset>/<protocol>/<method>/b<bits>-s<seed>-<identity_hash[:16]>.json

so two different experiments never share a file, and a run is only ever "skipped" when a record with exactly
its identity exists (`zshbench.runner`). Every component of that path is a validated name
(`zshbench.paths.check_name`) and the target is resolved inside ``<results>`` (`zshbench.paths.inside`).

**Integrity.** Writing goes through a temporary file in the same directory and ``os.replace`` (a killed run
leaves no half-written record; parallel writers never corrupt each other). Every record carries
``content_sha256``, a checksum of its canonical JSON: a record edited by hand (a metric changed, a field
removed) is reported, not silently averaged in. The checksum catches accidental and naive edits, not a
determined forger; ``zshbench leaderboard --check --reproduce`` re-runs records to catch changed numbers.

**Validation** (`Record.from_dict`, `validate`) checks the type and range of every field and the consistency of
the identity with the fields it covers, and lists *every* problem of a record at once. `load_records` never
raises on bad content: it returns the valid records and one `RecordError` per bad file (path, field, reason);
only regular files are read (a FIFO named ``*.json`` is reported, not opened), size and nesting are bounded.

**Schema history** (older records are converted on load by `CONVERTERS`, each tested on a stored fixture):

* 1: the first version.
* 2: ``complexity`` (parameters, FLOPs per encoded item) and ``class_distances`` (RAZH Fig. 5).
* 3: ``identity`` / ``identity_hash`` (the run identity above), ``evaluation`` (k, metric set, variant),
  ``protocol.pinned``, ``content_sha256``, ``non_default_params`` (the config keys that differ from the
  method's defaults at run time, so the leaderboard needs no code to name them), ``pretraining`` (for runs on
  pretrained weights: the label set they were trained on and the protocol's unseen classes it contains,
  `zshbench.pretraining`); the record type `Record`. `convert_v2_to_v3` rebuilds the identity
  from a version-2 record's fields; what version 2 did not store (the dataset's content fingerprint, whether the
  protocol matched a pin) is ``null``, so a converted record never stands in for a new run.

Paper records (``source: "paper"``, published numbers) are versioned separately (`zshbench.reported`,
``PAPER_SCHEMA_VERSION``) and upgraded by `zshbench.reported.validate_paper_record`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zshbench.environment import cpu_features, cpu_name, environment
from zshbench.records.convert import CONVERTERS, convert_v1_to_v2, convert_v2_to_v3, upgrade_record
from zshbench.records.identity import (
    canonical_json,
    content_checksum,
    identity_difference,
    identity_hash,
    record_filename,
    record_path,
    run_identity,
)
from zshbench.records.io import iter_record_files, load_record, load_records, read_json_file, write_record
from zshbench.records.record import Record, utc_now
from zshbench.records.schema import MAX_RECORD_BYTES, SCHEMA_VERSION
from zshbench.records.sidecar import load_per_query, sidecar_path
from zshbench.records.validate import validate

__all__ = [
    "load_per_query",
    "sidecar_path",
    "SCHEMA_VERSION",
    "Record",
    "run_identity",
    "identity_hash",
    "identity_difference",
    "record_path",
    "record_filename",
    "write_record",
    "load_record",
    "load_records",
    "validate",
    "upgrade_record",
    "CONVERTERS",
    "convert_v1_to_v2",
    "convert_v2_to_v3",
    "environment",
    "utc_now",
    "MAX_RECORD_BYTES",
    "content_checksum",
    "canonical_json",
    "read_json_file",
    "iter_record_files",
    "cpu_name",
    "cpu_features",
    "iter_metric_names",
]


def iter_metric_names(records: Iterable[Any]) -> list[str]:
    names: set[str] = set()
    for r in records:
        names.update(r["metrics"])
    return sorted(names)
