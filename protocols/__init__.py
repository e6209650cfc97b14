"""Fixed, versioned zero-shot protocols (``*.toml`` data files) and their resolution to splits."""

from zshbench.protocols.resolve import (  # noqa: F401
    Protocol,
    Split,
    add_protocol_dir,
    check_split,
    list_protocols,
    load_protocol,
    parse_protocol_file,
    pin_protocol,
    resolve,
)

__all__ = ["Protocol", "Split", "list_protocols", "load_protocol", "resolve", "check_split", "add_protocol_dir"]
