"""Webmention (W3C Recommendation): replies, likes and mentions written elsewhere, in and out.

Receiving: POST /webmention (views.py, receive.py) records the claim and queues a job; the
worker (verify.py) fetches the source through blog.fetch, checks it links to the post, reads its
microformats (parse.py), moderates it like a comment and stores it (store.py): a reply as a
Comment, a like, repost or mention as a row shown in the post's comment section.
Sending: saving a post in the editor queues a job per link (send.py), which discovers each
page's endpoint (discovery.py) and sends; the results show in the editor.
"""
