from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.response import Response


@extend_schema(
    summary="The organization the API key belongs to",
    responses=inline_serializer(
        "OrganizationInfo",
        {"id": serializers.UUIDField(), "name": serializers.CharField(), "slug": serializers.CharField()},
    ),
)
@api_view(["GET"])
def organization_detail(request):
    """Lets the chatbot platform check its key: which organization it charges."""
    org = request.user.organization
    return Response({"id": str(org.pk), "name": org.name, "slug": org.slug})
