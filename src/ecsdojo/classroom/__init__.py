"""The classroom: one isolated ECS Dojo per learner on a JupyterHub (``dojo classroom …``).

JupyterHub (an existing multi-user engine) authenticates learners and spawns each one's JupyterLab as their own
Unix account; :mod:`ecsdojo.classroom.spawner` adds, per learner, a rootless Docker engine with the demo image
loaded and the course notebooks handed out with nbgitpuller. Nothing here is imported at ``import ecsdojo``.

Example::

    from ecsdojo.classroom import numbered_learners
    learners = numbered_learners(3)
"""

from ecsdojo.classroom.roster import Learner, RosterError, numbered_learners, read_roster

__all__ = ["Learner", "RosterError", "numbered_learners", "read_roster"]
