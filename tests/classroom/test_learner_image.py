"""Does the Zero to JupyterHub learner image build offline, and does `dojo doctor` pass inside it?

The image is built as `dojo classroom image` builds it (debootstrapped base, the project's wheelhouse, no
registry; cached by a content hash, so a second run takes seconds). Inside, with no network and no Docker socket,
the doctor must report no blocking problem and say the labs use simulated containers, and the course repository
must be there for nbgitpuller.
"""

from __future__ import annotations

import subprocess

import pytest

# Building the image (a wheelhouse of the course's dependencies installed into it) takes about two minutes on a
# quiet machine and more when the no-engine CI pass runs beside it: the first test's setup gets 15 minutes.
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def learner_image(docker_client):
    import shutil

    from ecsdojo.classroom.learner_image import build_learner_image

    if shutil.which("debootstrap") is None:
        from tests.classroom.conftest import skip_or_fail

        skip_or_fail("the learner image's offline base needs debootstrap (apt-get install debootstrap)")
    return build_learner_image(progress=lambda line: None)


def run_in(image, *command):
    return subprocess.run(["docker", "run", "--rm", "--network", "none", image, *command],
                          capture_output=True, text=True, timeout=300)


def test_dojo_doctor_is_green_inside_the_learner_image_on_the_simulated_runtime(learner_image):
    done = run_in(learner_image, "dojo", "doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "blocking problem" not in done.stdout
    assert "labs will use simulated containers" in done.stdout


def test_the_learner_image_hands_out_the_course_with_the_values_files_poststart_hook(learner_image):
    """As jovyan, the postStart command of z2jh-values.yaml copies the course into ~/ecs-dojo."""
    import yaml

    from tests.conftest import ROOT

    values = yaml.safe_load((ROOT / "labs" / "classroom" / "z2jh-values.yaml").read_text())
    hook = values["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
    done = run_in(learner_image, "sh", "-c",
                  'id -un; echo "$DOJO_RUNTIME"; "$@" >/dev/null 2>&1 && ls /home/jovyan/ecs-dojo', "hook", *hook)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.split()
    assert lines[:2] == ["jovyan", "process"]
    assert "00_start_here.ipynb" in lines[2:]
