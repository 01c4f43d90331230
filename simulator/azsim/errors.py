"""Layer 0 of the simulator (simulator/README.md "Layers"): the ARM error every layer raises, the 404/409 texts
shared by the features, and the request's fault context. Imports nothing of azsim."""

import threading


class ArmError(Exception):
    def __init__(self, status, code, message, headers=None, body=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.body = body

    def to_body(self):
        if self.body is not None:
            return self.body
        return {"error": {"code": self.code, "message": self.message}}


def not_found(kind, name, rg):
    return ArmError(404, "ResourceNotFound",
                    "The Resource '%s/%s' under resource group '%s' was not found. For more details please go to "
                    "https://aka.ms/ARMResourceNotFoundFix" % (kind, name, rg))


def conflict(what, vm_name):
    return ArmError(409, "OperationNotAllowed",
                    "Operation '%s' is not allowed on VM '%s' since another operation is in progress on this or a "
                    "dependent resource. Retry after the operation completes." % (what, vm_name))


# The injected fault of the request being served (server.py sets lro_fail from a fault of kind lro_fail; the next
# long-running operation the request starts - model.World.new_op - or polls - arm.get_operation - fails with it).
_fault_ctx = threading.local()
