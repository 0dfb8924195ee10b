"""Sign in and out (Django's auth views with the desk's templates) and the home page that sends each role to
where its work is."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from casework.desk.views.common import role_of


class LoginView(auth_views.LoginView):
    template_name = "desk/auth/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django 5): the sign-out button in the top bar is a small form."""


def home(request: HttpRequest) -> HttpResponse:
    role = role_of(request.user)
    if role is None:
        return redirect("login")
    if role == "customer":
        return redirect("portal")
    if role in ("lead", "admin"):
        return redirect("lead-dashboard")
    return redirect("queue")
