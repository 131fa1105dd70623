"""Moving in and out: Movable Type / TypePad and WordPress imports, Movable Type export."""

from blog.porting.views import bp

__all__ = ["bp"]
