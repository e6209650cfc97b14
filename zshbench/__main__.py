import sys

from zshbench.cli import main

sys.exit(main())
