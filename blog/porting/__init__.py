"""Moving in and out: Movable Type / TypePad and WordPress imports, Movable Type export."""
