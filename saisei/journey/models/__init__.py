"""Journey models, split by aggregate (house style: a package past ~400 lines)."""

from .consent import Consent, ConsentDocument
from .course import CourseStep, Itinerary, Prescreen, TreatmentCourse, TreatmentPackage
from .inquiry import Inquiry, InquiryFile, InquiryFormToken
from .people import LANGUAGE_CHOICES, LegalProxy, Patient, Sex
from .pricing import PriceItem, PriceList, Quote, QuoteLine
from .travel import GuarantorRecord, PortalAccess, VisaDocument

__all__ = [
    "LANGUAGE_CHOICES",
    "Consent",
    "ConsentDocument",
    "CourseStep",
    "GuarantorRecord",
    "Inquiry",
    "InquiryFile",
    "InquiryFormToken",
    "Itinerary",
    "LegalProxy",
    "Patient",
    "PortalAccess",
    "Prescreen",
    "PriceItem",
    "PriceList",
    "Quote",
    "QuoteLine",
    "Sex",
    "TreatmentCourse",
    "TreatmentPackage",
    "VisaDocument",
]
