"""portalctl: the operators' command line for the whole system (purchasing, support staff)."""
