"""The student notebooks: built from their percent-format sources and run end to end.

Each notebook runs twice in a folder laid out like the student bundle (`nntrain/`,
`assignment/` and the `.ipynb` files): with the reference solutions as `nntrain/`, where
every check cell must print PASS and the notebook's own numbers must reproduce the
lecture's findings (read from the `RESULT {...}` line its last cell prints), and with the
starter code, where every cell must still run and the cells that need missing code must
say "is not implemented yet" instead of raising.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import assignment as asg
from autograder import notebooks

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = ROOT / "assignments" / "training_dnn"
SOURCES = ASSIGNMENT / "notebooks"
PACKAGES = {"solutions": ROOT / "solutions" / "nntrain",
            "starter": ROOT / "starter_code" / "nntrain"}
NAMES = [p.stem for p in notebooks.sources(SOURCES)]
CHECK_CALL = re.compile(r"""check\(["']([a-z_]+)["']""")
CELL_TIMEOUT = 300


# ----------------------------------------------------------------------------- helpers
def make_bundle(folder: Path, package: Path) -> Path:
    """A student-bundle layout in `folder`: a copy of `package` as nntrain/, assignment/.

    assignment/ is a symlink to the real assignment folder, so that the checker finds the
    reference solutions through assignment.toml's relative `solutions` path.
    """
    shutil.copytree(package, folder / "nntrain",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "assignment").symlink_to(ASSIGNMENT, target_is_directory=True)
    return folder


def run_notebook(name: str, variant: str, folder: Path) -> nbformat.NotebookNode:
    """Build notebook `name` into a fresh bundle of `variant` and execute it there."""
    make_bundle(folder, PACKAGES[variant])
    [path] = [p for p in notebooks.build(SOURCES, folder) if p.stem == name]
    return notebooks.execute(path, folder, timeout=CELL_TIMEOUT)


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def check_cells(nb) -> list[tuple[str, str]]:
    """(question id, printed text) of every cell that calls check("...")."""
    found = []
    for cell in code_cells(nb):
        match = CHECK_CALL.search(cell.source)
        if match:
            found.append((match.group(1), notebooks.cell_text(cell)))
    return found


def result_line(nb) -> dict:
    """The JSON of the `RESULT {...}` line printed by the notebook."""
    for cell in code_cells(nb):
        for line in notebooks.cell_text(cell).splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])
    raise AssertionError("the notebook printed no RESULT line")


def graded_questions() -> set[str]:
    return {q.id for q in asg.load(ASSIGNMENT).questions}


def assert_ran_cleanly(nb):
    """Every code cell ran, and none printed a traceback or an error output."""
    for cell in code_cells(nb):
        assert cell.execution_count is not None, f"cell not run:\n{cell.source[:200]}"
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.output_type == "error"]
        assert not errors, f"cell raised:\n{cell.source[:200]}"
        assert "Traceback" not in notebooks.cell_text(cell), cell.source[:200]


# ----------------------------------------------------------------------------- the converter
def test_parse_markdown_and_code_cells():
    text = "\n".join([
        "# a header, not part of the notebook",
        "# %% [markdown]",
        "# # Title",
        "#",
        "# Some $x^2$ text.",
        "",
        "# %%",
        "x = 1",
        "",
        "",
        "# %% [md]",
        "# second",
        "# %%",
        "",
    ])
    assert notebooks.parse(text) == [("markdown", "# Title\n\nSome $x^2$ text."),
                                     ("code", "x = 1"), ("markdown", "second")]


def test_markdown_lines_must_be_comments():
    with pytest.raises(ValueError, match="must be a comment"):
        notebooks.parse("# %% [markdown]\nnot a comment\n")


def test_build_writes_valid_notebooks(tmp_path):
    paths = notebooks.build(SOURCES, tmp_path)
    assert [p.stem for p in paths] == NAMES
    assert len(NAMES) == 5
    questions = graded_questions()
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        assert nb.cells[0].cell_type == "markdown"
        assert sum(c.cell_type == "markdown" for c in nb.cells) >= 5
        assert "$" in "".join(c.source for c in nb.cells if c.cell_type == "markdown")
        asked = [q for q, _ in check_cells(nb)]
        assert asked, f"{path.name} has no check cell"
        known = questions | {"torch_training", "mode_connectivity"}
        assert set(asked) <= known, f"{path.name} checks unknown questions {asked}"
        assert "RESULT" in code_cells(nb)[-1].source


def test_build_is_reproducible(tmp_path):
    first = notebooks.build(SOURCES, tmp_path / "a")
    second = notebooks.build(SOURCES, tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]


def test_every_graded_question_has_a_check_cell(tmp_path):
    asked = set()
    for path in notebooks.build(SOURCES, tmp_path):
        asked |= {q for q, _ in check_cells(nbformat.read(path, as_version=4))}
    assert graded_questions() <= asked


def test_command_line_builds(tmp_path, capsys):
    assert notebooks.main([str(SOURCES), str(tmp_path)]) == 0
    assert sorted(p.stem for p in tmp_path.glob("*.ipynb")) == NAMES
    assert "01_" in capsys.readouterr().out


# ------------------------------------------------------------------ the lecture's findings
def findings_part1(r):
    """Activations and initialization: the collapse, the saturation and He's fix."""
    assert r["sigmoid_grad_max"] == pytest.approx(0.25, abs=1e-3)
    assert r["sigmoid_grad_at_10"] < 1e-4
    assert set(r["grad_errors"]) == {"sigmoid", "tanh", "relu", "leaky_relu", "elu", "prelu",
                                     "maxout"}
    assert max(r["grad_errors"].values()) < 1e-7
    small = np.array(r["std_small_tanh"])
    assert np.all(np.diff(small) < 0) and small[-1] < 1e-5          # collapse to zero
    assert min(r["std_unit_tanh"]) > 0.95                              # saturation at +-1
    assert np.mean(r["saturated_tanh"]["unit"]) > 0.8
    xavier_tanh = r["std_xavier_tanh"]
    assert 0.1 < xavier_tanh[-1] < 0.5 and np.mean(r["saturated_tanh"]["xavier"]) < 0.05
    xavier_relu, he_relu = r["std_xavier_relu"], r["std_he_relu"]
    assert xavier_relu[-1] < 0.1 * xavier_relu[0]                      # halves each layer
    assert he_relu[-1] > 0.5 and he_relu[-1] > 0.7 * he_relu[0]        # He keeps the scale
    assert r["std_unit_relu"][-1] > 1e6                                # explodes
    dead_init = r["dead_at_init"]
    assert all(v == dead_init["he"] for v in dead_init.values())       # scale-free pattern
    dead = r["dead_after_training"]
    assert np.mean(dead["2.0"]) > 0.5 > np.mean(dead["0.05"])


def findings_part2(r):
    """Batch norm, layer norm, the weight-scale sweep and preprocessing."""
    assert r["bn_train_stds"] == pytest.approx([1, 2, 3, 4], abs=1e-3)
    assert r["bn_train_means"] == pytest.approx([0, -1, 1, 2], abs=1e-9)
    assert r["running_mean"] == pytest.approx(5.0, abs=0.5)
    assert r["running_var"] == pytest.approx(9.0, abs=2.0)
    assert r["test_mode_alone"] == pytest.approx(r["test_mode_in_batch"])
    assert r["train_mode_single"] == pytest.approx([0.5] * 3)
    assert len(r["norm_grad_errors"]) == 3 and max(r["norm_grad_errors"].values()) < 1e-6
    assert r["bn_alt_difference"] < 1e-8
    assert r["layernorm_stds"] == pytest.approx([1, 1, 1], abs=1e-3)
    with_bn, without = np.array(r["sweep_val_acc_batchnorm"]), np.array(r["sweep_val_acc_none"])
    assert np.all(with_bn > 0.85)                                      # every scale trains
    assert np.sum(without > 0.85) <= 2 and np.all(without[:5] < 0.2)   # a narrow band only
    assert r["acc_running_stats"] > r["acc_initial_stats"] + 0.3
    assert r["centered_train_max_mean"] < 1e-12 < r["centered_val_max_mean"]
    assert r["standardized_train_max_mean"] < 1e-12 < r["standardized_val_max_mean"]
    assert r["constant_pixels"] >= 1
    assert r["softmax_loss_standardized"] < 0.5 * r["softmax_loss_raw"]


def findings_part3(r):
    """Dropout keeps the expectation, L1 is sparse, early stopping and EMA help."""
    for p in (0.25, 0.5, 0.75):
        assert r[f"dropout_kept_{p}"] == pytest.approx(p, abs=0.01)
        assert r[f"dropout_mean_ratio_{p}"] == pytest.approx(1.0, abs=0.02)
        assert r[f"dropout_test_identity_{p}"] is True
    assert r["dropout_grad_error"] < 1e-8
    assert r["l1_near_zero"] > 0.2 and r["l1_near_zero"] > 3 * r["l2_near_zero"]
    assert r["augmentations_shown"] == 5
    assert r["early_best_epoch"] < r["early_stop_epoch"] < 99
    assert r["early_best_acc"] > r["early_final_acc"] + 0.05
    assert r["ema_val_loss_std"] < r["raw_val_loss_std"]
    assert r["ema_val_loss_mean"] <= r["raw_val_loss_mean"]


def findings_part4(r):
    """The toy valley, torch agreement, schedules, and L2 versus decoupled decay."""
    sgd = r["toy_final_loss_SGD"]
    assert r["toy_final_loss_SGD + momentum"] < sgd and r["toy_final_loss_Nesterov"] < sgd
    assert r["toy_first_step_ratio_SGD"] == pytest.approx(7.5, rel=1e-6)
    for name in ("AdaGrad", "RMSProp", "Adam"):
        assert r[f"toy_first_step_ratio_{name}"] == pytest.approx(1.0, abs=0.05)
    assert len(r["torch_differences"]) == 7 and max(r["torch_differences"].values()) < 1e-10
    for rule in ("sgd", "sgd_momentum", "nesterov_momentum", "adagrad", "rmsprop", "adam",
                 "adamw"):
        assert r[f"net_best_val_acc_{rule}"] > 0.9
    assert r["schedule_step_decay"] == pytest.approx([1, 1, .5, .5, .25, .25, .125, .125,
                                                      .0625, .0625])
    assert r["schedule_cosine_warm_restarts"][0] == pytest.approx(1.0)
    assert r["adamw_ratios"] == pytest.approx([0.99 ** 300] * 3, rel=1e-6)
    ratios = r["adam_l2_ratios"]
    assert max(ratios) - min(ratios) > 0.3
    assert r["adam_l2_lambda_invariant"] is True
    assert r["decay_norms_adam_0.1"][0] < 0.8 * r["decay_norms_adamw_0.0001"][0]


def findings_part5(r):
    """The PyTorch recipe learns; the Bezier curve has no barrier, the line has one."""
    assert r["layer_types"] == ["Linear", "BatchNorm1d", "ReLU", "Dropout"] * 2 + ["Linear"]
    assert r["torch_test_acc"] > 0.9
    assert r["line_barrier"] > 0.5
    assert r["curve_barrier"] < 0.2 * r["line_barrier"]


FINDINGS = dict(zip(NAMES, [findings_part1, findings_part2, findings_part3, findings_part4,
                            findings_part5], strict=True))


# ----------------------------------------------------------------------------- end to end
@pytest.mark.parametrize("name", NAMES)
def test_runs_with_solutions(name, tmp_path):
    nb = run_notebook(name, "solutions", tmp_path)
    assert_ran_cleanly(nb)
    for cell in code_cells(nb):
        assert "not implemented yet" not in notebooks.cell_text(cell), cell.source[:200]
    questions = graded_questions()
    checks = [(q, text) for q, text in check_cells(nb) if q in questions]
    for question, text in checks:
        assert "PASS" in text and "FAIL" not in text, f"check({question!r}):\n{text}"
    FINDINGS[name](result_line(nb))


@pytest.mark.parametrize("name", NAMES)
def test_runs_with_starter_code(name, tmp_path):
    nb = run_notebook(name, "starter", tmp_path)
    assert_ran_cleanly(nb)
    questions = graded_questions()
    for question, text in check_cells(nb):
        if question in questions:
            assert "FAIL" in text and "is not implemented yet" in text, text
    experiments = [notebooks.cell_text(c) for c in code_cells(nb)
                   if not CHECK_CALL.search(c.source)]
    assert any(" is not implemented yet: " in text for text in experiments)
    result_line(nb)
