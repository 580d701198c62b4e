"""Settings for ``bench/api_http.py``: the project's own, with a URLconf that also mounts the bare views."""

from __future__ import annotations

from informer.settings import *  # noqa: F403

ROOT_URLCONF = "bench._http_urls"
