from django.urls import path

from saisei.treatment import views

app_name = "treatment"

urlpatterns: list = [
    path("", views.today, name="today"),
    path("bedside/<uuid:step_id>/", views.bedside, name="bedside"),
    path(
        "bedside/verifications/<uuid:verification_id>/administer/",
        views.administer,
        name="administer",
    ),
    path(
        "administrations/<uuid:external_id>/",
        views.administration_detail,
        name="administration_detail",
    ),
    path("administrations/<uuid:external_id>/vitals/", views.vital_add, name="vital_add"),
    path("administrations/<uuid:external_id>/complete/", views.complete, name="complete"),
]
