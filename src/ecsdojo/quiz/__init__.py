"""Question banks (bank.py), scoring (scoring.py), spaced repetition and the terminal drill (drill.py),
the notebook widgets (widgets.py) and the `dojo quiz` / `dojo drill` commands (cli.py).

``ecsdojo.quiz`` is both this package and the public function ``ecsdojo.quiz(...)``. Once any
``ecsdojo.quiz.*`` module is imported, Python binds the *package* to the name ``quiz`` on ``ecsdojo``,
so ``from ecsdojo import quiz`` may hand back the package. The package is therefore callable and
forwards to :func:`ecsdojo.quiz.widgets.quiz`, so ``quiz("ecs-vs-kubernetes")`` works either way.
"""

from __future__ import annotations

import sys
import types


class _CallableQuizPackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from ecsdojo.quiz.widgets import quiz
        return quiz(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableQuizPackage
