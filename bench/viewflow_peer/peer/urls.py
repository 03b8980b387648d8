from diskominfo.flows import WawaranFlow
from diskominfo.views import floor
from django.urls import path
from django.views.generic import RedirectView
from viewflow.contrib.auth import AuthViewset
from viewflow.urls import Site
from viewflow.workflow.flow import FlowAppViewset

site = Site(
    title="Diskominfo",
    viewsets=[FlowAppViewset(WawaranFlow, icon="campaign")],
)

urlpatterns = [
    path("", RedirectView.as_view(url="/diskominfo/", permanent=False)),
    path("accounts/", AuthViewset(with_profile_view=False).urls),
    path("floor/", floor),
    path("diskominfo/", site.urls),
]
