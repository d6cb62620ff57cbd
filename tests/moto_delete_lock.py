"""Checks that the local stack's moto server (local/stack/moto_server.py) deletes an SQS
message under the queue's lock, the lock a send appends under: while another holds it, a
delete waits, so a message sent meanwhile is kept. Exits 1, saying why, when not."""

import importlib.util
import sys
import threading

spec = importlib.util.spec_from_file_location("moto_server", sys.argv[1])
launcher = importlib.util.module_from_spec(spec)
spec.loader.exec_module(launcher)

from moto.sqs.models import sqs_backends  # noqa: E402 (after the launcher's fix)

backend = sqs_backends["123456789012"]["us-east-1"]
queue = backend.create_queue("delete-lock")
backend.send_message("delete-lock", "first")
[received] = backend.receive_message("delete-lock", 1, 0, 30)

deleted = threading.Event()
with queue._messages_lock:
    worker = threading.Thread(
        target=lambda: (backend.delete_message("delete-lock", received.receipt_handle), deleted.set())
    )
    worker.start()
    if deleted.wait(0.5):
        sys.exit("a delete ran while a send could hold the queue's lock: a message sent then is lost")
    # A send, while the delete waits (the lock is reentrant: this thread may take it again).
    backend.send_message("delete-lock", "second")
worker.join()
bodies = [m.body for m in queue._messages]
if bodies != ["second"]:
    sys.exit(f"after the delete the queue holds {bodies}, not the message sent meanwhile")
print("ok")
