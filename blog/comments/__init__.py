"""Comments: the section of a post page (section.py), posting in place (views.py), the one write
path for comment state (store.py), the form (forms.py) and the spam decision (spam.py).

This file imports nothing, so that importing one part never loads the views (and, through them,
everything else): blog.create_app registers blog.comments.views.bp itself.
"""
