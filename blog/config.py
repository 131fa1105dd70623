"""Default configuration. Override in instance/config.py or with BLOG_* variables."""


class Defaults:
    SITE_TITLE = "Field Notes"
    SITE_DESCRIPTION = "Notes on writing, reading and the web, with readers who answer back."
    SITE_LANGUAGE = "en"
    # The author name shown on posts, feeds and shared links; empty: each post's author's name.
    SITE_AUTHOR = ""
    # The blog's time zone (an IANA name): the editor's times, dates on pages, archives by month.
    SITE_TIMEZONE = "UTC"
    # The back office's Site settings override the five SITE_* values above once saved.
    # The domain in feed entry ids (tag:<domain>,<year>:post-<id>). Empty: SERVER_NAME's host,
    # else the host name readers use. Set it to your domain once; keep it when the blog moves,
    # so readers see no repeats.
    FEED_TAG_AUTHORITY = ""
    FEED_POSTS_LIMIT = 20
    FEED_COMMENTS_LIMIT = 50
    # Cache-Control max-age of feeds, in seconds (also the RSS <ttl>, in minutes).
    FEED_MAX_AGE = 300
    # Feed documents kept per process, keyed by their ETag (0: build every full response).
    FEED_CACHE_SIZE = 64
    POSTS_PER_PAGE = 10
    # Sitemap index and files kept per process, keyed by their version (0: build every time);
    # a file of 50,000 posts is about 6 MB.
    SITEMAP_CACHE_SIZE = 8
    # Cache-Control max-age of the sitemap index and files (seconds).
    SITEMAP_MAX_AGE = 3600
    # Rendered comment lists kept per process (keyed by the post's revision; 0 turns it off).
    COMMENTS_CACHE_SIZE = 256
    # How often an open post page asks for readers' new comments. Shared caches keep a page a
    # third of this and may serve it stale while revalidating for the rest (blog.pagecache).
    COMMENTS_POLL_SECONDS = 30
    # Pages kept per process for anonymous readers, keyed by what they show (blog.pagecache),
    # at most this many and this many bytes together (0 entries: render every time).
    PAGE_CACHE_SIZE = 512
    PAGE_CACHE_BYTES = 16 * 1024 * 1024
    # "Remember me" keeps a commenter's name, email and website this long (seconds).
    COMMENTS_REMEMBER_SECONDS = 60 * 60 * 24 * 365
    # Overrides the "faster than this is a robot" discussion setting when not None (tests: 0).
    COMMENT_MIN_SECONDS: int | None = None

    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_RECORD_QUERIES = False
    # How long (ms) an SQLite writer waits for another's lock before the reader gets a 503.
    SQLITE_BUSY_TIMEOUT = 5000
    # Seconds a 503 asks the client to wait (Retry-After) when the database is unavailable.
    DATABASE_RETRY_AFTER = 5

    # The CSRF token is bound to the session; an hour-long limit only loses readers' comments.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = True

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    # A remembered login ends this long after signing in (the server checks, not just the cookie).
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30
    # A login without "remember me" ends after this long without a request (seconds).
    LOGIN_IDLE_TIMEOUT = 60 * 60 * 24 * 2

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    # Off: Flask-Limiter would rewrite every Retry-After of a limited route (even a 200's) with
    # its own window, truncated to the second (a 1 s wait said 0). Each page that refuses says
    # its own wait in Retry-After instead: the login and comment 429s, the 503.
    RATELIMIT_HEADERS_ENABLED = False

    # A constant route for bench/run.py to measure the framework's ceiling; off in production.
    BENCH_ROUTES = False

    # Larger request bodies get a friendly 413 page (bytes).
    MAX_CONTENT_LENGTH = 1024 * 1024

    # The largest export file the back office's Import page accepts (the command has no limit).
    IMPORT_MAX_UPLOAD = 8 * 1024 * 1024
    # Longer search queries get a 422 page saying so (characters).
    SEARCH_QUERY_MAX_LENGTH = 200
    # A search ranks at most this many of the newest matching posts and pages, so that a word
    # in every post costs about what it costs in a small blog (blog/search/engine.py,
    # BENCHMARKS.md); past it, the results say so.
    SEARCH_CANDIDATES = 500

    # Behind a reverse proxy: how many proxies to trust for each X-Forwarded-* header
    # (werkzeug's ProxyFix). 0 = ignore the header; never trust one no proxy of yours sets.
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    PROXY_FIX_X_HOST = 0
    PROXY_FIX_X_PORT = 0
    PROXY_FIX_X_PREFIX = 0
    # Strict-Transport-Security max-age, sent only on HTTPS requests; 0 = never send it.
    HSTS_MAX_AGE = 60 * 60 * 24 * 365

    # --- Images (blog/media) ---
    # Where uploaded images are kept: "" = instance/media (tests: a temporary folder).
    MEDIA_FOLDER = ""
    # The largest image file an upload may be (bytes); more gets a 413 saying so.
    MEDIA_MAX_UPLOAD = 20 * 1024 * 1024
    # The most pixels an image may unpack into, all frames of an animation together: a bigger
    # one (or a decompression bomb) is refused before it is decoded. 50 megapixels takes a
    # phone's 48-megapixel mode; each copy of its pixels (decoded, then turned upright) holds
    # 150 MB while it is cleaned.
    MEDIA_MAX_PIXELS = 50_000_000
    # The widths (pixels) of the sizes made for srcset; never wider than the original.
    MEDIA_WIDTHS = (480, 960, 1600)
    # The <img sizes> of an image in a post: the reading column (.wrap: 40rem less 2.5rem of
    # padding). Change it with the theme, then run `flask --app wsgi rerender`.
    MEDIA_IMAGE_SIZES = "(max-width: 40rem) calc(100vw - 2.5rem), 37.5rem"
    # The largest zip of images the Import page takes (the command reads a folder: no limit).
    IMPORT_MEDIA_MAX_UPLOAD = 200 * 1024 * 1024

    # --- Background jobs (blog/jobs): huey runs them, `flask --app wsgi worker` is the worker ---
    # Where huey keeps its queue: "" = an SQLite file in instance/ (jobs-queue.sqlite), or
    # "redis://host:6379/1" (the Redis the rate limits may use), or "sqlite:////path/file".
    # Under TESTING an empty value means an in-memory queue, so tests never fill instance/.
    JOBS_STORAGE_URL = ""
    # Worker threads of `flask worker` (each sends mail over its own SMTP connection).
    JOBS_WORKER_THREADS = 2
    # A failing job is tried again after 30 s, 1 min, 2 min... (at most an hour apart), then
    # kept as failed for the back office after this many attempts (about 9 hours in all).
    JOBS_MAX_ATTEMPTS = 15
    JOBS_RETRY_SECONDS = 30
    JOBS_RETRY_MAX_SECONDS = 3600
    # A running job whose worker died is taken up again after this long (at once when the dead
    # worker ran on this machine: `flask worker` checks its process id when it starts).
    JOBS_LEASE_SECONDS = 600
    # The longest an idle worker waits between looks at an SQLite queue (Redis wakes it at once).
    JOBS_POLL_SECONDS = 1.0
    # Finished jobs and sent mail are deleted after this many days (failed ones are kept).
    JOBS_KEEP_DAYS = 30

    # --- Email (blog/mail): Flask-Mailman, with Flask-Mail's key names ---
    # No MAIL_SERVER: every message is written to MAIL_FILE_PATH (instance/mail/) as an .eml file.
    MAIL_SERVER = ""
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    # "Field Notes <blog@example.org>"; empty: the site title at blog@<SERVER_NAME's host>.
    MAIL_DEFAULT_SENDER: str | None = None
    # Seconds to wait for the SMTP server before the attempt fails and is retried later.
    MAIL_TIMEOUT = 30
    # At most this many mails to one address in an hour; the rest wait and go as one digest.
    MAIL_HOURLY_LIMIT = 10
    # How long a subscription's confirmation link works (seconds).
    MAIL_CONFIRM_MAX_AGE = 7 * 24 * 3600
    # The hour (UTC) of the writer's daily digest, for a writer who chose one.
    MAIL_DIGEST_HOUR = 7
    # The mailto: of List-Unsubscribe (requests arrive there for a person to act on in the
    # back office); empty: the sender's address.
    MAIL_UNSUBSCRIBE_ADDRESS = ""

    # --- Fetching other sites (blog/fetch.py): webmention sources, the pages posts link to ---
    # Seconds to connect, to wait for each read, and for the whole exchange with its redirects.
    FETCH_CONNECT_TIMEOUT = 5
    FETCH_READ_TIMEOUT = 10
    FETCH_TOTAL_TIMEOUT = 20
    # The most of a page read (bytes); a larger webmention source is refused.
    FETCH_MAX_BYTES = 1_000_000
    # Fetch private, loopback and link-local addresses too. Only for tests and for blogs on one
    # development machine: on a server it lets anyone make the blog fetch its private network.
    FETCH_ALLOW_PRIVATE_ADDRESSES = False

    # --- Webmention (blog/webmention) ---
    # POST /webmention per source host (the site that claims to mention us), and per sender IP.
    WEBMENTION_RATE_LIMIT = "10 per minute;200 per day"
    WEBMENTION_IP_RATE_LIMIT = "30 per minute;1000 per day"
    # A reply's text is shown up to this many characters, then cut with "…" (the whole is a
    # click away on the site it was written on).
    WEBMENTION_REPLY_MAX_CHARS = 1500
    # The most links of one post that are sent webmentions (the rest are listed as skipped).
    WEBMENTION_SEND_MAX_LINKS = 50
