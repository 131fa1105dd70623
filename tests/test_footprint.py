"""What a web worker loads: only what serving pages needs (issue 13, worker RSS < 100 MB).

huey (with the Redis and PostgreSQL clients it imports, about 17 MB), mf2py (with requests,
Beautiful Soup and html5lib, about 10 MB) and Alembic (with Mako, about 10 MB) are imported by
the processes that use them: the job worker, `flask db`, a web worker once it queues a job.
Each check runs in a fresh interpreter, since this one has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from blog.models import WriterNotify
from tests.helpers import factories
from tests.helpers.mail import set_writer

ROOT = Path(__file__).resolve().parent.parent
# (Not html5lib, which mf2py uses too: the tests' own HTML parser imports it.)
WORKER_ONLY = ("huey", "redis", "mf2py", "bs4", "requests", "alembic", "mako")

# Read pages, post a comment; print which of the libraries named in argv[2:] were imported
# and how many jobs wait in the queue (None: the queue was never built).
READER = """
import json, sys
from blog import create_app
from blog.jobs import queue
from tests.helpers.comments import send_comment
from tests.helpers.factories import newest_post

app = create_app(json.loads(sys.argv[1]))
client = app.test_client()
for path in ("/", "/search?q=heron", "/feeds/posts.atom", "/sitemap.xml"):
    assert client.get(path).status_code == 200, path
answer = send_comment(client, newest_post(app), author_name="Ada", body="Hello from a reader.")
assert answer.status_code == 303, answer.status_code
jobs = app.extensions.get("jobs")
print(json.dumps({
    "imported": [name for name in sys.argv[2:] if name in sys.modules],
    "queued": jobs.huey.pending_count() if jobs else None,
}))
"""

pytestmark = pytest.mark.engine_independent


def serve_a_reader(app_config: dict) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", READER, json.dumps(app_config), *WORKER_ONLY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture
def app_config(app_config, tmp_path):
    # A queue another process can see: the default in tests is huey's in-memory one.
    return {**app_config, "JOBS_STORAGE_URL": f"sqlite:///{tmp_path / 'queue.sqlite'}"}


def test_a_web_worker_serving_readers_loads_no_library_of_the_worker_or_migrations(app, app_config):
    factories.post(app, "A heron at dusk")
    assert serve_a_reader(app_config) == {"imported": [], "queued": None}


def test_a_web_worker_loads_the_queue_when_a_comment_causes_mail(app, app_config):
    """The other side: the nudge still reaches the worker, huey being imported for it."""
    factories.post(app, "A heron at dusk")
    set_writer(app, email="nell@example.org", notify=WriterNotify.EACH)
    seen = serve_a_reader(app_config)
    assert "huey" in seen["imported"] and seen["queued"] == 1
    assert not {"mf2py", "alembic"} & set(seen["imported"])
