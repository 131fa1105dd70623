"""Reading: the home page, post pages, archives, tags and search (views.py, page.py)."""
