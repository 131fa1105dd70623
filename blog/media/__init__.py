"""Images: uploads from the editor and the media library, their sizes, and how posts show them.

images.py (Pillow: accept, clean, resize) and markup.py (<img> in post HTML) know nothing of
Flask or the database; storage.py keeps the files, library.py the rows; sizes.py is the
background job that makes the sizes, importing.py brings an old blog's pictures along.
"""
