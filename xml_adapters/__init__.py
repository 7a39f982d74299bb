"""XML ingestion: the single hardened lxml parse site, adapters for standard formats."""
