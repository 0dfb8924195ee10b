"""SLA pages under /sla/."""

from django.urls import path

from casework.desk.sla import views

app_name = "sla"

urlpatterns = [
    path("", views.policy_list, name="policies"),
    path("policies/new/", views.policy_edit, name="policy-new"),
    path("policies/<int:pk>/", views.policy_edit, name="policy-edit"),
    path("calendars/new/", views.calendar_edit, name="calendar-new"),
    path("calendars/<int:pk>/", views.calendar_edit, name="calendar-edit"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("ratings/", views.ratings_page, name="ratings"),
    path("ratings/<int:pk>/clear/", views.clear_flag, name="rating-clear"),
    path("rate/<str:token>/", views.rate_link, name="rate"),
    path("t/<str:ref>/rate/", views.portal_rate, name="portal-rate"),
    path("t/<str:ref>/panel/", views.ticket_panel, name="panel"),
]
