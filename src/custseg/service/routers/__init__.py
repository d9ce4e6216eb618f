"""The routes of the service, one module per resource; each builds its ``APIRouter`` for one
:class:`~custseg.service.context.ServiceContext`."""
