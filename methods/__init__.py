"""Built-in methods. Importing this package registers them (``zshbench.list_methods()``)."""

from zshbench.methods import lsh  # noqa: F401  (registration)
from zshbench.methods import pcah  # noqa: F401  (registration)
from zshbench.methods import itq  # noqa: F401  (registration)
from zshbench.methods import sh  # noqa: F401  (registration)
from zshbench.methods import razh  # noqa: F401  (registration: razh, razh-t)
from zshbench.methods import comae  # noqa: F401  (registration: comae, comae-v1, comae-v2, comae-v3)
