"""Registry: citizens, agencies, enterprises and officers — who is who in the province."""
