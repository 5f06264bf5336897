"""processing tables: donations, lots and their culture record, QC and release, doses, custody.

Split by aggregate (house style: past ~400 lines a models module becomes a package).
"""

from .donation import ChainOfIdentity, Donation, NumberSequence
from .dose import CustodyEvent, Dose, LabelPrint, NearMiss
from .lot import (
    CultureAlert,
    CultureStep,
    Deviation,
    EnvironmentalResult,
    Lot,
    QCResult,
    Release,
)

__all__ = [
    "ChainOfIdentity",
    "CultureAlert",
    "CultureStep",
    "CustodyEvent",
    "Deviation",
    "Donation",
    "Dose",
    "EnvironmentalResult",
    "LabelPrint",
    "Lot",
    "NearMiss",
    "NumberSequence",
    "QCResult",
    "Release",
]
