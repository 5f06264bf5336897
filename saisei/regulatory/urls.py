from django.urls import path

from saisei.regulatory import views

app_name = "regulatory"

urlpatterns: list = [
    path("", views.dashboard, name="dashboard"),
    path("plans/", views.plan_list, name="plan_list"),
    path("plans/<uuid:external_id>/", views.plan_detail, name="plan_detail"),
    path("plans/<uuid:external_id>/transition/", views.plan_transition, name="plan_transition"),
    path("obligations/", views.obligation_list, name="obligation_list"),
    path("obligations/<uuid:external_id>/done/", views.obligation_done, name="obligation_done"),
    path("registry/", views.registry, name="registry"),
]
