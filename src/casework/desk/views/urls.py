"""Desk pages: sign-in, the engineer queue and ticket page, the customer portal, and the lead pages."""

from django.urls import path

from casework.desk.views import auth, dashboard, files, portal, queue, ticket

urlpatterns = [
    path("", auth.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("queue/", queue.queue, name="queue"),
    path("queue/claim/<str:ref>/", queue.claim, name="queue-claim"),
    path("files/<str:ref>/", files.panel, name="files-panel"),
    path("files/<str:ref>/upload/", files.upload, name="files-upload"),
    path("files/<str:ref>/<int:attachment_id>/diagnose/", files.diagnose, name="files-diagnose"),
    path("t/<str:ref>/", ticket.ticket_page, name="ticket"),
    path("t/<str:ref>/<str:action>/", ticket.ticket_action, name="ticket-action"),
    path("portal/", portal.portal_list, name="portal"),
    path("portal/new/", portal.portal_new, name="portal-new"),
    path("portal/t/<str:ref>/", portal.portal_ticket, name="portal-ticket"),
    path("portal/t/<str:ref>/reply/", portal.portal_reply, name="portal-reply"),
    path("lead/lines/", dashboard.line_loads, name="lead-lines"),
    path("lead/dashboard/", dashboard.dashboard, name="lead-dashboard"),
    path("lead/weekly/", dashboard.weekly, name="lead-weekly"),
    path("roster/", dashboard.roster, name="roster"),
    path("roster/<str:username>/", dashboard.roster_edit, name="roster-edit"),
]
