"""The README's release step works: `collectstatic --noinput` with the storage production uses (manifest,
compressed) succeeds, which fails on any static file that references a file not shipped (a source map)."""

import re
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

STATIC = Path(settings.BASE_DIR) / "static"


def test_collectstatic_passes_with_the_production_storage(tmp_path, settings):
    # Saldo's own static/ only: the apps' files (admin, Swagger UI) take minutes to compress and are collected
    # in full by the release step in .ci/run.
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    manifest = (tmp_path / "staticfiles.json").read_text()
    assert "vendor/chart-4.6.1.umd.min.js" in manifest and "vendor/htmx-2.0.11.min.js" in manifest


def test_no_vendored_file_points_at_a_source_map_that_is_not_shipped():
    for path in (STATIC / "vendor").glob("*.js"):
        for ref in re.findall(r"sourceMappingURL=(\S+)", path.read_text()):
            assert (path.parent / ref).exists(), f"{path.name} references {ref}, which is not shipped"


def test_every_vendored_file_is_listed_with_its_version_and_licence():
    listing = (STATIC / "vendor" / "README.md").read_text()
    for path in (STATIC / "vendor").glob("*.js"):
        assert f"`{path.name}`" in listing, path.name
