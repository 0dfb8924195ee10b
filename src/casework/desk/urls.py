"""URL map: pages at the root, the REST API under /api/v1/, lead tools under /rules/ and /sla/."""

from django.contrib import admin
from django.urls import include, path

from casework.desk.api.router import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("rules/", include("casework.desk.routing.urls")),
    path("sla/", include("casework.desk.sla.urls")),
    path("cases/", include("casework.desk.library.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("casework.desk.views.urls")),
]
