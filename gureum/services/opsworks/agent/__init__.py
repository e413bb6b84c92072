"""The OpsWorks agent: what runs inside an instance (:mod:`.scripts`) and the
exec calls that drive it from Gureum (:mod:`.session`).  See the README of
``gureum/services/opsworks`` for the design."""
