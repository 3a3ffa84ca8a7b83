"""A bundle's ``encoding.json`` record and decoding, which live with the targets' handoff hooks.

Re-exported from ``targets.handoff.encoding`` (the hooks fill the record; ``pipeline`` reads it).
"""

from neuropipe.targets.handoff.encoding import (
    InputEncoding,
    decode,
    decode_rule,
)

__all__ = ["InputEncoding", "decode", "decode_rule"]
