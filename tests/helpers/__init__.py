"""What the tests share, one module per job (this file imports nothing):

- config: the engine of this pass, base_config(), require() (a skip that fails in CI);
- database: the test databases, count_queries(app), rows read back as detached snapshots;
- factories: a writer, a post, a comment, the discussion settings; a post's URLs;
- html: the one HTML parser (html5lib into lxml), text, CSRF tokens, field errors, forms;
- auth: logging a test client in and out through the login form;
- cli: running flask commands in an app context each, as the flask command does;
- servers: gunicorn, Redis, the app in a thread, a reader's HTTP session (bench uses it);
- browser: launching Debian's Chromium with Playwright (tests, docs/screenshot.py);
- xss, routes, fuzz: the XSS corpus and page checker, the url_map walkers, request fuzzing;
- hostile: the sanitizer corpus and its independent policy checker;
- porting: the sample exports and the porting commands.
"""
