"""processing tables: donations, lots and their culture record, environmental monitoring, QC and
release, doses and their holds, custody.

Split by aggregate (house style: past ~400 lines a models module becomes a package).
"""

from .donation import ChainOfIdentity, Donation, NumberSequence
from .donor import Donor, DonorLink
from .dose import CustodyEvent, Dose, DoseHold, LabelPrint, NearMiss
from .environment import (
    CleanlinessGrade,
    EnvironmentalParameter,
    EnvironmentalResult,
    MonitoringLimit,
    MonitoringProgramme,
)
from .lot import (
    CultureAlert,
    CultureStep,
    Deviation,
    Lot,
    QCResult,
    Release,
)

__all__ = [
    "ChainOfIdentity",
    "CleanlinessGrade",
    "CultureAlert",
    "CultureStep",
    "CustodyEvent",
    "Deviation",
    "Donation",
    "Donor",
    "DonorLink",
    "Dose",
    "DoseHold",
    "EnvironmentalParameter",
    "EnvironmentalResult",
    "LabelPrint",
    "Lot",
    "MonitoringLimit",
    "MonitoringProgramme",
    "NearMiss",
    "NumberSequence",
    "QCResult",
    "Release",
]
