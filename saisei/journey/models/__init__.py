"""Journey models, split by aggregate (house style: a package past ~400 lines)."""

from .inquiry import Inquiry, InquiryFile
from .people import LANGUAGE_CHOICES, LegalProxy, Patient, Sex
from .travel import GuarantorRecord, PortalAccess, VisaDocument

__all__ = [
    "LANGUAGE_CHOICES",
    "GuarantorRecord",
    "Inquiry",
    "InquiryFile",
    "LegalProxy",
    "Patient",
    "PortalAccess",
    "Sex",
    "VisaDocument",
]
