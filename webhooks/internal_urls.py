"""/internal/v1/<name>/: the internal functions as HTTP endpoints (token + IP whitelist).

One route per function, with only its methods, so the API schema describes each one as it is.
"""

from django.urls import path

from .api import InternalFunctionEndpoint, UnknownInternalFunction
from .internal_functions import INTERNAL_FUNCTIONS

urlpatterns = [
    *(
        path(
            f"{function.name}/",
            InternalFunctionEndpoint.as_view(
                function=function, http_method_names=[method.lower() for method in function.methods] + ["options"]
            ),
            name=f"internal-{function.name}",
        )
        for function in INTERNAL_FUNCTIONS.values()
    ),
    path("<slug:name>/", UnknownInternalFunction.as_view(), name="internal-unknown"),
]
