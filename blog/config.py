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
    # The domain in feed entry ids (tag:<domain>,<year>:post-<id>). Empty: the host name readers
    # use. Set it to your domain once; keep it when the blog moves, so readers see no repeats.
    FEED_TAG_AUTHORITY = ""
    FEED_POSTS_LIMIT = 20
    FEED_COMMENTS_LIMIT = 50
    # Cache-Control max-age of feeds, in seconds (also the RSS <ttl>, in minutes).
    FEED_MAX_AGE = 300
    # Feed documents kept per process, keyed by their ETag (0: build every full response).
    FEED_CACHE_SIZE = 64
    POSTS_PER_PAGE = 10
    # Rendered comment lists kept per process (keyed by the post's revision; 0 turns it off).
    COMMENTS_CACHE_SIZE = 256
    # How often an open post page asks for readers' new comments.
    COMMENTS_POLL_SECONDS = 30
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
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30

    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True

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
