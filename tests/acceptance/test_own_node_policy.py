"""Issue 19 item 4: the burn-in's ServiceAccount may write only its own node's acceptance label and report, checked
by evaluating the ValidatingAdmissionPolicy's CEL with cel-python (the API server runs cel-go; the expressions use
only standard macros: has, in, filter, all)."""

from __future__ import annotations

import copy
from typing import Any

import celpy
import pytest

from components.constants import ACCEPTANCE_LABEL
from gpu_nodepools.acceptance import NODE_NAME_EXTRA, REPORT_ANNOTATION, own_node_policy

OLD = {"metadata": {"name": "n1", "labels": {"pool": "h100"}, "annotations": {"x": "1"}}, "spec": {"taints": []}}
BURN_IN = "system:serviceaccount:gpu-acceptance:gpu-acceptance"


def admitted(obj: dict[str, Any], node: str | None, user: str = BURN_IN) -> bool:
    policy, binding = own_node_policy()
    assert binding["spec"] == {"policyName": policy["metadata"]["name"], "validationActions": ["Deny"]}
    extra = {NODE_NAME_EXTRA: [node]} if node else {}
    request = {"userInfo": {"username": user, "extra": extra}}
    act = celpy.json_to_cel({"object": obj, "oldObject": OLD, "request": request})
    env = celpy.Environment()
    (cond,) = policy["spec"]["matchConditions"]
    if not env.program(env.compile(cond["expression"])).evaluate(act):
        return True  # not the burn-in: the policy does not apply
    return all(bool(env.program(env.compile(v["expression"])).evaluate(act)) for v in policy["spec"]["validations"])


def labelled(**changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(OLD)
    obj["metadata"]["labels"][ACCEPTANCE_LABEL] = "passed"
    obj["metadata"]["annotations"][REPORT_ANNOTATION] = "{}"
    for path, value in changes.items():
        section, key = path.split("__")
        obj["metadata"][section][key] = value
    return obj


def test_the_burn_in_may_label_its_own_node() -> None:
    assert admitted(labelled(), "n1")


@pytest.mark.parametrize(
    ("obj", "node"),
    [
        (labelled(), "n2"),  # another node
        (labelled(), None),  # a token without the node claim (not pod-bound)
        (labelled(labels__pool="a100"), "n1"),  # another label
        (labelled(annotations__x="2"), "n1"),  # another annotation
        ({**labelled(), "spec": {"taints": [], "unschedulable": True}}, "n1"),  # the node's spec
    ],
)
def test_rejects_writes_beyond_its_own_acceptance_label(obj: dict[str, Any], node: str | None) -> None:
    assert not admitted(obj, node)


def test_other_identities_are_not_matched() -> None:
    assert admitted(labelled(), "n2", user="system:serviceaccount:gpu-operator:inference-ra-node-labeller")
