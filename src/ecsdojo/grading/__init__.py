"""Graded notebooks: authoring markers, release, in-notebook checks, bulk grading, gradebook.

- ``markers``   the one parser of the authoring markers in solutions/ (see docs/authoring.md)
- ``seal``      sealed check specs: salted digests of expected values, never the values
- ``release``   solutions/ -> notebooks/ (`dojo release`)
- ``checks``    ``check()``, ``hint()``, ``progress()`` used inside notebooks
- ``tally``     the learner's per-module table (`dojo progress`, ``progress()``)
- ``grade``     headless grading in fresh kernels (`dojo grade`); ``sandbox`` runs kernels in Docker
- ``integrity`` what a submission cannot forge (session, nonce, value verdicts) and tampering it is flagged for
- ``gradebook`` gradebook.csv and per-submission feedback
- ``bench``     `dojo bench grade`

Nothing is imported here: ``import ecsdojo.grading.checks`` stays light inside learner kernels.
"""
