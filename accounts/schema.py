"""drf-spectacular: describe Bearer API-key authentication in the OpenAPI schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An organization's API key (sld_…)."}


# The answers every API operation can give whatever its own schema says (DESIGN.md, "REST API"): the key is
# missing or wrong, the organization is suspended, the object is not the caller's, the input is refused (by the
# view, or before it by core/limits.py), or the body is too large or not JSON. Added to every operation by a
# postprocessing hook so that operations added later are described the same way without repeating it.
ERROR_SCHEMA_NAME = "ApiError"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "A stable code: invalid, unauthorized, api_suspended, …"},
        "detail": {"description": "A human-readable reason, or the invalid fields with their reasons."},
    },
    "required": ["error"],
}
COMMON_ERRORS = {
    "400": "Bad input: invalid parameters, a body that is not a JSON object, nested too deep or with NUL characters",
    "401": "No valid API key",
    "403": 'The organization\'s API access is suspended ({"error": "api_suspended"})',
    "404": "Not found, or not the caller's",
}
BODY_ERRORS = {
    "413": "The body is larger than the API accepts",
    "415": "The body is not JSON (Content-Type: application/json)",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the common error answers on every /api/ operation."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA_NAME] = ERROR_SCHEMA
    error_content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}}}
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in item.items():
            if method not in ("get", "put", "post", "patch", "delete") or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            errors = dict(COMMON_ERRORS)
            if method in ("post", "put", "patch"):
                errors.update(BODY_ERRORS)
            for code, description in errors.items():
                responses.setdefault(code, {"description": description, "content": error_content})
    return result
