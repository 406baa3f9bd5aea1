"""Init calls: ``nn.init.kaiming_normal_(t, mode="fan_out")`` and ``t.data.fill_(1)`` as INITs.

``InitCalls`` reads one call into the tensor expression it initializes and the INIT
(``{"scheme": "kaiming_normal", "mode": "fan_out"}``); ``InitChecks`` validates an INIT for one
layer type's tensor, once per step and type, however often the init plan asks.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from torch import nn

from ..errors import SpecError
from ..initializers import NONLINEARITIES, SCHEMES
from ..spec import TENSOR_NDIM, validate_init
from .arguments import refuse_unpacking
from .messages import Problems, Refusal, Refused
from .names import Evaluator, is_number
from .vocabulary import INIT_FUNCTIONS, INIT_ORDER, TENSOR_INIT_KEYWORDS, TENSOR_INITS


class InitCalls:
    """Reads init calls with the module's names and constants."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        self.scope = evaluator.scope

    def is_init_call(self, call: ast.Call) -> bool:
        """Whether a call looks like an init call (``read`` says if it can be read)."""
        func = call.func
        return (self.scope.dotted(func) or "").startswith("torch.nn.init.") or (
            isinstance(func, ast.Attribute) and func.attr in TENSOR_INITS
        )

    def read(self, call: ast.Call) -> tuple[ast.AST, dict[str, Any]]:
        """An init call as (tensor expression, INIT)."""
        func = call.func
        dotted = self.scope.dotted(func)
        refuse_unpacking(call)
        if dotted in INIT_FUNCTIONS:
            scheme = INIT_FUNCTIONS[dotted]
            keywords = [(k.arg, k.value) for k in call.keywords if k.arg != "tensor"]
            tensor = call.args[0] if call.args else None
            if tensor is None:
                tensor = next((k.value for k in call.keywords if k.arg == "tensor"), None)
            if tensor is None:
                raise Refusal(call, f"{dotted} needs a tensor")
            order = INIT_ORDER[scheme]
            if len(call.args) - 1 > len(order):
                raise Refusal(call, f"too many arguments for {dotted}")
            return tensor, self.arguments(scheme, [*zip(order, call.args[1:]), *keywords])
        if isinstance(func, ast.Attribute) and func.attr in TENSOR_INITS:
            scheme, order = TENSOR_INITS[func.attr]
            if len(call.args) > len(order):
                raise Refusal(call, f"too many arguments for .{func.attr}")
            pairs = list(zip(order, call.args))
            for k in call.keywords:
                key = TENSOR_INIT_KEYWORDS.get(k.arg or "")
                if key not in order:
                    raise Refusal(call, f".{func.attr} is not read with {k.arg}=")
                pairs.append((key, k.value))
            if func.attr == "fill_" and not pairs:
                raise Refusal(call, ".fill_ needs a value")
            return func.value, self.arguments(scheme, pairs)
        raise Refusal(
            call,
            f"{dotted or 'this call'} is not an initializer the reader knows (nn.init.*_, "
            ".fill_, .zero_, .normal_, .uniform_)",
        )

    def arguments(self, scheme: str, pairs: list[tuple[Any, ast.AST]]) -> dict[str, Any]:
        init: dict[str, Any] = {"scheme": scheme}
        for key, node in pairs:
            arg = SCHEMES[scheme].arg(key)
            if arg is None:
                raise Refusal(node, f"{scheme} is not read with {key!r}")
            if key in init:
                raise Refusal(node, f"{key} is given twice")
            if arg.kind == "gain" and isinstance(node, ast.Call):
                init[key] = self.gain(node)
            else:
                init[key] = self.evaluator.value(node)
        return init

    def gain(self, call: ast.Call) -> float | str:
        """``nn.init.calculate_gain("relu")`` -> ``"relu"``; with a parameter, the number."""
        if self.scope.dotted(call.func) != "torch.nn.init.calculate_gain":
            raise Refusal(call, "gain is read as a number or nn.init.calculate_gain(...)")
        pairs: list[tuple[Any, ast.AST]] = [*zip(("nonlinearity", "param"), call.args)]
        pairs += [(k.arg, k.value) for k in call.keywords]
        if len(call.args) > 2 or any(k not in ("nonlinearity", "param") for k, _ in pairs):
            raise Refusal(call, "calculate_gain takes nonlinearity and param")
        given = {key: self.evaluator.value(node) for key, node in pairs}
        nonlinearity = given.get("nonlinearity")
        if nonlinearity not in NONLINEARITIES:
            raise Refusal(call, f"calculate_gain needs one of {', '.join(NONLINEARITIES)}")
        param = given.get("param")
        if param is None:
            return nonlinearity
        if not is_number(param):
            raise Refusal(call, "calculate_gain's param must be a number")
        # the real function on two checked literals: the number exactly as torch computes it
        return float(nn.init.calculate_gain(nonlinearity, param))


def check_any(line: int, init: Mapping[str, Any]) -> None:
    """Validate an INIT on its own (in a walk, before it meets a layer type)."""
    try:
        validate_init(f"line {line}", init, None)
    except SpecError as exc:
        raise Refusal(None, problem=Refused(line, str(exc))) from None


class InitChecks:
    """Whether an INIT fits a layer type's tensor; each answer is computed once and kept.

    The init plan asks again for every layer a step reaches, and for stand-ins of types the
    design lacks (``report=False``: a rule for a type never met in torch is not a problem).
    """

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.answers: dict[tuple[int, str], str | None] = {}  # (step id, type) -> message
        self.kept: list[object] = []  # the steps asked about: their ids stay their own

    def fits(
        self,
        step: object,
        line: int,
        layer_type: str,
        tensor: str,
        init: Mapping[str, Any],
        report: bool = True,
    ) -> bool:
        key = (id(step), layer_type)
        if key not in self.answers:
            self.kept.append(step)
            message = None
            try:
                validate_init(
                    f"line {line}: {layer_type}.{tensor}", init, TENSOR_NDIM[layer_type][tensor]
                )
            except SpecError as exc:
                message = str(exc)
            self.answers[key] = message
        message = self.answers[key]
        if message is not None and report:
            self.problems.add(Refused(line, message))
        return message is None
