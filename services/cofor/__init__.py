"""cofor: the supplier registry (companies, COFOR codes and sites, presentations, portal-access requests)."""
