"""Pages of API lists: `?page=` is what the schema says it is, an integer from 1."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's, without its leniencies: an empty `?page=` or `?page=last` is a 404 like `?page=0`.

    DRF reads an empty value as page 1 and `last` as the last page, so a request the schema
    calls invalid was answered as if it were valid.
    """

    last_page_strings = ()
    invalid_page_message = "There is no page {page_number}; pages are numbered from 1 to the last one."

    def get_page_number(self, request, paginator):
        return request.query_params.get(self.page_query_param, 1)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters
