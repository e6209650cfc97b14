"""Built-in methods. Importing this package registers them (``zshbench.list_methods()``)."""

from zshbench.methods import (
    bihalf,  # noqa: F401  (registration)
    comae,  # noqa: F401  (registration: comae, comae-v1, comae-v2, comae-v3)
    csq,  # noqa: F401  (registration)
    dch,  # noqa: F401  (registration)
    dpn,  # noqa: F401  (registration)
    greedyhash,  # noqa: F401  (registration)
    itq,  # noqa: F401  (registration)
    lsh,  # noqa: F401  (registration)
    orthohash,  # noqa: F401  (registration)
    pairwise,  # noqa: F401  (registration: dpsh, dsh, hashnet)
    pcah,  # noqa: F401  (registration)
    razh,  # noqa: F401  (registration: razh, razh-t)
    sdh,  # noqa: F401  (registration)
    sh,  # noqa: F401  (registration)
    sitnet,  # noqa: F401  (registration)
)
