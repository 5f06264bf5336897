"""FHIR R4 (4.0.1) read API: pure mappers from Saisei models to resources, and their registry."""
