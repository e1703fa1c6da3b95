"""iamkit classroom: the loopback guard is on in this kernel from its first cell.

Copied by the classroom hub into every learner's IPython profile (startup/00-iamkit-guard.py). A
lesson's ``start_sandbox`` runs its own guarded moto server on top; without one, the kernel still
refuses every connection and name lookup that would leave this machine.
"""

import IPython as _IPython

import iamkit.sandbox as _sandbox

_shell = _IPython.get_ipython()
_shell._iamkit_guard = _sandbox.loopback_only()  # held by the shell, which lives as long as the kernel
_shell._iamkit_guard.__enter__()
del _IPython, _sandbox, _shell
