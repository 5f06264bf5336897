"""Journey web pages: public inquiry, coordinator screens and the patient portal."""
