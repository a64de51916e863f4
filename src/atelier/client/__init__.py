"""The backend seam between the SDK and where workspaces live (in-process or a server).

Layout::

    client/
      api/              one small Protocol per resource, by domain (the contract)
        workspaces.py     WorkspaceAPI, ExperimentAPI
        runs.py           RunAPI, MetricAPI, ArtifactAPI, SnapshotAPI
        compute.py        ComputeAPI, EnvironmentAPI
        data.py           DatastoreAPI, DatastoreFilesAPI, DatasetAPI
        models.py         ModelAPI, PackageAPI
        secrets.py        SecretAPI
        endpoints.py      EndpointAPI
        supervision.py    SupervisionAPI: heartbeats, the queue, a run's variables
                          (run supervisors only)
        reporting.py      EndpointReportingAPI: replica reports, collected request
                          data (serving processes only)
      backend.py        Backend, the user-facing composite the SDK holds; Connection,
                        what an implementation provides (Backend + supervision +
                        reporting + close)
      registry.py       backends by name, loaded lazily and cached; backend_for,
                        supervision_for, reporting_for hand out the views
      embedded/         the in-process implementation, one module per resource over
                        the services (backend.py assembles EmbeddedBackend)
      http/             the HTTP implementation, one module per resource over one
                        transport (backend.py assembles HttpBackend; admin.py is the
                        access-management client of the CLI)
      data_files.py     resolving a dataset's files, shared by the SDK and the run
                        supervisor

Every implementation module ends with a typed ``_conforms`` function, so mypy fails
when a class drifts from its protocol; ``tests/client/`` runs one abstract test class
per protocol on both implementations.
"""
