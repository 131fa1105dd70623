"""Default configuration. Override in instance/config.py or with BLOG_* variables."""


class Defaults:
    SITE_TITLE = "Field Notes"
    SITE_DESCRIPTION = "Notes on writing, reading and the web, with readers who answer back."
    SITE_LANGUAGE = "en"
    # Host used in feed ids (tag:<host>,<year>:...); set it once and never change it.
    FEED_TAG_AUTHORITY = "localhost"
    FEED_POSTS_LIMIT = 20
    FEED_COMMENTS_LIMIT = 50
    FEED_MAX_AGE = 300
    POSTS_PER_PAGE = 10

    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_RECORD_QUERIES = False

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

    # Larger request bodies get a friendly 413 page (bytes).
    MAX_CONTENT_LENGTH = 1024 * 1024
    # Longer search queries get a 422 page saying so (characters).
    SEARCH_QUERY_MAX_LENGTH = 200

    # Behind a reverse proxy: how many proxies to trust for each X-Forwarded-* header
    # (werkzeug's ProxyFix). 0 = ignore the header; never trust one no proxy of yours sets.
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    PROXY_FIX_X_HOST = 0
    PROXY_FIX_X_PORT = 0
    PROXY_FIX_X_PREFIX = 0
    # Strict-Transport-Security max-age, sent only on HTTPS requests; 0 = never send it.
    HSTS_MAX_AGE = 60 * 60 * 24 * 365
