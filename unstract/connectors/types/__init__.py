"""One module per connector type; registry.py lists them."""
