"""Models: registered models and the services that serve them.

A registered ``Model`` (``model``, its files found by ``_model_files``), the entry script
and environment that score it (``inference``), model packages (``package``), web services:
the base ``Webservice`` with an endpoint's keys, logs and scoring (``webservice``), its
deployments and traffic split (``_deployments``), services on this machine
(``local_service``) and in a container (``container_service``), the endpoint's router
process (``_endpoint_process``) and the generated entry script of a no-code deployment
(``nocode``).
"""
