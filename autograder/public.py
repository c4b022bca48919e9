"""The public cases file that ships to students: cases and their expected values.

Only cases with visibility "public" are ever written here. The file pair is
``public_cases.json`` (programs, checks, encoded values) and ``public_cases.npz`` (their
arrays, loaded with ``allow_pickle=False``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from autograder import worker as wire
from autograder.cases import Case, Check, Diagnosis, Step
from autograder.grading import Oracle
from autograder.session import Outcome

FORMAT = 1


def _case_json(case: Case, arrays: dict) -> dict:
    steps = [{"call": s.call, "getattr": s.getattr, "assign": s.assign,
              "args": wire.encode(list(s.args), arrays),
              "kwargs": wire.encode(dict(s.kwargs), arrays)} for s in case.steps]
    return {"id": case.id, "function": case.function, "visibility": case.visibility,
            "seconds": case.seconds, "description": case.description, "partial": case.partial,
            "inputs": wire.encode(dict(case.inputs), arrays), "steps": steps,
            "checks": [{**asdict(c), "params": wire.encode(c.params, arrays)}
                       for c in case.checks],
            "diagnosis": None if case.diagnosis is None else {
                "fn": case.diagnosis.fn, "values": list(case.diagnosis.values),
                "params": wire.encode(dict(case.diagnosis.params), arrays)}}


def _diagnosis_from_json(raw: dict | None, arrays: dict) -> Diagnosis | None:
    if not raw:
        return None
    return Diagnosis(fn=str(raw["fn"]), values=tuple(map(str, raw["values"])),
                     params=wire.decode(raw["params"], arrays))


class _KeepRefs(dict):
    """Resolves every {"$ref": name} back to itself, so refs survive decoding."""

    def __contains__(self, key):
        return True

    def __getitem__(self, key):
        return {"$ref": key}


def _case_from_json(raw: dict, arrays: dict, refs: dict) -> Case:
    steps = [Step(call=s["call"], getattr=s["getattr"], assign=s["assign"],
                  args=tuple(wire.decode(s["args"], arrays, refs)),
                  kwargs=wire.decode(s["kwargs"], arrays, refs))
             for s in raw["steps"]]
    return Case(id=raw["id"], function=raw["function"],
                inputs=wire.decode(raw["inputs"], arrays), steps=steps,
                checks=[Check(**{**c, "params": wire.decode(c["params"], arrays, refs)})
                        for c in raw["checks"]],
                visibility="public",
                seconds=raw["seconds"], description=raw["description"],
                partial=raw.get("partial", False),
                diagnosis=_diagnosis_from_json(raw.get("diagnosis"), arrays))


def save(cases: list[Case], oracle: Oracle, folder: Path) -> Path:
    """Write the public cases and their expected values into `folder`."""
    arrays: dict = {}
    entries = []
    for case in cases:
        if case.visibility != "public":
            continue
        expected = oracle.expected(case)
        entries.append({
            "case": _case_json(case, arrays),
            "expected": wire.encode(expected.values, arrays) if expected else None,
        })
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / "public_cases.npz", **arrays)
    path = folder / "public_cases.json"
    path.write_text(json.dumps({"format": FORMAT, "cases": entries}))
    return path


def load(folder: Path) -> tuple[list[Case], dict[str, Outcome]]:
    """The public cases and an expected-outcome store for `Oracle(store=...)`."""
    data = json.loads((folder / "public_cases.json").read_text())
    arrays = wire.load_arrays(folder / "public_cases.npz")
    refs = _KeepRefs()
    cases, store = [], {}
    for entry in data["cases"]:
        case = _case_from_json(entry["case"], arrays, refs)
        cases.append(case)
        if entry["expected"] is not None:
            store[case.id] = Outcome("ok", values=wire.decode(entry["expected"], arrays))
    return cases, store
