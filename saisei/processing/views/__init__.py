"""CPC web pages, one module per aggregate: lots, doses, donations, donors, deviations and the
environment.

Views stay thin: a form validates input, one service or selector does the work, and a service's
refusal is shown on the form.
"""
