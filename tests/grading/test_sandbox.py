"""The docker sandbox: a pure argv builder, and a real graded run inside a container."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell

from ecsdojo.grading.grade import GradeOptions, grade, grade_submission, load_keys
from ecsdojo.grading.markers import read_notebook
from ecsdojo.grading.sandbox import (OWNER_LABEL, DockerLimits, course_mounts, docker_kernel_argv, local_kernel_env,
                                     sandbox_refusal)

from .conftest import RIGHT, make_submission, release_course


def test_does_the_docker_kernel_run_without_network_and_with_limits():
    argv = docker_kernel_argv(image="ecsdojo/app:latest", workdir=Path("/tmp/g/s1"), run_label="r1",
                              mounts=["/venv/site-packages", "/src"], limits=DockerLimits("512m", 0.5, 64))
    text = " ".join(argv)
    for flags in ("--network none", "--memory 512m", "--memory-swap 512m", "--cpus 0.5", "--pids-limit 64",
                  "--read-only", "--cap-drop ALL", "--init", f"--label {OWNER_LABEL}=grading",
                  "--label ecsdojo.grade-run=r1", "-v /venv/site-packages:/venv/site-packages:ro",
                  "-v /src:/src:ro", "-v /tmp/g/s1:/tmp/g/s1:rw", "-e PYTHONPATH=/venv/site-packages:/src",
                  "-e DOJO_HOME=/tmp/g/s1/home", "--entrypoint python3 ecsdojo/app:latest -m ipykernel_launcher"):
        assert flags in text, flags
    assert "-p" not in argv and "--publish" not in argv


def test_does_the_sandbox_get_the_demo_app_the_banks_and_the_simulated_runtime():
    """Issue 14 §10: LocalECS runs on the simulated runtime inside the sandbox; quizzes load there."""
    repo = Path(__file__).resolve().parents[2]
    assert course_mounts() == [str(repo / "labs"), str(repo / "quizzes")]
    text = " ".join(docker_kernel_argv(image="ecsdojo/app:latest", workdir=Path("/tmp/g/s1"), run_label="r1"))
    assert f"-v {repo / 'labs'}:{repo / 'labs'}:ro" in text
    assert f"-v {repo / 'quizzes'}:{repo / 'quizzes'}:ro" in text
    assert "-e DOJO_RUNTIME=process" in text and f"{repo / 'quizzes'}:" not in text.split("PYTHONPATH=")[1].split()[0]


def test_is_a_module_that_needs_a_docker_engine_refused_up_front_in_the_sandbox(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    _, parsed = read_notebook(repo / "solutions" / "01_docker_limits.ipynb")
    assert "need a Docker engine" in sandbox_refusal([cell.source for cell in parsed.cells])
    _, parsed = read_notebook(repo / "solutions" / "04_auto_healing.ipynb")
    assert sandbox_refusal([cell.source for cell in parsed.cells]) is None
    solutions, notebooks = release_course(tmp_path)
    nb_path = solutions / "01_basics.ipynb"
    nb_path.write_text(nb_path.read_text().replace("from ecsdojo import check, hint, progress",
                                                   "from ecsdojo import check, hint, progress\\n"
                                                   "# uses ecsdojo.course.docker_demos"))
    submission = make_submission(notebooks / "01_basics.ipynb", tmp_path / "sub" / "01_basics.ipynb", answers=RIGHT)
    result = grade_submission(submission, load_keys(solutions), GradeOptions(solutions_dir=solutions,
                                                                             sandbox="docker"),
                              workdir=tmp_path / "work")
    assert result.status == "not-gradable-here" and result.points == 0
    assert "module 01 was not graded: this module runs plain Docker demos" in result.notes[0]


def test_does_a_local_kernel_get_its_own_dojo_home(tmp_path):
    env = local_kernel_env(tmp_path, base={"DOJO_HOME": "/home/learner/.ecsdojo", "PATH": "/bin"})
    assert env["DOJO_HOME"] == str(tmp_path / "home") and env["PATH"] == "/bin"


# A learner cell that ends the notebook's run with sys.exit(9) when any network interface besides
# loopback exists (it sends no traffic).
PROBE = ("import socket, sys\n"
         "if [name for _, name in socket.if_nameindex()] != ['lo']:\n"
         "    sys.exit(9)")


@pytest.mark.docker
def test_does_docker_sandbox_grade_in_a_container_without_network(docker_client, app_image, tmp_path):
    assert [name for _, name in socket.if_nameindex()] != ["lo"], "the probe needs a host with a network"
    solutions, notebooks = release_course(tmp_path)
    submission = make_submission(notebooks / "01_basics.ipynb", tmp_path / "sub" / "01_basics.ipynb", answers=RIGHT,
                                 edit=lambda nb: nb.cells.insert(2, new_code_cell(PROBE)))
    def grading_containers():
        return {c.id for c in docker_client.containers.list(all=True, sparse=True,
                                                             filters={"label": f"{OWNER_LABEL}=grading"})}

    before = grading_containers()      # another run's leftovers (a killed grader) are not this test's
    try:
        [result] = grade([str(submission)], workers=1, options=GradeOptions(
            solutions_dir=solutions, sandbox="docker", image=app_image, cell_timeout=60, notebook_timeout=120))
        assert (result.status, result.points) == ("ok", 6), result.notes
    finally:
        leftovers = grading_containers() - before
        for container_id in leftovers:
            docker_client.containers.get(container_id).remove(force=True)
    assert leftovers == set()


COURSE = Path(__file__).resolve().parents[2]


@pytest.mark.docker
@pytest.mark.slow
def test_do_course_modules_score_the_same_in_the_sandbox(docker_client, app_image, tmp_path):
    """Issue 14 §10: correct work of modules 00 (LocalECS + a quiz) and 04 scores full marks, status ok."""
    import nbformat

    from ecsdojo.grading.grade import answer_key

    paths = []
    for name in ("00_start_here", "04_auto_healing"):
        path = tmp_path / name / f"{name}.ipynb"
        path.parent.mkdir()
        nbformat.write(answer_key(COURSE / "solutions" / f"{name}.ipynb"), path)
        paths.append(str(path))
    results = grade(paths, workers=1, options=GradeOptions(solutions_dir=COURSE / "solutions", sandbox="docker",
                                                           image=app_image, cell_timeout=120, notebook_timeout=600))
    for result in results:
        assert (result.status, result.points) == ("ok", result.max_points), (result.submission, result.notes)


@pytest.mark.docker
@pytest.mark.slow
def test_does_the_issue_14_forgery_of_module_07_get_flagged_in_the_sandbox(docker_client, app_image, tmp_path):
    """Issue 14 §1: the forged module 07 that scored 17/17 scores 0, flagged `tampered` naming the cell."""
    import nbformat

    from .test_grade import ISSUE_FORGERY

    nb = nbformat.read(COURSE / "notebooks" / "07_ecs_vs_kubernetes.ipynb", as_version=4)
    nb.cells.insert(1, new_code_cell(ISSUE_FORGERY, id="forgery"))
    path = tmp_path / "07_ecs_vs_kubernetes.ipynb"
    nbformat.write(nb, path)
    [result] = grade([str(path)], workers=1, options=GradeOptions(
        solutions_dir=COURSE / "solutions", sandbox="docker", image=app_image, cell_timeout=120,
        notebook_timeout=600))
    assert (result.status, result.points) == ("tampered", 0), result.notes
    assert "cell 2 (id 'forgery', line 4) rebinds `check` (the grading function)" in result.status_notes()
