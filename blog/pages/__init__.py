"""Pages: About, Colophon, Contact, at /<slug>/, undated, listed in the site's navigation."""
