"""Senlin's clustering API v1, served under ``/clustering`` by its own sub-application
(its own error body, microversions and middleware; Magnum's routes keep theirs)."""
