# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
