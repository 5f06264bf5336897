from django.urls import path
from django.views.generic import RedirectView

from .views import portal, public, staff

app_name = "journey"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="journey:inquiry_queue"), name="index"),
    # Public (no login): the inquiry form, under /journey/inquiry/.
    path("inquiry/", public.inquiry_public, name="inquiry_public_default"),
    path("inquiry/thanks/", public.inquiry_thanks, name="inquiry_thanks"),
    path("inquiry/<slug:org_slug>/", public.inquiry_public, name="inquiry_public"),
    # Patient and caregiver portal (magic link, no staff account), under /journey/portal/.
    path("portal/", portal.portal_home, name="portal_home"),
    path("portal/enter/<str:token>/", portal.portal_enter, name="portal_enter"),
    path("portal/exit/", portal.portal_exit, name="portal_exit"),
    path("portal/quotes/<uuid:external_id>/", portal.portal_quote, name="portal_quote"),
    path("portal/quotes/<uuid:external_id>/pdf/", portal.portal_quote_pdf, name="portal_quote_pdf"),
    path("portal/consents/<uuid:external_id>/", portal.portal_consent, name="portal_consent"),
    path("portal/itinerary/", portal.portal_itinerary, name="portal_itinerary"),
    path("portal/itinerary.ics", portal.portal_itinerary_ics, name="portal_itinerary_ics"),
    path("portal/report/", portal.portal_report, name="portal_report"),
    # Staff screens.
    path("inquiries/", staff.inquiry_queue, name="inquiry_queue"),
    path("inquiries/<uuid:external_id>/", staff.inquiry_detail, name="inquiry_detail"),
    path(
        "inquiries/<uuid:external_id>/files/<uuid:file_id>/",
        staff.inquiry_file_open,
        name="inquiry_file_open",
    ),
    path("patients/", staff.patient_list, name="patient_list"),
    path("patients/new/", staff.patient_new, name="patient_new"),
    path("patients/<uuid:external_id>/", staff.patient_detail, name="patient_detail"),
    path("patients/<uuid:external_id>/prescreen/", staff.prescreen_new, name="prescreen_new"),
    path(
        "patients/<uuid:external_id>/diagnosis/",
        staff.patient_diagnosis,
        name="patient_diagnosis",
    ),
    path("patients/<uuid:external_id>/quotes/new/", staff.quote_new, name="quote_new"),
    path("patients/<uuid:external_id>/consent/", staff.consent_new, name="consent_new"),
    path("patients/<uuid:external_id>/course/", staff.course_new, name="course_new"),
    path("patients/<uuid:external_id>/itinerary/", staff.itinerary_view, name="itinerary"),
    path(
        "patients/<uuid:external_id>/itinerary/print/",
        staff.itinerary_print,
        name="itinerary_print",
    ),
    path("patients/<uuid:external_id>/itinerary.ics", staff.itinerary_ics, name="itinerary_ics"),
    path("patients/<uuid:external_id>/visa/", staff.visa_view, name="visa"),
    path("patients/<uuid:external_id>/portal-link/", staff.portal_link, name="portal_link"),
    path("prescreens/<uuid:external_id>/decide/", staff.prescreen_decide, name="prescreen_decide"),
    path("quotes/<uuid:external_id>/", staff.quote_detail, name="quote_detail"),
    path("quotes/<uuid:external_id>/pdf/", staff.quote_pdf, name="quote_pdf"),
    path("consents/<uuid:external_id>/withdraw/", staff.consent_withdraw, name="consent_withdraw"),
    path("courses/<uuid:external_id>/", staff.course_detail, name="course_detail"),
]
