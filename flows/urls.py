from django.urls import path
from django.views.generic import TemplateView

app_name = "flows"
placeholder = TemplateView.as_view(template_name="placeholder.html")
urlpatterns = [
    path("flows/", placeholder, name="list"),
    path("executions/", placeholder, name="execution-list"),
]
