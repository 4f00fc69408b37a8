"""`/api/v1/devices`: phones bound to their users (the identity sync works under)."""

from __future__ import annotations

from flask.views import MethodView

from schemas.identity import DeviceRegisterSchema, DeviceSchema
from server.api.blueprint import Blueprint
from server.api.context import current_actor
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.errors import NotFound
from server.models.device import Device
from server.services import device_keys, devices

blp = Blueprint("devices", __name__, url_prefix="/api/v1", description="Devices")


@blp.route("/devices")
class Devices(MethodView):
    @blp.doc(operationId="listDevices")
    @blp.response(200, DeviceSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self):
        """Devices the caller may see."""
        return Device.objects.for_actor(current_actor()).order_by("device_id")

    @blp.doc(operationId="registerDevice")
    @blp.arguments(DeviceRegisterSchema)
    @blp.response(200, DeviceSchema)
    @blp.alt_response(201, schema=DeviceSchema, description="registered for the first time")
    def post(self, body):
        """Bind this phone to the caller; repeating it is harmless (200)."""
        device, created = devices.register(current_actor(), now=utcnow(), **body)
        return device, 201 if created else 200


@blp.route("/devices/<device_id>")
class DeviceById(MethodView):
    @blp.doc(operationId="getDevice")
    @blp.response(200, DeviceSchema)
    def get(self, device_id):
        """One device in the caller's scope."""
        device = Device.objects.for_actor(current_actor()).filter(device_id=device_id).first()
        if device is None:
            raise NotFound(f"device {device_id} not found")
        return device

    @blp.doc(operationId="releaseDevice")
    @blp.response(204)
    def delete(self, device_id):
        """Unbind a device so another user may register it (admin)."""
        devices.release(current_actor(), device_id, now=utcnow())


@blp.route("/devices/<device_id>/revoke")
class DeviceRevocation(MethodView):
    @blp.doc(operationId="revokeDevice")
    @blp.response(200, DeviceSchema)
    def post(self, device_id):
        """Revoke a lost or stolen phone (its user, a supervisor, an admin): its tokens stop
        working and its key can no longer renew access."""
        return device_keys.revoke_device(current_actor(), device_id, now=utcnow())
