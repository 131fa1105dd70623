"""Email: the writer hears about comments, readers about replies, confirmed and unsubscribable.

models.py (addresses, subscriptions, messages), subscriptions.py (subscribe, confirm,
unsubscribe), notify.py (the hooks blog.comments.store calls: they record jobs), fanout.py (who
gets which mail about a comment), compose.py (subject, parts, headers), delivery.py (the
"mail.send" job: hourly limit, digest, the sent mark), transport.py (SMTP or .eml files),
tokens.py (the signed links), views.py (the reader's /subscriptions/ pages).
"""
