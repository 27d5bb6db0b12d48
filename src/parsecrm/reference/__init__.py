"""Pages outside the mount: the GraphQL endpoint and playground, the schema page (ER diagram, data dictionary,
JSON exports), the REST explorer and the OpenAPI document — all generated from the live class schemas."""
