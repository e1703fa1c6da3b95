"""``python -m iamkit`` runs the command line."""

import gc
import sys

from .cli import main

status = main()
# The interpreter's last collection would walk every object a batch left cached (a tenth of a
# 2,000-line run) and find no garbage worth it: frozen, they are only freed; finalizers still run.
# (The ``iamkit`` console script stays plain ``main``: the JupyterLite edition calls it in the kernel.)
gc.freeze()
sys.exit(status)
