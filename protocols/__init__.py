"""Fixed, versioned zero-shot protocols (``*.toml`` data files) and their resolution to splits."""

from zshbench.protocols.resolve import (  # noqa: F401
    DuplicateContentWarning,
    Protocol,
    Split,
    add_protocol_dir,
    check_pin,
    check_split,
    find_content_duplicates,
    is_pinned_name,
    list_protocols,
    load_protocol,
    parse_protocol_file,
    pin_protocol,
    pinned_versions,
    protocol_versions,
    resolve,
)

__all__ = [
    "Protocol",
    "Split",
    "list_protocols",
    "load_protocol",
    "resolve",
    "check_split",
    "add_protocol_dir",
    "check_pin",
    "is_pinned_name",
    "pinned_versions",
    "protocol_versions",
    "DuplicateContentWarning",
    "find_content_duplicates",
]
