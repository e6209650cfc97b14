"""Constants of the measured-record schema (see `zshbench.records`)."""

from __future__ import annotations

import re

SCHEMA_VERSION = 3
MIN_BITS, MAX_BITS = 8, 256
MAX_SEED = 2**64 - 1
# a record is a few tens of kB; anything far larger is not a record (and is not read into memory)
MAX_RECORD_BYTES = 32 * 2**20
MAX_DEPTH = 64  # nesting depth of a record's JSON (deeper: refused before parsing)
HEX64 = re.compile(r"[0-9a-f]{64}")
HEX12 = re.compile(r"[0-9a-f]{12}")
UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
EVALUATION_VARIANTS = ("standard", "leaky")
SETTING_NAMES = ("S->A", "U->U", "S->S", "H")  # besides U->A, which is the record's metrics
