"""Case library URLs: /cases/?q=…, /cases/<ref>/, /cases/similar/<ref>/ (the ticket page's panel)."""

from django.urls import path

from casework.desk.library import views

app_name = "library"
urlpatterns = [
    path("", views.search_page, name="search"),
    path("similar/<str:ref>/", views.similar_panel, name="similar"),
    path("<str:ref>/", views.case_page, name="case"),
]
