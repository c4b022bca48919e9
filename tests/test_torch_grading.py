"""The questions torch_training and mode_connectivity, graded through the sandboxed worker.

The reference earns every point and the stubs none. Submissions that do not train, that
predict one class, or whose curve keeps the midpoint bend earn none of the accuracy or
barrier points (but keep what else they got right); common mistakes, as mutants of the
reference (a definition appended to a copy of its module, as in mutants.py), lose points.
"""

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
from mutants import Mutant, m

from autograder import assignment as asg
from autograder import worker as wire
from autograder.grading import Oracle, grade_package

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "solutions" / "nntrain"
TORCH = ("torch_tasks.make_model", "torch_tasks.train", "torch_tasks.predict")
CURVES = ("mode_connectivity.bezier_point", "mode_connectivity.line_point",
          "mode_connectivity.fit_bezier")
ACCURACY_CASES = ("train/held-out-accuracy", "train/flat-inputs-accuracy")

_MODEL = """
def make_model(in_features, num_classes, hidden=(128, 64), keep_prob=0.8):
    layers, dim = [], in_features
    for h in hidden:
        layers += [{block}]
        dim = h
    layers.append(nn.Linear(dim, num_classes))
    for layer in layers:
        if isinstance(layer, nn.Linear):
            {init}
    return nn.Sequential(*layers)
"""
_BLOCK = "nn.Linear(dim, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(1 - keep_prob)"
_HE = "nn.init.kaiming_normal_(layer.weight, nonlinearity='relu'); nn.init.zeros_(layer.bias)"


def model(description: str, block: str = _BLOCK, init: str = _HE) -> Mutant:
    """A make_model mutant: another block of layers or another initialization."""
    return m("torch_tasks.make_model", description, _MODEL.format(block=block, init=init))


def _predict(labels: str) -> str:
    """A predict (eval mode, restored) whose last line turns `scores` into `labels`."""
    return f"""
    def predict(model, X, device=None):
        X = torch.as_tensor(np.asarray(X, dtype=np.float32)).reshape(len(X), -1)
        was_training = model.training
        model.eval()
        with torch.no_grad():
            scores = model(X)
        model.train(was_training)
        return {labels}
    """


UNTRAINED = m("torch_tasks.train", "returns at once, without training", """
    def train(model, X_train, y_train, X_val, y_val, **kwargs):
        return {"train_loss": [], "val_acc": [], "best_epoch": 0}
    """)
CONSTANT = m("torch_tasks.predict", "predicts class 0 for every input",
             _predict("np.zeros(len(X), dtype=np.int64)"))
MIDPOINT = m("mode_connectivity.fit_bezier", "returns the midpoint, untrained", """
    def fit_bezier(w1, w2, X, y, **kwargs):
        return {k: (w1[k] + w2[k]) / 2 for k in w1}
    """)
# A train that only memorises the data and a predict that looks inputs up (1-nearest
# neighbour): about 98 % held-out accuracy, without the model.
MEMORISE = m("torch_tasks.train", "stores the data instead of training", """
    def train(model, X_train, y_train, X_val, y_val, **kwargs):
        model._memory = (np.asarray(X_train, np.float32).reshape(len(X_train), -1),
                         np.asarray(y_train))
        return {"train_loss": [1.0], "val_acc": [0.5], "best_epoch": 0}
    """)
LOOKUP = m("torch_tasks.predict", "nearest neighbour among the stored inputs", """
    def predict(model, X, device=None):
        X = np.asarray(X, np.float32).reshape(len(X), -1)
        seen, labels = model._memory
        distances = ((X[:, None, :] - seen[None, :, :]) ** 2).sum(axis=2)
        return labels[distances.argmin(axis=1)].astype(np.int64)
    """)
# The digits are public (scikit-learn): a predict that looks every input up there.
PUBLIC_LOOKUP = m("torch_tasks.predict", "nearest neighbour among the public digits", """
    def predict(model, X, device=None):
        from sklearn.datasets import load_digits
        digits = load_digits()
        seen = (digits.data / 16.0).astype(np.float32)
        X = np.asarray(X, np.float32).reshape(len(X), -1)
        distances = ((X[:, None, :] - seen[None, :, :]) ** 2).sum(axis=2)
        return digits.target[distances.argmin(axis=1)].astype(np.int64)
    """)
WRONG_DTYPES = [
    m("torch_tasks.predict", "int32 labels", _predict("scores.argmax(dim=1).numpy()"
                                                      ".astype(np.int32)")),
    m("torch_tasks.predict", "float labels", _predict("scores.argmax(dim=1).numpy()"
                                                      ".astype(np.float32)")),
]

# Mistakes, each graded on the cases of its function (or only on those named: the cheap
# ones that must catch it).
MUTANTS = [
    model("Dropout(keep_prob) instead of Dropout(1 - keep_prob)",
          block="nn.Linear(dim, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(keep_prob)"),
    model("no batch normalization",
          block="nn.Linear(dim, h), nn.ReLU(), nn.Dropout(1 - keep_prob)"),
    model("ReLU before BatchNorm1d",
          block="nn.Linear(dim, h), nn.ReLU(), nn.BatchNorm1d(h), nn.Dropout(1 - keep_prob)"),
    model("Xavier's 1 / fan_in instead of He",
          init="nn.init.normal_(layer.weight, std=layer.in_features ** -0.5); "
               "nn.init.zeros_(layer.bias)"),
    model("PyTorch's default initialization", init="pass"),
    model("He with fan_out", init="nn.init.kaiming_normal_(layer.weight, mode='fan_out'); "
                                  "nn.init.zeros_(layer.bias)"),
    (m("torch_tasks.train", "ignores the seed", """
    _seeded_train = train

    def train(model, *args, seed=0, **kwargs):
        return _seeded_train(model, *args, seed=int(np.random.default_rng().integers(2**31)),
                             **kwargs)
    """), ("train/history-and-determinism",)),
    (m("torch_tasks.predict", "no model.eval(): dropout and batch statistics on", """
    def predict(model, X, device=None):
        X = torch.as_tensor(np.asarray(X, dtype=np.float32)).reshape(len(X), -1)
        with torch.no_grad():
            return model(X).argmax(dim=1).numpy().astype(np.int64)
    """), ("predict/eval-mode",)),
    (m("torch_tasks.predict", "leaves the model in eval mode",
       _predict("scores.argmax(dim=1).numpy().astype(np.int64)").replace(
           "model.train(was_training)", "pass")), ("predict/eval-mode",)),
    m("mode_connectivity.bezier_point", "t (1 - t) instead of 2 t (1 - t)", """
    def bezier_point(w1, theta, w2, t):
        return {k: (1 - t) ** 2 * w1[k] + t * (1 - t) * theta[k] + t ** 2 * w2[k] for k in w1}
    """),
    m("mode_connectivity.bezier_point", "np.float64(t) turns float32 into float64", """
    def bezier_point(w1, theta, w2, t):
        t = np.float64(t)
        return {k: (1 - t) ** 2 * w1[k] + 2 * t * (1 - t) * theta[k] + t ** 2 * w2[k]
                for k in w1}
    """),
    m("mode_connectivity.line_point", "ends swapped", """
    def line_point(w1, w2, t):
        return {k: t * w1[k] + (1 - t) * w2[k] for k in w1}
    """),
    m("mode_connectivity.line_point", "updates w1 in place", """
    def line_point(w1, w2, t):
        for k in w1:
            w1[k] *= 1 - t
            w1[k] += t * w2[k]
        return w1
    """),
]


@pytest.fixture(scope="module")
def assignment():
    return asg.load(ROOT / "assignments" / "training_dnn")


@pytest.fixture(scope="module")
def oracle():
    return Oracle(REFERENCE)


def _package(folder: Path, mutants=(), source: Path = REFERENCE) -> Path:
    """A copy of `source` with each mutant's definition appended to its module."""
    package = folder / "nntrain"
    shutil.copytree(source, package, ignore=shutil.ignore_patterns("__pycache__"))
    for mutant in mutants:
        module = package / f"{mutant.module}.py"
        module.write_text(module.read_text() + "\n\n# mutant\n" + mutant.source)
    return package


def _grade(assignment, oracle, package: Path, functions=(), case_ids=()):
    """Grade `package` on the cases of `functions` and the cases named in `case_ids`."""
    cases = [c for c in assignment.cases() if c.function in functions or c.id in case_ids]
    return grade_package(assignment, package, oracle, package.parent.name, cases=cases)


def _functions(result) -> dict:
    """The graded functions of a result that had cases, by name."""
    return {f.name: f for q in result.questions for f in q.functions if f.cases}


def _cases(result) -> dict:
    """The case results of a result, by case id."""
    return {c.id: c for f in _functions(result).values() for c in f.cases}


# ----------------------------------------------------------------------------- the questions
def test_questions_points_and_extra_credit(assignment):
    torch_q = assignment.question("torch_training")
    curves_q = assignment.question("mode_connectivity")
    points = {f.name: f.points for f in torch_q.functions}
    assert points == dict(zip(TORCH, (3, 5, 2), strict=True))
    assert torch_q.points == 10 and not torch_q.extra_credit
    assert [f.name for f in curves_q.functions] == list(CURVES)
    assert curves_q.points == 5 and curves_q.extra_credit
    assert assignment.max_score == sum(q.points for q in assignment.questions
                                       if q.id != "mode_connectivity")


def test_held_out_labels_never_reach_the_worker(assignment):
    """Hidden cases send held-out inputs to the worker; their labels stay in the checks."""
    held_out = [(case, check.params[key]) for case in assignment.cases()
                if case.function in TORCH + CURVES and case.visibility == "hidden"
                for check in case.checks for key in ("labels", "y") if key in check.params]
    assert len(held_out) >= 4
    for case, labels in held_out:
        arrays: dict = {}
        wire.encode([case.inputs, [[s.args, s.kwargs] for s in case.steps]], arrays)
        assert all(labels.tobytes() not in a.tobytes() for a in arrays.values()), case.id


def test_public_checks_ship_as_json(assignment):
    """Public cases are written to students as JSON: their check params hold no arrays."""
    for case in assignment.cases():
        if case.function in TORCH + CURVES and case.visibility == "public":
            json.dumps([asdict(check) for check in case.checks])


# ----------------------------------------------------------------------------- reference, stubs
@pytest.fixture(scope="module")
def reference(assignment, oracle, tmp_path_factory):
    package = _package(tmp_path_factory.mktemp("reference"))
    return _grade(assignment, oracle, package, TORCH + CURVES)


def test_reference_earns_every_point(reference):
    failed = [c.message for c in _cases(reference).values() if not c.passed]
    assert failed == []
    scores = {q.id: (q.score, q.points) for q in reference.questions}
    assert scores["torch_training"] == (10, 10) and scores["mode_connectivity"] == (5, 5)


def test_results_say_where_torch_ran(reference):
    for cid in ACCURACY_CASES:
        assert _cases(reference)[cid].note.startswith("torch device in the grader: ")


def test_stubs_earn_nothing(assignment, oracle, tmp_path):
    package = _package(tmp_path, source=ROOT / "starter_code" / "nntrain")
    result = _grade(assignment, oracle, package, TORCH + CURVES)
    assert {name: (f.score, f.status) for name, f in _functions(result).items()} == {
        name: (0, "not-implemented") for name in TORCH + CURVES}


# ----------------------------------------------------------------------------- no learning
def test_untrained_model_earns_no_accuracy_but_keeps_architecture(assignment, oracle,
                                                                   tmp_path):
    result = _grade(assignment, oracle, _package(tmp_path, [UNTRAINED]),
                    ("torch_tasks.make_model", "torch_tasks.train"))
    functions, cases = _functions(result), _cases(result)
    assert functions["torch_tasks.make_model"].score == 3
    for cid in ACCURACY_CASES:
        assert cases[cid].fraction == 0 and "held-out accuracy" in cases[cid].message
    assert "the history has 0 epochs" in cases["train/history-and-determinism"].message
    assert functions["torch_tasks.train"].score < 1


def test_constant_predictor_earns_no_accuracy(assignment, oracle, tmp_path):
    result = _grade(assignment, oracle, _package(tmp_path, [CONSTANT]),
                    case_ids=(*ACCURACY_CASES, "predict/after-training"))
    cases = _cases(result)
    for cid in (*ACCURACY_CASES, "predict/after-training"):
        assert cases[cid].fraction == 0, cid
        assert "every prediction is class 0" in cases[cid].message
    assert _functions(result)["torch_tasks.train"].score == 0


CHEATS = [
    ("memorise-and-look-up", [MEMORISE, LOOKUP], "train left every weight"),
    ("public-digits-look-up", [PUBLIC_LOOKUP], "stay the same when the model's weights"),
]


@pytest.mark.parametrize("mutants,words", [c[1:] for c in CHEATS], ids=[c[0] for c in CHEATS])
def test_predictions_without_the_model_earn_no_accuracy(mutants, words, assignment, oracle,
                                                        tmp_path):
    """A predict that ignores the model's weights and a train that changes none of them
    lose every accuracy point (of train and of predict)."""
    result = _grade(assignment, oracle, _package(tmp_path, mutants),
                    case_ids=(*ACCURACY_CASES, "predict/after-training"))
    cases = _cases(result)
    for cid in ACCURACY_CASES:
        assert cases[cid].fraction == 0, cid
        assert words in cases[cid].message, cases[cid].message
    after = cases["predict/after-training"]
    assert not after.passed and "stay the same when the model's weights" in after.message


def test_midpoint_bend_earns_no_barrier_points(assignment, oracle, tmp_path):
    result = _grade(assignment, oracle, _package(tmp_path, [MIDPOINT]),
                    ("mode_connectivity.fit_bezier",))
    function = _functions(result)["mode_connectivity.fit_bezier"]
    assert function.score == 0
    assert all("still the midpoint" in c.message for c in function.cases)


@pytest.mark.parametrize("mutant", WRONG_DTYPES, ids=lambda mu: mu.description)
def test_wrong_dtype_predictions_get_the_dtype_message(mutant, assignment, oracle, tmp_path):
    result = _grade(assignment, oracle, _package(tmp_path, [mutant]),
                    case_ids=("predict/int64-labels",))
    case = _cases(result)["predict/int64-labels"]
    assert not case.passed and "wrong dtype" in case.message and "int64" in case.message


# ----------------------------------------------------------------------------- mutants
def _mutant(entry) -> tuple[Mutant, tuple]:
    """(mutant, the ids of the cases to grade it on; () for all its function's cases)."""
    return entry if isinstance(entry, tuple) else (entry, ())


def _mutant_id(entry) -> str:
    mutant = _mutant(entry)[0]
    return f"{mutant.function}:{mutant.description}"


def test_mutants_are_distinct():
    ids = [_mutant_id(entry) for entry in MUTANTS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("entry", MUTANTS, ids=_mutant_id)
def test_mutant_loses_points(entry, assignment, oracle, tmp_path):
    mutant, case_ids = _mutant(entry)
    result = _grade(assignment, oracle, _package(tmp_path, [mutant]),
                    () if case_ids else (mutant.function,), case_ids)
    function = _functions(result)[mutant.function]
    assert sum(c.fraction for c in function.cases) < len(function.cases), \
        f"not caught: {mutant.description}"
