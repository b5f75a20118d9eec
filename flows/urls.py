from django.urls import path

from . import revision_views, views
from .designer import FlowDesignerView, WidgetTestView

app_name = "flows"
urlpatterns = [
    path("flows/", views.FlowListView.as_view(), name="list"),
    path("flows/new/", FlowDesignerView.as_view(), name="designer-new"),
    path("flows/<int:pk>/", views.FlowDetailView.as_view(), name="detail"),
    path("flows/<int:pk>/delete/", views.FlowDeleteView.as_view(), name="delete"),
    path("flows/<int:pk>/designer/", FlowDesignerView.as_view(), name="designer"),
    path("flows/test-widget/", WidgetTestView.as_view(), name="test-widget"),
    path("flows/<int:pk>/start-call/", views.StartCallView.as_view(), name="start-call"),
    path("flows/<int:pk>/revisions/", revision_views.RevisionHistoryView.as_view(), name="revisions"),
    path(
        "flows/<int:pk>/revisions/<int:number>/diff/", revision_views.RevisionDiffView.as_view(), name="revision-diff"
    ),
    path(
        "flows/<int:pk>/revisions/<int:number>/restore/",
        revision_views.RestoreView.as_view(),
        name="revision-restore",
    ),
    path("flows/<int:pk>/publish/", revision_views.PublishView.as_view(), name="publish"),
    path("flows/<int:pk>/test-cases/run/", revision_views.RunTestCasesView.as_view(), name="test-cases-run"),
    path(
        "flows/<int:pk>/test-cases/from-widget-test/",
        revision_views.TestCaseFromWidgetView.as_view(),
        name="test-case-from-widget",
    ),
    path("executions/", views.ExecutionListView.as_view(), name="execution-list"),
    path("executions/<uuid:pk>/", views.ExecutionDetailView.as_view(), name="execution-detail"),
    path(
        "executions/<uuid:pk>/save-as-test-case/",
        revision_views.SaveExecutionAsTestCaseView.as_view(),
        name="execution-save-test-case",
    ),
    path("deliveries/", views.DeliveryListView.as_view(), name="delivery-list"),
    path("deliveries/replay/", views.DeliveryBulkReplayView.as_view(), name="delivery-bulk-replay"),
    path(
        "deliveries/webhooks/<int:pk>/enable/",
        views.WebhookEnableDeliveriesView.as_view(),
        name="webhook-enable-deliveries",
    ),
    path(
        "deliveries/webhooks/<int:pk>/replay-skipped/",
        views.WebhookReplaySkippedView.as_view(),
        name="webhook-replay-skipped",
    ),
    path("deliveries/<int:pk>/replay/", views.DeliveryReplayView.as_view(), name="delivery-replay"),
]
