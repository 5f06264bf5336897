"""Validate produced resources with fhir.resources (R4B models: see decision 0014)."""

from __future__ import annotations

import importlib
from typing import Any


def validate(resource: dict[str, Any]) -> None:
    """Parse ``resource`` with the fhir.resources model of its type; raises if it is invalid."""
    name = resource["resourceType"]
    module = importlib.import_module(f"fhir.resources.R4B.{name.lower()}")
    getattr(module, name).model_validate(resource)
