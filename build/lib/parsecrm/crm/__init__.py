"""The CRM of the seed document: its schema (schema.json), its rules (rules.py, registered through the public
Cloud Code API like any deployment's hooks), pipeline analytics, demo data and import/export."""
