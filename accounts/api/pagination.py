"""Pages of API lists: `?page=` is what the schema says it is, an integer from 1."""

from rest_framework import exceptions, pagination

from phonon.lib.numbers import whole_number


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's, without its leniencies: an empty `?page=` or `?page=last` is a 404 like `?page=0`.

    DRF reads an empty value as page 1 and `last` as the last page, so a request the schema
    calls invalid was answered as if it were valid.
    """

    last_page_strings = ()
    invalid_page_message = "There is no page {page_number}; pages are numbered from 1 to the last one."

    def get_page_number(self, request, paginator):
        return request.query_params.get(self.page_query_param, 1)

    def check_page_number(self, request) -> None:
        """Refuse a `?page=` that is no page number at all, as a page would be refused: for a CSV,
        which is every match at once, the parameter names nothing but must still be one."""
        number = request.query_params.get(self.page_query_param)
        if number is not None and not whole_number(number):
            raise exceptions.NotFound(self.invalid_page_message.format(page_number=number))

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters
