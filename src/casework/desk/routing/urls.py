"""Lead pages for dispatch rules, mounted at /rules/ (names in the ``rules`` namespace)."""

from django.urls import path

from casework.desk.routing import views

app_name = "rules"

urlpatterns = [
    path("", views.version_list, name="list"),
    path("new/", views.new_draft, name="new"),
    path("import/", views.import_yaml, name="import"),
    path("<int:version>/", views.detail, name="detail"),
    path("<int:version>/export.yaml", views.export_yaml, name="export"),
    path("<int:version>/simulate/", views.simulate_page, name="simulate"),
    path("<int:version>/publish/", views.publish, name="publish"),
    path("<int:version>/rollback/", views.rollback, name="rollback"),
    path("<int:version>/delete/", views.delete_draft, name="delete"),
    path("<int:version>/rules/new/", views.rule_form, name="rule-new"),
    path("<int:version>/rules/<int:index>/", views.rule_form, name="rule-edit"),
    path("<int:version>/rules/<int:index>/delete/", views.rule_delete, name="rule-delete"),
    path("<int:version>/rules/<int:index>/move/", views.rule_move, name="rule-move"),
]
