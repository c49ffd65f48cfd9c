"""The product's URLs plus the baseline the benchmark compares the usage API with: the bare minimum a charge
could cost (one raw-SQL locked update and one insert, in one transaction, no auth, no validation)."""

import json

from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as product_urlpatterns


@csrf_exempt
def baseline(request):
    data = json.loads(request.body)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE bench_baseline_balance SET balance = balance - 1 WHERE id = 1 AND balance > 0 RETURNING balance"
        )
        row = cursor.fetchone()
        if row is None:
            return HttpResponse(status=402)
        cursor.execute(
            "INSERT INTO bench_baseline_usage (message_id, direction) VALUES (%s, %s)",
            [data["message_id"], data["direction"]],
        )
    return JsonResponse({"message_id": data["message_id"], "charged": 1, "balance": row[0]}, status=201)


urlpatterns = [path("bench/baseline", baseline), *product_urlpatterns]
