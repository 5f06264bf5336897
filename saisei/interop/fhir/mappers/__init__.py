"""One module per resource family; each function maps one model instance to a resource dict."""
